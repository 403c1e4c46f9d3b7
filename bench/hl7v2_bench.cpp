// hl7v2_bench: ADT^A04 registrations per second through MLLP with the application ACK (issue 9),
// against a raw MLLP echo in the same run.
//
//   hl7v2_bench --mode fovea --port P --connections C [--duration D] [--warmup W] [--label L] [--run I]
//       C client threads, each with one persistent MLLP connection to Fovea on 127.0.0.1:P,
//       sending ADT^A04 messages (original mode, each with its own control id, MRN and visit
//       number) one after another, each waiting for its acknowledgement. Fovea answers only
//       after the message is in the durable inbox and its FHIR transaction (Patient upsert,
//       check-in Encounter, the session's six Tasks, MessageHeader) has committed. An answer
//       other than AA counts as an error.
//   hl7v2_bench --mode http --http-port H --connections C ...
//       The FHIR transaction alone: the same messages mapped in the client with Fovea's own ADT
//       mapping (adapters/hl7v2/mapping, MessageHeader included) and POSTed as transaction
//       Bundles to http://127.0.0.1:H/fhir/R4 over one keep-alive connection per client: what
//       MLLP adds (parsing, the inbox's two commits, the MessageHeader read) is the difference.
//   hl7v2_bench --mode echo --connections C ...
//       The baseline: the same clients and messages against a raw MLLP echo started in this
//       process on a free loopback port (a thread per connection; it frames back a fixed ACK for
//       each message it reads): the cost of framing and the loopback round trip alone.
//
// One JSON line per run on stdout: messages, seconds, messages per second, latency p50/p99.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include "adapters/hl7v2/mapping/adt_mapping.h"
#include "adapters/hl7v2/message.h"
#include "bench/bench_common.h"
#include "common/json.h"

namespace {

using Clock = std::chrono::steady_clock;

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("connect");
    std::exit(2);
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads one framed message into `out`; false when the connection ended.
bool ReadFrame(int fd, std::string& buffer, std::string& out) {
  while (true) {
    std::size_t end = buffer.find("\x1c\r");
    if (end != std::string::npos) {
      std::size_t start = buffer.find('\x0b');
      out = buffer.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1));
      buffer.erase(0, end + 2);
      return true;
    }
    char chunk[16384];
    ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
}

std::string Framed(const std::string& m) { return "\x0b" + m + "\x1c\r"; }

// POSTs the message's transaction Bundle; true when Fovea answered 200.
bool PostBundle(Poco::Net::HTTPClientSession& session, const std::string& message, const std::string& marker) {
  auto parsed = adapters::hl7v2::Message::Parse(message);
  if (!parsed.has_value()) return false;
  auto mapped = adapters::hl7v2::mapping::MapAdt(*parsed, {"", marker});
  if (!mapped.bundle.has_value()) return false;
  std::string body = common::ToJson(*mapped.bundle);
  Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_POST, "/fhir/R4", Poco::Net::HTTPMessage::HTTP_1_1);
  req.setKeepAlive(true);
  req.setContentType("application/fhir+json");
  req.set("Prefer", "return=minimal");
  req.setContentLength(static_cast<std::streamsize>(body.size()));
  try {
    session.sendRequest(req) << body;
    Poco::Net::HTTPResponse resp;
    std::istream& is = session.receiveResponse(resp);
    std::string ignored;
    Poco::StreamCopier::copyToString(is, ignored);
    return resp.getStatus() == Poco::Net::HTTPResponse::HTTP_OK;
  } catch (const Poco::Exception&) {
    return false;
  }
}

std::string Adt(const std::string& tag, int client, long long i) {
  std::string id = tag + "-" + std::to_string(client) + "-" + std::to_string(i);
  return "MSH|^~\\&|BENCH|HOSP|FOVEA|UNIT|20240102120000+0000||ADT^A04^ADT_A01|" + id + "|P|2.5.1\r"
         "EVN|A04|20240102120000+0000\r"
         "PID|1||M" + id + "^^^HOSP^MR||Bench^Patient^" + std::to_string(i) + "||19800101|F|||1 Main St^^Springfield^IL^62701^USA^H\r"
         "PV1|1|O|||||||||||||||||V" + id + "^^^HOSP\r";
}

// The baseline: a raw MLLP echo, one thread per connection, answering each frame with an ACK.
class EchoServer {
 public:
  EchoServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 64);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    accept_ = std::thread([this] {
      while (true) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        std::thread([c] {
          std::string buffer, message;
          const std::string ack = Framed("MSH|^~\\&|FOVEA|UNIT|BENCH|HOSP|20240102120000+0000||ACK^A04^ACK|E1|P|2.5.1\rMSA|AA|x\r");
          while (ReadFrame(c, buffer, message)) {
            if (!SendAll(c, ack)) break;
          }
          close(c);
        }).detach();
      }
    });
  }
  ~EchoServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    accept_.join();
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread accept_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string mode = "fovea";
  std::string label = "run";
  int port = 0;
  int http_port = 0;
  int connections = 1;
  int run = 1;
  double duration = 10;
  double warmup = 2;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--mode") mode = next();
    else if (a == "--port") port = bench::ParseInt(a, next(), 1, 65535);
    else if (a == "--http-port") http_port = bench::ParseInt(a, next(), 1, 65535);
    else if (a == "--connections") connections = bench::ParseInt(a, next(), 1, 256);
    else if (a == "--duration") duration = bench::ParseNonNegative(a, next());
    else if (a == "--warmup") warmup = bench::ParseNonNegative(a, next());
    else if (a == "--label") label = next();
    else if (a == "--run") run = bench::ParseInt(a, next(), 0, 1000000);
    else {
      std::fprintf(stderr, "unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  if (mode != "fovea" && mode != "echo" && mode != "http") {
    std::fprintf(stderr, "--mode is fovea, http or echo\n");
    return 2;
  }
  if (mode == "http" && http_port == 0) {
    std::fprintf(stderr, "--http-port is required for --mode http\n");
    return 2;
  }
  std::unique_ptr<EchoServer> echo;
  if (mode == "echo") {
    echo = std::make_unique<EchoServer>();
    port = echo->port();
  }
  if (port == 0 && mode == "fovea") {
    std::fprintf(stderr, "--port is required for --mode fovea\n");
    return 2;
  }

  const std::string tag = bench::RandomTag();
  const auto start = Clock::now();
  const auto measure_from = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup));
  const auto stop = measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(duration));
  std::atomic<long long> errors{0};
  std::mutex mu;
  std::vector<double> latencies;  // ms, measured window only
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      if (mode == "http") {
        Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(http_port));
        session.setKeepAlive(true);
        std::vector<double> mine;
        for (long long i = 0; Clock::now() < stop; ++i) {
          auto t0 = Clock::now();
          bool ok = PostBundle(session, Adt(tag, c, i), "bench-" + tag + "-" + std::to_string(c) + "-" + std::to_string(i));
          auto t1 = Clock::now();
          if (!ok) ++errors;
          if (t0 >= measure_from && t1 <= stop) mine.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        }
        std::lock_guard lock(mu);
        latencies.insert(latencies.end(), mine.begin(), mine.end());
        return;
      }
      int fd = Connect(port);
      std::string buffer, ack;
      std::vector<double> mine;
      for (long long i = 0; Clock::now() < stop; ++i) {
        auto t0 = Clock::now();
        if (!SendAll(fd, Framed(Adt(tag, c, i))) || !ReadFrame(fd, buffer, ack)) {
          ++errors;
          break;
        }
        auto t1 = Clock::now();
        if (ack.find("MSA|AA|") == std::string::npos) ++errors;
        if (t0 >= measure_from && t1 <= stop) mine.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      }
      close(fd);
      std::lock_guard lock(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  std::sort(latencies.begin(), latencies.end());
  bench::JsonLine()
      .Add("bench", "hl7v2")
      .Add("label", label)
      .Add("run", run)
      .Add("mode", mode)
      .Add("connections", connections)
      .Add("messages", static_cast<long long>(latencies.size()))
      .Add("seconds", duration)
      .Add("per_second", duration > 0 ? latencies.size() / duration : 0.0)
      .Add("p50_ms", bench::Percentile(latencies, 50))
      .Add("p99_ms", bench::Percentile(latencies, 99))
      .Add("errors", static_cast<long long>(errors.load()))
      .Print();
  return errors.load() == 0 ? 0 : 1;
}
