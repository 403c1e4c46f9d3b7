// The WebSocket channel's socket cap through the real HTTP server: a channel whose loop takes at
// most two sockets answers the third upgrade with 503 (Retry-After) instead of a 101, a refused
// or failed upgrade gives its place back, and a closed socket makes room again.

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "subscriptions/engine/topics.h"
#include "subscriptions/rest/websocket_channel.h"
#include "tests/subscriptions/websocket/ws_client.h"
#include "tests/support/test_server.h"

namespace {

using test_support::TestServer;
using ws_test::WsClient;

constexpr const char* kCappedPath = "/ws/capped-test";

// A second channel on the TestServer's stores, mounted on kCappedPath, whose loop takes at
// most `max` sockets.
struct CappedChannel {
  CappedChannel(TestServer& server, std::size_t max)
      : channel(**subscriptions::TopicRegistry::BuiltIn(), server.registry(), server.store(),
                server.subscriptions()->notifications(), server.clock(),
                {.dsn = server.dsn(), .base_url = server.base(), .sockets = {.max_connections = max}}) {
    BOOST_REQUIRE(channel.Start().ok());
    server.http().MountUpgrade(kCappedPath, channel.Upgrade());
  }
  subscriptions::WebSocketChannel channel;
};

bool WaitForSockets(const subscriptions::WebSocketChannel& channel, std::size_t n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (channel.sockets() != n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

BOOST_AUTO_TEST_SUITE(WebSocketChannelLimits)

BOOST_AUTO_TEST_CASE(SocketsBeyondTheCapAreRefusedWith503) {
  TestServer server;
  CappedChannel capped(server, 2);

  WsClient first(ws_test::ConnectTcp(server.port()));
  WsClient second(ws_test::ConnectTcp(server.port()));
  BOOST_REQUIRE_EQUAL(first.Upgrade(kCappedPath), 101);
  BOOST_REQUIRE_EQUAL(second.Upgrade(kCappedPath), 101);
  BOOST_REQUIRE(WaitForSockets(capped.channel, 2));

  // Twice: a refusal holds no place (nor does a malformed handshake).
  for (int attempt = 0; attempt < 2; ++attempt) {
    WsClient third(ws_test::ConnectTcp(server.port()));
    std::string head;
    BOOST_TEST(third.Upgrade(kCappedPath, "", &head) == 503);
    BOOST_TEST(head.find("Retry-After: 5") != std::string::npos);
    BOOST_TEST(head.find("Upgrade: websocket") == std::string::npos);
  }
  {
    WsClient bad(ws_test::ConnectTcp(server.port()));
    bad.WriteAll("GET /ws/capped-test HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\n\r\n");  // no key, no version
    std::string in;
    while (in.find("\r\n\r\n") == std::string::npos &&
           bad.ReadSome(in, ws_test::Clock::now() + std::chrono::seconds(5)) ==
               WsClient::ReadStatus::kData) {
    }
    BOOST_TEST_INFO("answer: " << in);
    BOOST_TEST(in.rfind("HTTP/1.1 426", 0) == 0);  // no Sec-WebSocket-Version
  }
  // The sockets that were let in still work.
  first.SendText("ping");
  auto pong = first.NextData();
  BOOST_REQUIRE(pong.has_value());
  BOOST_TEST(pong->payload == "pong");

  // A socket that goes makes room for one more, and only one.
  second.SendClose(1000, "bye");
  BOOST_REQUIRE(second.WaitEof());
  BOOST_REQUIRE(WaitForSockets(capped.channel, 1));
  WsClient fourth(ws_test::ConnectTcp(server.port()));
  BOOST_TEST(fourth.Upgrade(kCappedPath) == 101);
  WsClient fifth(ws_test::ConnectTcp(server.port()));
  BOOST_TEST(fifth.Upgrade(kCappedPath) == 503);
}

BOOST_AUTO_TEST_CASE(TheDefaultCapLeavesRoomForEverythingElse) {
  BOOST_TEST(subscriptions::websocket::DefaultMaxConnections(1024) == 512u);
  BOOST_TEST(subscriptions::websocket::DefaultMaxConnections(20000) == 20000u - 2500u);
  BOOST_TEST(subscriptions::websocket::DefaultMaxConnections(1u << 20) == (1u << 20) - (1u << 17));
  BOOST_TEST(subscriptions::websocket::DefaultMaxConnections(256) == 16u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
