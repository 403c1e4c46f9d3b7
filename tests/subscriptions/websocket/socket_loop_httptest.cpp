// The WebSocket transport end to end: the real server (plain HTTP and HTTPS with a
// `fovea cert dev` certificate) mounts a WebSocket echo on a SocketLoop; hand-written clients
// (raw sockets, OpenSSL for TLS, masked frames) upgrade, talk, get cut off and close.

#include <sys/socket.h>

#include <atomic>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fhir/rest/http_types.h"
#include "subscriptions/websocket/handshake.h"
#include "subscriptions/websocket/socket_loop.h"
#include "tests/subscriptions/websocket/ws_client.h"
#include "tests/support/test_server.h"

namespace ws = subscriptions::websocket;
using fhir::rest::RestRequest;
using fhir::rest::RestResponse;
using ws::ConnectionId;
using ws::Opcode;
using ws_test::CloseCodeOf;
using ws_test::WsClient;
using namespace std::chrono_literals;

namespace {

// Not /ws/subscriptions-r4: the TestServer mounts the real subscription channel there.
constexpr const char* kPath = "/ws/echo-test";

// What a subscription endpoint's `answer` looks like: an authorization check that may refuse
// (here: ?token=refuse gets a 401), then the RFC 6455 handshake.
RestResponse AnswerUpgrade(const RestRequest& req) {
  RestResponse res;
  if (req.Query("token") == "refuse") {
    res.status = 401;
    res.content_type = "text/plain";
    res.body = "no";
    return res;
  }
  ws::HandshakeAnswer answer =
      ws::AnswerHandshake(req.method, [&](std::string_view name) { return req.Header(name); });
  res.status = answer.status;
  res.headers = std::move(answer.headers);
  if (!answer.accepted()) {
    res.content_type = "text/plain";
    res.body = answer.reason;
  }
  return res;
}

// A TestServer whose HttpServer serves a WebSocket echo on kPath.
class EchoServer : public test_support::TestServer {
 public:
  EchoServer(bool tls, ws::SocketLoopOptions options = {})
      : TestServer(fhir::rest::ServiceOptions{},
                   tls ? TestServer::DevTls() : fhir::rest::HttpServerOptions{}),
        loop_(ws::SocketCallbacks{[this](ConnectionId id, std::string text) {
                                    if (echo) loop_.SendText(id, text);
                                  },
                                  [this](ConnectionId id) {
                                    std::lock_guard lock(mu_);
                                    closed_.insert(id);
                                    cv_.notify_all();
                                  }},
              options),
        tls_(tls) {
    BOOST_REQUIRE(loop_.Start().ok());
    http().MountUpgrade(
        kPath, {AnswerUpgrade, [this](auto stream, std::string initial, const RestRequest&) {
                  ConnectionId id = loop_.Adopt(std::move(stream), std::move(initial));
                  std::lock_guard lock(mu_);
                  adopted_.push_back(id);
                  cv_.notify_all();
                }});
  }
  ~EchoServer() { loop_.Stop(); }

  std::unique_ptr<WsClient> Client() {
    return std::make_unique<WsClient>(ws_test::ConnectTcp(port()), tls_);
  }
  // A client after a successful upgrade, with the id the loop gave its connection.
  std::pair<std::unique_ptr<WsClient>, ConnectionId> Upgraded(std::string* head = nullptr) {
    auto client = Client();
    std::size_t before = AdoptedCount();
    BOOST_REQUIRE(client->Upgrade(kPath, "", head) == 101);
    std::unique_lock lock(mu_);
    BOOST_REQUIRE(cv_.wait_for(lock, 5s, [&] { return adopted_.size() > before; }));
    return {std::move(client), adopted_.back()};
  }
  std::size_t AdoptedCount() {
    std::lock_guard lock(mu_);
    return adopted_.size();
  }
  bool WaitClosed(ConnectionId id, std::chrono::milliseconds wait = 5000ms) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, wait, [&] { return closed_.count(id) > 0; });
  }
  bool IsClosed(ConnectionId id) {
    std::lock_guard lock(mu_);
    return closed_.count(id) > 0;
  }
  ws::SocketLoop& loop() { return loop_; }

  std::atomic<bool> echo{true};

 private:
  ws::SocketLoop loop_;
  bool tls_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ConnectionId> adopted_;
  std::set<ConnectionId> closed_;
};

const std::vector<bool> kTls{false, true};

}  // namespace

BOOST_AUTO_TEST_SUITE(WebSocketOverHttp)

BOOST_DATA_TEST_CASE(UpgradeEchoPingAndClose, boost::unit_test::data::make(kTls), tls) {
  EchoServer server(tls);
  std::string head;
  auto [client, id] = server.Upgraded(&head);
  BOOST_TEST(head.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") !=
             std::string::npos);
  BOOST_TEST(head.find("Content-Length") == std::string::npos);

  client->SendText("{\"type\":\"ping\"}");
  auto echo = client->NextData();
  BOOST_REQUIRE(echo.has_value());
  BOOST_TEST(echo->payload == "{\"type\":\"ping\"}");

  client->Send(Opcode::kPing, "hb");
  auto pong = client->Next();
  BOOST_REQUIRE(pong.has_value());
  BOOST_TEST((pong->opcode == Opcode::kPong));
  BOOST_TEST(pong->payload == "hb");

  client->SendClose(ws::kCloseNormal, "done");
  auto close = client->Next();
  BOOST_REQUIRE(close.has_value());
  BOOST_TEST((close->opcode == Opcode::kClose));
  BOOST_TEST(CloseCodeOf(*close) == ws::kCloseNormal);
  BOOST_TEST(client->WaitEof());
  BOOST_TEST(server.WaitClosed(id));
  BOOST_TEST(server.loop().size() == 0u);

  // The FHIR API on the same server is untouched.
  BOOST_TEST(server.Request("GET", "metadata").status == 200);
}

BOOST_DATA_TEST_CASE(FramesSentWithTheRequestHead, boost::unit_test::data::make(kTls), tls) {
  EchoServer server(tls);
  auto client = server.Client();
  // The request and a first frame in one write: the HTTP server reads both, and the frame
  // reaches the loop as initial bytes (with TLS possibly inside the session's buffer).
  std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  client->WriteAll(std::string("GET ") + kPath +
                   " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: " +
                   key + "\r\nSec-WebSocket-Version: 13\r\n\r\n" +
                   ws::EncodeMaskedFrame(Opcode::kText, "bind-with-token abc", {9, 8, 7, 6}));
  std::string in;
  auto deadline = ws_test::Clock::now() + 5s;
  while (in.find("\r\n\r\n") == std::string::npos) {
    BOOST_REQUIRE((client->ReadSome(in, deadline) == WsClient::ReadStatus::kData));
  }
  BOOST_REQUIRE(in.rfind("HTTP/1.1 101 ", 0) == 0);
  std::string rest = in.substr(in.find("\r\n\r\n") + 4);
  ws::FrameDecoder decoder(ws::FrameDecoder::kClient, 1 << 20);
  decoder.Feed(rest);
  ws::Message m;
  while (decoder.Next(m) != ws::FrameDecoder::State::kMessage) {
    std::string more;
    BOOST_REQUIRE((client->ReadSome(more, deadline) == WsClient::ReadStatus::kData));
    decoder.Feed(more);
  }
  BOOST_TEST(m.payload == "bind-with-token abc");
}

BOOST_DATA_TEST_CASE(SeveralSocketsAtOnce, boost::unit_test::data::make(kTls), tls) {
  EchoServer server(tls);
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(server.Client());
    BOOST_REQUIRE(clients.back()->Upgrade(kPath) == 101);
  }
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < clients.size(); ++i) {
      clients[i]->SendText("c" + std::to_string(i) + "r" + std::to_string(round));
    }
    for (std::size_t i = 0; i < clients.size(); ++i) {
      auto m = clients[i]->NextData();
      BOOST_REQUIRE(m.has_value());
      BOOST_TEST(m->payload == "c" + std::to_string(i) + "r" + std::to_string(round));
    }
  }
  BOOST_TEST(server.loop().size() == 20u);
}

BOOST_DATA_TEST_CASE(RefusedUpgradesAreOrdinaryAnswers, boost::unit_test::data::make(kTls), tls) {
  EchoServer server(tls);
  auto plain_get = server.Request("GET", kPath);
  BOOST_TEST(plain_get.status == 400);

  auto wrong = server.Client();
  wrong->WriteAll(
      std::string("GET ") + kPath +
      " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n");
  std::string in;
  auto deadline = ws_test::Clock::now() + 5s;
  while (in.find("\r\n\r\n") == std::string::npos) {
    BOOST_REQUIRE((wrong->ReadSome(in, deadline) == WsClient::ReadStatus::kData));
  }
  BOOST_TEST(in.rfind("HTTP/1.1 426 ", 0) == 0);
  BOOST_TEST(in.find("Sec-WebSocket-Version: 13\r\n") != std::string::npos);

  auto refused = server.Client();
  BOOST_TEST(refused->Upgrade(std::string(kPath) + "?token=refuse") == 401);
  BOOST_TEST(server.AdoptedCount() == 0u);
  BOOST_TEST(server.loop().size() == 0u);
}

BOOST_DATA_TEST_CASE(SlowConsumerIsCutOffOthersKeepReceiving, boost::unit_test::data::make(kTls),
                     tls) {
  ws::SocketLoopOptions options;
  options.max_queued_bytes = 256 * 1024;
  options.close_timeout = 1s;
  EchoServer server(tls, options);
  server.echo = false;
  auto [slow, slow_id] = server.Upgraded();
  auto [fast, fast_id] = server.Upgraded();

  // The fast client reads everything on its own thread; the slow one reads nothing.
  const std::string payload(4096, 'n');
  std::atomic<int> fast_received{0};
  std::atomic<bool> fast_in_order{true};
  std::jthread reader([&, fast = fast.get()] {
    while (true) {
      auto m = fast->NextData(3000ms);
      if (!m || m->opcode != Opcode::kText || m->payload == "end") return;
      if (std::stoi(m->payload) != fast_received) fast_in_order = false;
      ++fast_received;
    }
  });

  int sent = 0;
  bool slow_refused = false;
  auto start = ws_test::Clock::now();
  // Broadcast until the slow socket is refused and closed, and 500 messages more, bounded in
  // time. The fast reader is never let fall more than 16 messages (64 KB) behind: what the
  // loop counts as queued may lag by one write's worth, so it stays well under the limit.
  int after_close = 0;
  while (after_close < 500 && ws_test::Clock::now() - start < 20s) {
    while (sent - fast_received.load() > 16 && ws_test::Clock::now() - start < 20s) {
      std::this_thread::sleep_for(100us);
    }
    std::string text = std::to_string(sent) + ":" + payload;
    BOOST_REQUIRE(server.loop().SendText(fast_id, text));
    ++sent;
    if (!server.loop().SendText(slow_id, text)) slow_refused = true;
    if (slow_refused && server.IsClosed(slow_id)) ++after_close;
  }
  BOOST_TEST_MESSAGE("sent " << sent << " messages; slow socket refused and closed");
  BOOST_TEST(slow_refused);
  BOOST_TEST(server.IsClosed(slow_id));
  BOOST_TEST(!server.IsClosed(fast_id));

  BOOST_TEST(server.loop().SendText(fast_id, "end"));
  reader.join();
  BOOST_TEST(fast_received.load() == sent);
  BOOST_TEST(fast_in_order.load());
  BOOST_TEST(server.loop().size() == 1u);
}

BOOST_AUTO_TEST_CASE(ServerInitiatedCloseOverTls) {
  EchoServer server(true);
  auto [client, id] = server.Upgraded();
  server.loop().Close(id, 4001, "unbound");
  auto close = client->Next();
  BOOST_REQUIRE(close.has_value());
  BOOST_TEST((close->opcode == Opcode::kClose));
  BOOST_TEST(CloseCodeOf(*close) == 4001);
  client->SendClose(4001, "");
  BOOST_TEST(client->WaitEof());
  BOOST_TEST(server.WaitClosed(id));
}

BOOST_AUTO_TEST_SUITE_END()
