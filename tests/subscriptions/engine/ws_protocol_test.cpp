// subscriptions/engine/ws_protocol: both forms of the subscription WebSocket's client messages.

#include "subscriptions/engine/ws_protocol.h"

#include <boost/test/unit_test.hpp>

namespace {

using subscriptions::ClientMessage;
using subscriptions::ParseClientMessage;
using Kind = ClientMessage::Kind;

BOOST_AUTO_TEST_SUITE(WsProtocol)

BOOST_AUTO_TEST_CASE(TextAndJsonForms) {
  ClientMessage bind = ParseClientMessage("bind-with-token abc.DEF_123");
  BOOST_TEST((bind.kind == Kind::kBind));
  BOOST_TEST(bind.token == "abc.DEF_123");
  BOOST_TEST(!bind.json);
  ClientMessage medplum = ParseClientMessage(R"({"type":"bind-with-token","payload":{"token":"t0k"}})");
  BOOST_TEST((medplum.kind == Kind::kBind));
  BOOST_TEST(medplum.token == "t0k");
  BOOST_TEST(medplum.json);
  BOOST_TEST((ParseClientMessage("unbind-from-token t0k\r\n").kind == Kind::kUnbind));
  BOOST_TEST((ParseClientMessage(R"({"type":"unbind-from-token","payload":{"token":"t"}})").kind == Kind::kUnbind));
  ClientMessage ping = ParseClientMessage(R"({"type":"ping"})");
  BOOST_TEST((ping.kind == Kind::kPing));
  BOOST_TEST(subscriptions::PongFor(ping) == R"({"type":"pong"})");
  BOOST_TEST(subscriptions::PongFor(ParseClientMessage("ping")) == "pong");
}

BOOST_AUTO_TEST_CASE(AnythingElseIsUnknown) {
  for (const char* text : {"", "bind-with-token", "bind-with-token ", "bind-with-token a b", "bind x",
                           "{", "[]", R"({"type":"bind-with-token"})",
                           R"({"type":"bind-with-token","payload":{"token":""}})",
                           R"({"type":"bind-with-token","payload":{"token":5}})", R"({"type":"subscribe"})"}) {
    BOOST_TEST((ParseClientMessage(text).kind == Kind::kUnknown), text);
  }
  BOOST_TEST(subscriptions::ErrorMessage("bad \"token\"") == R"({"type":"error","message":"bad \"token\""})");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
