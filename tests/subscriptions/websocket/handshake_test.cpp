// subscriptions/websocket/handshake: the opening handshake (RFC 6455 §4.2) without sockets.

#include "subscriptions/websocket/handshake.h"

#include <strings.h>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <map>
#include <string>
#include <vector>

namespace ws = subscriptions::websocket;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

// The RFC's example request (§1.3).
Headers Valid() {
  return {{"Host", "server.example.com"},
          {"Upgrade", "websocket"},
          {"Connection", "Upgrade"},
          {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
          {"Sec-WebSocket-Version", "13"}};
}

ws::HandshakeAnswer Answer(const Headers& headers, std::string_view method = "GET") {
  return ws::AnswerHandshake(method, [&](std::string_view name) -> std::string_view {
    for (const auto& [k, v] : headers) {
      if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
    }
    return {};
  });
}

Headers With(std::string name, std::string value) {
  Headers h = Valid();
  for (auto& [k, v] : h) {
    if (k == name) {
      v = std::move(value);
      return h;
    }
  }
  h.emplace_back(std::move(name), std::move(value));
  return h;
}

Headers Without(const std::string& name) {
  Headers h = Valid();
  std::erase_if(h, [&](const auto& kv) { return kv.first == name; });
  return h;
}

std::string HeaderOf(const ws::HandshakeAnswer& a, const std::string& name) {
  for (const auto& [k, v] : a.headers) {
    if (k == name) return v;
  }
  return {};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(WebSocketHandshake)

BOOST_AUTO_TEST_CASE(RfcExampleKey) {
  BOOST_TEST(ws::AcceptKey("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

BOOST_AUTO_TEST_CASE(AcceptsTheRfcExample) {
  ws::HandshakeAnswer a = Answer(Valid());
  BOOST_TEST(a.accepted());
  BOOST_TEST(a.reason.empty());
  BOOST_TEST(HeaderOf(a, "Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  BOOST_TEST(ws::SwitchingProtocolsResponse(a) ==
             "HTTP/1.1 101 Switching Protocols\r\n"
             "Upgrade: websocket\r\n"
             "Connection: Upgrade\r\n"
             "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
             "\r\n");
}

BOOST_AUTO_TEST_CASE(TokensAreCaseInsensitiveAndListed) {
  // Firefox sends "Connection: keep-alive, Upgrade"; case varies between clients.
  BOOST_TEST(Answer(With("Connection", "keep-alive, Upgrade")).accepted());
  BOOST_TEST(Answer(With("Connection", "UPGRADE")).accepted());
  BOOST_TEST(Answer(With("Upgrade", "WebSocket")).accepted());
  BOOST_TEST(Answer(With("Upgrade", "h2c, websocket")).accepted());
}

BOOST_AUTO_TEST_CASE(WrongVersionIs426WithTheSupportedOne) {
  ws::HandshakeAnswer a = Answer(With("Sec-WebSocket-Version", "8"));
  BOOST_TEST(a.status == 426);
  BOOST_TEST(HeaderOf(a, "Sec-WebSocket-Version") == "13");
  BOOST_TEST(Answer(Without("Sec-WebSocket-Version")).status == 426);
}

struct BadRequest {
  const char* name;
  Headers headers;
  const char* method;
};
std::ostream& operator<<(std::ostream& os, const BadRequest& b) { return os << b.name; }

const std::vector<BadRequest> kBad{
    {"POST", Valid(), "POST"},
    {"no Upgrade", Without("Upgrade"), "GET"},
    {"Upgrade: h2c", With("Upgrade", "h2c"), "GET"},
    {"no Connection", Without("Connection"), "GET"},
    {"Connection: keep-alive", With("Connection", "keep-alive"), "GET"},
    {"Connection: upgraded", With("Connection", "upgraded"), "GET"},
    {"no key", Without("Sec-WebSocket-Key"), "GET"},
    {"key not base64", With("Sec-WebSocket-Key", "not base64 at all!!!!!!!"), "GET"},
    {"key of 15 bytes", With("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA"), "GET"},
    {"key of 17 bytes", With("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAAA="), "GET"},
};

BOOST_DATA_TEST_CASE(RefusedWith400, boost::unit_test::data::make(kBad), bad) {
  ws::HandshakeAnswer a = Answer(bad.headers, bad.method);
  BOOST_TEST(a.status == 400);
  BOOST_TEST(!a.reason.empty());
  BOOST_TEST(HeaderOf(a, "Sec-WebSocket-Accept").empty());
}

BOOST_AUTO_TEST_SUITE_END()
