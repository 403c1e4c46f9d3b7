// subscriptions/websocket/socket_loop: the event loop over socketpairs (no HTTP, no network):
// echo, pings both ways, the close handshake from either side, protocol errors, idle peers,
// the bounded send queue, concurrent senders and Stop.

#include "subscriptions/websocket/socket_loop.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <boost/test/unit_test.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fhir/rest/detail/nonblocking_stream.h"
#include "tests/subscriptions/websocket/ws_client.h"

namespace ws = subscriptions::websocket;
using ws::ConnectionId;
using ws::Opcode;
using ws_test::CloseCodeOf;
using ws_test::WsClient;
using namespace std::chrono_literals;

namespace {

int ThreadCount() {
  int n = 0;
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr) return -1;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n;
}

// A TLS server context with a throwaway P-256 certificate, made once.
SSL_CTX* ServerTlsContext() {
  static SSL_CTX* ctx = [] {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, key, EVP_sha256());
    SSL_CTX* c = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(c, cert);
    SSL_CTX_use_PrivateKey(c, key);
    X509_free(cert);
    EVP_PKEY_free(key);
    return c;
  }();
  return ctx;
}

// A loop whose on_text echoes every message back, recording what it saw.
struct EchoLoop {
  explicit EchoLoop(ws::SocketLoopOptions options = {}) {
    loop = std::make_unique<ws::SocketLoop>(
        ws::SocketCallbacks{[this](ConnectionId id, std::string text) {
                              if (echo) loop->SendText(id, text);
                            },
                            [this](ConnectionId id) {
                              std::lock_guard lock(mu);
                              ++closed[id];
                              cv.notify_all();
                            }},
        options);
    BOOST_REQUIRE(loop->Start().ok());
  }
  ~EchoLoop() { loop->Stop(); }

  struct Peer {
    ConnectionId id;
    std::unique_ptr<WsClient> client;
  };
  // A socketpair: one end adopted by the loop, the other for a client.
  Peer Connect(std::string initial_bytes = "", int server_sndbuf = 0) {
    int sv[2];
    BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    if (server_sndbuf > 0) {
      ::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &server_sndbuf, sizeof server_sndbuf);
    }
    ConnectionId id =
        loop->Adopt(fhir::rest::detail::NewPlainStream(sv[0]), std::move(initial_bytes));
    BOOST_REQUIRE(id != 0u);
    return {id, std::make_unique<WsClient>(sv[1])};
  }

  // The same over TLS: the server side's handshake runs (blocking) on a helper thread, as the
  // HTTP server's connection thread would, then the session moves to the loop.
  Peer ConnectTls() {
    int sv[2];
    BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    SSL* ssl = SSL_new(ServerTlsContext());
    SSL_set_fd(ssl, sv[0]);
    int accepted = 0;
    std::thread handshake([&] { accepted = SSL_accept(ssl); });
    auto client = std::make_unique<WsClient>(sv[1], true);
    handshake.join();
    BOOST_REQUIRE(accepted == 1);
    ConnectionId id = loop->Adopt(fhir::rest::detail::NewTlsStream(sv[0], ssl), "");
    BOOST_REQUIRE(id != 0u);
    return {id, std::move(client)};
  }

  bool WaitClosed(ConnectionId id, std::chrono::milliseconds wait = 5000ms) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, wait, [&] { return closed.count(id) > 0; });
  }
  int ClosedCount(ConnectionId id) {
    std::lock_guard lock(mu);
    return closed.count(id) > 0 ? closed[id] : 0;
  }

  std::atomic<bool> echo{true};
  std::unique_ptr<ws::SocketLoop> loop;
  std::mutex mu;
  std::condition_variable cv;
  std::map<ConnectionId, int> closed;
};

ws::SocketLoopOptions Fast() {
  ws::SocketLoopOptions o;
  o.close_timeout = 1s;
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(SocketLoopMessages)

BOOST_AUTO_TEST_CASE(EchoesText) {
  EchoLoop e;
  auto p = e.Connect();
  p.client->SendText("hello");
  auto m = p.client->NextData();
  BOOST_REQUIRE(m.has_value());
  BOOST_TEST((m->opcode == Opcode::kText));
  BOOST_TEST(m->payload == "hello");
  BOOST_TEST(e.loop->size() == 1u);
}

BOOST_AUTO_TEST_CASE(FragmentedMessageArrivesWhole) {
  EchoLoop e;
  auto p = e.Connect();
  p.client->Send(Opcode::kText, "frag", false);
  p.client->Send(Opcode::kPing, "between");
  p.client->Send(Opcode::kContinuation, "mented");
  auto pong = p.client->Next();
  BOOST_REQUIRE(pong.has_value());
  BOOST_TEST((pong->opcode == Opcode::kPong));
  auto m = p.client->NextData();
  BOOST_REQUIRE(m.has_value());
  BOOST_TEST(m->payload == "fragmented");
}

BOOST_AUTO_TEST_CASE(BytesReadByTheHttpServerComeFirst) {
  EchoLoop e;
  std::string early = ws::EncodeMaskedFrame(Opcode::kText, "early", {1, 2, 3, 4});
  auto p = e.Connect(early);
  auto m = p.client->NextData();
  BOOST_REQUIRE(m.has_value());
  BOOST_TEST(m->payload == "early");
}

BOOST_AUTO_TEST_CASE(LargeMessageWithinTheLimit) {
  EchoLoop e;
  auto p = e.Connect();
  std::string big(60000, 'b');
  p.client->SendText(big);
  auto m = p.client->NextData();
  BOOST_REQUIRE(m.has_value());
  BOOST_TEST(m->payload == big);
}

BOOST_AUTO_TEST_CASE(ConcurrentSendersNeverInterleaveFrames) {
  EchoLoop e;
  e.echo = false;
  auto p = e.Connect();
  constexpr int kThreads = 4;
  constexpr int kEach = 500;
  std::atomic<int> refused{0};
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        // Sizes cross the 7-bit/16-bit length boundary, so headers differ in size too.
        std::string text = std::to_string(t) + ":" + std::to_string(i) + ":" +
                           std::string(static_cast<std::size_t>(i % 3 == 0 ? 200 : 20), 'x');
        if (!e.loop->SendText(p.id, text)) ++refused;  // Boost.Test is not thread-safe
      }
    });
  }
  std::vector<int> next(kThreads, 0);
  for (int n = 0; n < kThreads * kEach; ++n) {
    auto m = p.client->NextData();
    BOOST_REQUIRE(m.has_value());
    int t = std::stoi(m->payload);
    int i = std::stoi(m->payload.substr(m->payload.find(':') + 1));
    BOOST_REQUIRE(i == next[t]);  // each sender's order is kept
    ++next[t];
  }
  for (auto& s : senders) s.join();
  BOOST_TEST(refused.load() == 0);
}

BOOST_AUTO_TEST_CASE(ManySocketsOneThread) {
  EchoLoop e;
  int threads_before = ThreadCount();
  std::vector<EchoLoop::Peer> peers;
  for (int i = 0; i < 200; ++i) peers.push_back(e.Connect());
  for (std::size_t i = 0; i < peers.size(); ++i) peers[i].client->SendText("n" + std::to_string(i));
  for (std::size_t i = 0; i < peers.size(); ++i) {
    auto m = peers[i].client->NextData();
    BOOST_REQUIRE(m.has_value());
    BOOST_TEST(m->payload == "n" + std::to_string(i));
  }
  BOOST_TEST(e.loop->size() == 200u);
  BOOST_TEST(ThreadCount() == threads_before);
}

BOOST_AUTO_TEST_CASE(TlsEchoManyRecordsAndClose) {
  EchoLoop e;
  auto p = e.ConnectTls();
  std::string big(60000, 't');  // several TLS records each way
  p.client->SendText(big);
  auto m = p.client->NextData();
  BOOST_REQUIRE(m.has_value());
  BOOST_TEST(m->payload == big);
  // A burst larger than one read budget (4 x 16 KB): the loop comes back for the rest, and
  // messages split across TLS records and reads are reassembled in order.
  std::string burst;
  for (int i = 0; i < 400; ++i) {
    burst += ws::EncodeMaskedFrame(Opcode::kText, std::to_string(i) + std::string(500, '.'),
                                   {1, 2, 3, 4});
  }
  p.client->WriteAll(burst);
  for (int i = 0; i < 400; ++i) {
    auto echo = p.client->NextData();
    BOOST_REQUIRE(echo.has_value());
    BOOST_REQUIRE(echo->payload == std::to_string(i) + std::string(500, '.'));
  }
  p.client->SendClose(ws::kCloseNormal, "");
  auto close = p.client->NextData();
  BOOST_REQUIRE(close.has_value());
  BOOST_TEST(CloseCodeOf(*close) == ws::kCloseNormal);
  BOOST_TEST(p.client->WaitEof());
  BOOST_TEST(e.WaitClosed(p.id));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(SocketLoopPings)

BOOST_AUTO_TEST_CASE(AnswersPingWithPong) {
  EchoLoop e;
  auto p = e.Connect();
  p.client->Send(Opcode::kPing, "are you there");
  auto m = p.client->Next();
  BOOST_REQUIRE(m.has_value());
  BOOST_TEST((m->opcode == Opcode::kPong));
  BOOST_TEST(m->payload == "are you there");
}

BOOST_AUTO_TEST_CASE(SendsPingsEveryInterval) {
  ws::SocketLoopOptions o = Fast();
  o.ping_interval = 1s;
  EchoLoop e(o);
  auto p = e.Connect();
  for (int i = 0; i < 2; ++i) {
    auto m = p.client->Next(2500ms);
    BOOST_REQUIRE(m.has_value());
    BOOST_TEST((m->opcode == Opcode::kPing));
    p.client->Send(Opcode::kPong, m->payload);
  }
}

BOOST_AUTO_TEST_CASE(DropsASilentPeer) {
  ws::SocketLoopOptions o = Fast();
  o.idle_timeout = 1s;
  EchoLoop e(o);
  auto silent = e.Connect();
  auto chatty = e.Connect();
  auto start = ws_test::Clock::now();
  for (int i = 0; i < 8; ++i) {  // ~2 s of traffic on the other socket
    chatty.client->SendText("still here");
    BOOST_REQUIRE(chatty.client->NextData().has_value());
    std::this_thread::sleep_for(250ms);
  }
  auto m = silent.client->Next(3000ms);
  BOOST_REQUIRE(m.has_value());
  BOOST_TEST((m->opcode == Opcode::kClose));
  BOOST_TEST(CloseCodeOf(*m) == ws::kCloseGoingAway);
  BOOST_TEST(silent.client->WaitEof());
  BOOST_TEST(e.WaitClosed(silent.id));
  BOOST_TEST((ws_test::Clock::now() - start < 5s));
  BOOST_TEST(e.ClosedCount(chatty.id) == 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(SocketLoopClose)

BOOST_AUTO_TEST_CASE(ClientInitiated) {
  EchoLoop e;
  auto p = e.Connect();
  p.client->SendClose(1000, "bye");
  auto m = p.client->Next();
  BOOST_REQUIRE(m.has_value());
  BOOST_TEST((m->opcode == Opcode::kClose));
  BOOST_TEST(CloseCodeOf(*m) == 1000);  // the code is echoed
  BOOST_TEST(p.client->WaitEof());      // and the server closes TCP first
  BOOST_TEST(e.WaitClosed(p.id));
  BOOST_TEST(e.ClosedCount(p.id) == 1);
  BOOST_TEST(!e.loop->SendText(p.id, "too late"));
  BOOST_TEST(e.loop->size() == 0u);
}

BOOST_AUTO_TEST_CASE(ServerInitiatedAfterQueuedText) {
  EchoLoop e;
  auto p = e.Connect();
  BOOST_TEST(e.loop->SendText(p.id, "last words"));
  e.loop->Close(p.id, 4000, "done");
  BOOST_TEST(!e.loop->SendText(p.id, "after close"));
  auto text = p.client->NextData();
  BOOST_REQUIRE(text.has_value());
  BOOST_TEST(text->payload == "last words");
  auto close = p.client->NextData();
  BOOST_REQUIRE(close.has_value());
  BOOST_TEST((close->opcode == Opcode::kClose));
  ws::CloseInfo info;
  BOOST_TEST(!ws::ParseClosePayload(close->payload, info).has_value());
  BOOST_TEST(info.code == 4000);
  BOOST_TEST(info.reason == "done");
  BOOST_TEST(e.ClosedCount(p.id) == 0);  // waiting for our close frame's answer
  p.client->SendClose(4000, "");
  BOOST_TEST(p.client->WaitEof());
  BOOST_TEST(e.WaitClosed(p.id));
}

BOOST_AUTO_TEST_CASE(PeerThatNeverAnswersIsCutAfterCloseTimeout) {
  EchoLoop e(Fast());
  auto p = e.Connect();
  auto start = ws_test::Clock::now();
  e.loop->Close(p.id, 1000, "");
  BOOST_TEST(e.WaitClosed(p.id, 3000ms));
  BOOST_TEST((ws_test::Clock::now() - start >= 900ms));
}

BOOST_AUTO_TEST_CASE(PeerVanishing) {
  EchoLoop e;
  auto p = e.Connect();
  p.client.reset();  // EOF without a close frame
  BOOST_TEST(e.WaitClosed(p.id));
  BOOST_TEST(e.ClosedCount(p.id) == 1);
}

struct Violation {
  const char* name;
  std::string wire;
  std::uint16_t code;
};
std::ostream& operator<<(std::ostream& os, const Violation& v) { return os << v.name; }

BOOST_AUTO_TEST_CASE(ProtocolErrorsCloseWithTheirCode) {
  ws::SocketLoopOptions o;
  o.max_message_bytes = 1000;
  EchoLoop e(o);
  const std::vector<Violation> cases{
      {"unmasked", ws::EncodeFrame(Opcode::kText, "x"), ws::kCloseProtocolError},
      {"too big", ws::EncodeMaskedFrame(Opcode::kText, std::string(1001, 'x'), {1, 2, 3, 4}),
       ws::kCloseMessageTooBig},
      {"bad UTF-8", ws::EncodeMaskedFrame(Opcode::kText, "\xFF", {1, 2, 3, 4}),
       ws::kCloseInvalidPayload},
      {"binary", ws::EncodeMaskedFrame(Opcode::kBinary, "b", {1, 2, 3, 4}),
       ws::kCloseUnsupportedData},
  };
  for (const Violation& v : cases) {
    BOOST_TEST_CONTEXT(v.name) {
      auto p = e.Connect();
      p.client->WriteAll(v.wire);
      auto m = p.client->NextData();
      BOOST_REQUIRE(m.has_value());
      BOOST_TEST((m->opcode == Opcode::kClose));
      BOOST_TEST(CloseCodeOf(*m) == v.code);
      if (v.code == ws::kCloseUnsupportedData) p.client->SendClose(v.code, "");
      BOOST_TEST(p.client->WaitEof());
      BOOST_TEST(e.WaitClosed(p.id));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(SocketLoopBackpressure)

// Fills a connection whose client does not read until SendText refuses; returns how many
// messages were accepted.
int FillUntilRefused(ws::SocketLoop& loop, ConnectionId id, const std::string& text) {
  for (int n = 0; n < 100000; ++n) {
    if (!loop.SendText(id, text + std::to_string(n))) return n;
  }
  return -1;
}

BOOST_AUTO_TEST_CASE(OverflowClosesWith1008AfterWhatWasQueued) {
  ws::SocketLoopOptions o = Fast();
  o.close_timeout = 3s;
  o.max_queued_bytes = 64 * 1024;
  EchoLoop e(o);
  auto slow = e.Connect("", 16 * 1024);
  std::string text(1000, 's');
  int accepted = FillUntilRefused(*e.loop, slow.id, text);
  BOOST_TEST_MESSAGE("accepted " << accepted << " messages before the queue was full");
  BOOST_REQUIRE(accepted > 0);
  BOOST_TEST(!e.loop->SendText(slow.id, "refused"));

  // The client catches up: every accepted message in order, then the close frame.
  for (int n = 0; n < accepted; ++n) {
    auto m = slow.client->NextData();
    BOOST_REQUIRE(m.has_value());
    BOOST_REQUIRE(m->payload == text + std::to_string(n));
  }
  auto close = slow.client->NextData();
  BOOST_REQUIRE(close.has_value());
  BOOST_TEST((close->opcode == Opcode::kClose));
  BOOST_TEST(CloseCodeOf(*close) == ws::kClosePolicyViolation);
  slow.client->SendClose(ws::kClosePolicyViolation, "");
  BOOST_TEST(slow.client->WaitEof());
  BOOST_TEST(e.WaitClosed(slow.id));
}

// SendTexts is SendText for a batch: per socket in order, refused where SendText would refuse
// (an unknown socket; a full queue, after which that socket takes nothing more).
BOOST_AUTO_TEST_CASE(SendTextsQueuesInOrderAndRefusesAsSendTextWould) {
  ws::SocketLoopOptions o = Fast();
  o.max_queued_bytes = 8 * 1024;
  EchoLoop e(o);
  auto a = e.Connect();
  auto b = e.Connect();
  auto slow = e.Connect("", 4 * 1024);  // never reads until the end
  std::string big(3000, 's');
  std::vector<ws::SocketLoop::Outgoing> out = {
      {a.id, "a1"}, {b.id, "b1"}, {a.id, "a2"}, {a.id + b.id + slow.id + 100, "nobody"}, {b.id, "b2"}};
  std::vector<std::string> texts;
  for (int i = 0; i < 20; ++i) texts.push_back(big + std::to_string(i));
  for (const std::string& t : texts) out.push_back({slow.id, t});
  out.push_back({a.id, "a3"});
  std::vector<bool> accepted;
  e.loop->SendTexts(out, accepted);
  BOOST_REQUIRE(accepted.size() == out.size());
  BOOST_TEST(accepted[0]);
  BOOST_TEST(accepted[1]);
  BOOST_TEST(accepted[2]);
  BOOST_TEST(!accepted[3]);
  BOOST_TEST(accepted[4]);
  BOOST_TEST(accepted.back());
  // The slow socket: a prefix accepted, then nothing (the queue filled and it is being closed).
  std::size_t taken = 0;
  while (taken < texts.size() && accepted[5 + taken]) ++taken;
  BOOST_TEST(taken > 0u);
  BOOST_TEST(taken < texts.size());
  for (std::size_t i = taken; i < texts.size(); ++i) BOOST_TEST(!accepted[5 + i]);
  BOOST_TEST(!e.loop->SendText(slow.id, "after the cut"));

  for (const char* want : {"a1", "a2", "a3"}) {
    auto m = a.client->NextData();
    BOOST_REQUIRE(m.has_value());
    BOOST_TEST(m->payload == want);
  }
  for (const char* want : {"b1", "b2"}) {
    auto m = b.client->NextData();
    BOOST_REQUIRE(m.has_value());
    BOOST_TEST(m->payload == want);
  }
  for (std::size_t i = 0; i < taken; ++i) {
    auto m = slow.client->NextData();
    BOOST_REQUIRE(m.has_value());
    BOOST_REQUIRE(m->payload == texts[i]);
  }
  auto close = slow.client->NextData();
  BOOST_REQUIRE(close.has_value());
  BOOST_TEST((close->opcode == Opcode::kClose));
  BOOST_TEST(CloseCodeOf(*close) == ws::kClosePolicyViolation);
}

BOOST_AUTO_TEST_CASE(StalledConsumerIsCutWhileOthersFlow) {
  ws::SocketLoopOptions o = Fast();
  o.max_queued_bytes = 64 * 1024;
  EchoLoop e(o);
  auto stalled = e.Connect("", 16 * 1024);
  auto healthy = e.Connect();
  auto start = ws_test::Clock::now();
  BOOST_REQUIRE(FillUntilRefused(*e.loop, stalled.id, std::string(1000, 'x')) > 0);
  // The healthy socket keeps its round trips while the stalled one waits to be cut.
  int round_trips = 0;
  while (e.ClosedCount(stalled.id) == 0 && ws_test::Clock::now() - start < 5s) {
    healthy.client->SendText("ping " + std::to_string(round_trips));
    auto m = healthy.client->NextData(500ms);
    BOOST_REQUIRE(m.has_value());
    BOOST_REQUIRE(m->payload == "ping " + std::to_string(round_trips));
    ++round_trips;
  }
  BOOST_TEST(e.ClosedCount(stalled.id) == 1);
  BOOST_TEST(round_trips > 10);
  BOOST_TEST(e.ClosedCount(healthy.id) == 0);
  BOOST_TEST(e.loop->size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(SocketLoopStop)

BOOST_AUTO_TEST_CASE(ClosesEverySocketWith1001) {
  ws::SocketLoopOptions o;
  o.close_timeout = 3s;
  EchoLoop e(o);
  std::vector<EchoLoop::Peer> peers;
  for (int i = 0; i < 3; ++i) peers.push_back(e.Connect());
  BOOST_TEST(e.loop->size() == 3u);
  auto start = ws_test::Clock::now();
  std::thread stopper([&] { e.loop->Stop(); });
  for (auto& p : peers) {
    auto m = p.client->NextData();
    BOOST_REQUIRE(m.has_value());
    BOOST_TEST(CloseCodeOf(*m) == ws::kCloseGoingAway);
    p.client->SendClose(ws::kCloseGoingAway, "");
    BOOST_TEST(p.client->WaitEof());
  }
  stopper.join();
  BOOST_TEST((ws_test::Clock::now() - start < 2s));  // every peer answered: no waiting out 3 s
  for (auto& p : peers) BOOST_TEST(e.ClosedCount(p.id) == 1);
  BOOST_TEST(e.loop->size() == 0u);
  auto after = e.loop->Adopt(nullptr, "");
  BOOST_TEST(after == 0u);
}

BOOST_AUTO_TEST_CASE(DoesNotWaitLongerThanCloseTimeout) {
  EchoLoop e(Fast());
  auto p = e.Connect();
  auto start = ws_test::Clock::now();
  e.loop->Stop();  // the client never answers
  BOOST_TEST((ws_test::Clock::now() - start < 2500ms));
  BOOST_TEST(e.ClosedCount(p.id) == 1);
}

BOOST_AUTO_TEST_SUITE_END()
