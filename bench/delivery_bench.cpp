// delivery_bench: subscription delivery over WebSockets (issue 6), measured from the client's
// side against a baseline in the same run: a minimal relay that LISTENs on a PostgreSQL channel
// and writes each NOTIFY payload as a text frame to every socket it holds.
//
//   delivery_bench --mode relay --port P --dsn DSN
//       The baseline server: accepts WebSocket upgrades on 127.0.0.1:P (RFC 6455 handshake),
//       answers any text message with {"type":"handshake"}, LISTENs on `delivery_bench` with
//       raw libpq and, for each notification, sends its payload as one text frame to every open
//       socket (one epoll thread, non-blocking writes, a per-socket queue when the kernel is
//       full). Runs until killed.
//   delivery_bench --mode latency --target fovea|relay --sockets N [--shape per-socket|shared]
//                  [--events E] [--warmup-events W] [--gap-ms G] [--timeout-seconds T]
//                  [--url http://127.0.0.1:PORT/fhir/R4] [--ws-port P --dsn DSN]
//                  [--payload-bytes B] [--label TEXT] [--run I] [--cpu-of NAME=PID ...]
//       Opens N sockets, binds them, then commits W + E writes one at a time and times, for
//       every (socket, event) pair, "write sent -> frame received on that socket". Each
//       --cpu-of adds NAME_cpu_ms_per_event: the CPU time of process PID and its children (a
//       postmaster: the whole PostgreSQL cluster) over the measured events, per event.
//   delivery_bench --mode memory --target fovea|relay --sockets N --server-pid PID
//                  [--checkpoint C] [--warmup-sockets S] [--settle-seconds D] ...
//       RSS of the server process (VmRSS of /proc/PID/status) before and after N sockets are
//       bound and idle.
//
// What one event is:
//   fovea: PUT [base]/Task/dlv-TAG-K (a new Task, status ready, encounter = the run's own
//          Encounter; Prefer: return=minimal) over a keep-alive HTTP/1.1 connection. Fovea
//          commits it with its change-log event and wakes its matcher, the matcher numbers one
//          notification per matching subscription (task-status topic, filter
//          Task?encounter=Encounter/dlv-TAG; id-only) and commits them (NOTIFY
//          fovea_notification, announcing the numbers in its payload), and the WebSocket
//          dispatcher sends one event-notification Bundle per bound subscription.
//   relay: INSERT INTO delivery_bench_event (payload) VALUES ($1), a prepared statement over
//          raw libpq; an AFTER INSERT trigger runs pg_notify('delivery_bench', payload), so
//          the commit delivers the NOTIFY to the relay, which writes the payload to its
//          sockets. The payload is padded to --payload-bytes (the script passes the size of
//          Fovea's event frames, so both send frames of the same size).
// Both carry the marker "Task/dlv-TAG-K", by which the client matches a frame to its event.
//
// Shapes (fovea): per-socket (default): N Subscriptions with the same filter, each bound on its
// own socket with its own token (every staff tablet subscribes to the session's Tasks); one
// event makes N notifications. shared: ONE Subscription bound on all N sockets (one token).
// The relay has no subscriptions: every socket gets every payload.
//
// Timing: the writes go from a writer thread, which notes the steady clock just before it sends
// the write (t_send) and when the answer arrives (t_ack). The client thread holds every socket in
// one epoll set and notes the steady clock when a socket's read returns bytes that complete the
// frame. The latency of a pair is arrival - t_send: commit, matching and delivery together, the
// same span for both targets (the relay's write is its commit). Writes never overlap: the next
// one waits until every socket has the previous event (or --timeout-seconds passed) and its
// answer came, plus --gap-ms. The first W events warm up and are not counted. Client, server and
// PostgreSQL share the machine; the client's own work (reading N sockets one after the other)
// is in both targets' figures alike.
//
// One JSON line goes to stdout per latency or memory run. Only loopback targets are accepted.

#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "bench/bench_common.h"
#include "common/json.h"

namespace {

using bench::JsonLine;
using bench::JsonString;
using bench::ParseInt;
using bench::Percentile;
using bench::RandomTag;

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kWsPath = "/ws/subscriptions-r4";
constexpr const char* kRelayChannel = "delivery_bench";
constexpr int kMaxSockets = 20000;

enum class Mode { kRelay, kLatency, kMemory };
enum class Target { kFovea, kRelay };
enum class Shape { kPerSocket, kShared };

struct Options {
  Mode mode = Mode::kLatency;
  Target target = Target::kFovea;
  Shape shape = Shape::kPerSocket;
  int sockets = 1;
  int events = 200;
  int warmup_events = 5;
  double gap_ms = 20;
  double timeout_seconds = 5;
  std::string url = "http://127.0.0.1:8080/fhir/R4";
  int ws_port = 0;  // relay target: the relay's port
  int port = 0;     // relay mode: the port to listen on
  std::string dsn;
  int payload_bytes = 1400;
  int server_pid = 0;
  int connect_window = 32;
  int checkpoint = 1000;
  int warmup_sockets = 500;
  double settle_seconds = 3;
  std::string label;
  int run = 0;
  bench::CpuMeter cpu;  // --cpu-of NAME=PID
};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "delivery_bench: %s\n", message.c_str());
  std::exit(2);
}

void Usage() {
  std::fprintf(stderr,
               "usage: delivery_bench --mode relay --port P --dsn DSN\n"
               "       delivery_bench --mode latency --target fovea|relay --sockets N\n"
               "                      [--shape per-socket|shared] [--events E] [--warmup-events W]\n"
               "                      [--gap-ms G] [--timeout-seconds T] [--url URL]\n"
               "                      [--ws-port P] [--dsn DSN] [--payload-bytes B]\n"
               "                      [--connect-window K] [--label TEXT] [--run I]\n"
               "       delivery_bench --mode memory --target fovea|relay --sockets N --server-pid PID\n"
               "                      [--checkpoint C] [--warmup-sockets S] [--settle-seconds D]\n"
               "                      [--shape per-socket|shared] [--url URL] [--ws-port P]\n");
  std::exit(2);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  bool have_mode = false;
  for (const auto& [flag, value] : bench::FlagValues(argc, argv, Usage)) {
    if (flag == "--mode") {
      if (value == "relay") {
        o.mode = Mode::kRelay;
      } else if (value == "latency") {
        o.mode = Mode::kLatency;
      } else if (value == "memory") {
        o.mode = Mode::kMemory;
      } else {
        Die("--mode must be relay, latency or memory");
      }
      have_mode = true;
    } else if (flag == "--target") {
      if (value != "fovea" && value != "relay") Die("--target must be fovea or relay");
      o.target = value == "fovea" ? Target::kFovea : Target::kRelay;
    } else if (flag == "--shape") {
      if (value != "per-socket" && value != "shared") Die("--shape must be per-socket or shared");
      o.shape = value == "shared" ? Shape::kShared : Shape::kPerSocket;
    } else if (flag == "--sockets") {
      o.sockets = ParseInt(flag, value, 1, kMaxSockets);
    } else if (flag == "--events") {
      o.events = ParseInt(flag, value, 1, 1000000);
    } else if (flag == "--warmup-events") {
      o.warmup_events = ParseInt(flag, value, 0, 1000);
    } else if (flag == "--gap-ms") {
      o.gap_ms = bench::ParseNonNegative(flag, value);
    } else if (flag == "--timeout-seconds") {
      o.timeout_seconds = bench::ParseNonNegative(flag, value);
    } else if (flag == "--url") {
      o.url = value;
    } else if (flag == "--ws-port") {
      o.ws_port = ParseInt(flag, value, 1, 65535);
    } else if (flag == "--port") {
      o.port = ParseInt(flag, value, 1, 65535);
    } else if (flag == "--dsn") {
      o.dsn = value;
    } else if (flag == "--payload-bytes") {
      o.payload_bytes = ParseInt(flag, value, 64, 7900);  // NOTIFY payloads stay below 8000
    } else if (flag == "--server-pid") {
      o.server_pid = ParseInt(flag, value, 1, 1 << 30);
    } else if (flag == "--connect-window") {
      o.connect_window = ParseInt(flag, value, 1, 1024);
    } else if (flag == "--checkpoint") {
      o.checkpoint = ParseInt(flag, value, 0, kMaxSockets);
    } else if (flag == "--warmup-sockets") {
      o.warmup_sockets = ParseInt(flag, value, 0, kMaxSockets);
    } else if (flag == "--settle-seconds") {
      o.settle_seconds = bench::ParseNonNegative(flag, value);
    } else if (flag == "--label") {
      o.label = value;
    } else if (flag == "--run") {
      o.run = ParseInt(flag, value, 0, 1000000);
    } else if (flag == "--cpu-of") {
      o.cpu.Add(flag, value);
    } else {
      Usage();
    }
  }
  if (!have_mode) Usage();
  if (!o.dsn.empty()) bench::CheckDsnIsLocal(o.dsn);
  if (o.mode != Mode::kRelay && o.target == Target::kFovea) {
    Poco::URI uri(o.url);
    if (uri.getScheme() != "http" || !bench::IsLoopbackHost(uri.getHost())) {
      Die("--url must be plain http on a loopback address");
    }
  }
  if (o.mode == Mode::kRelay && (o.port == 0 || o.dsn.empty())) Die("relay needs --port and --dsn");
  if (o.mode != Mode::kRelay && o.target == Target::kRelay && o.ws_port == 0) {
    Die("--target relay needs --ws-port");
  }
  if (o.mode == Mode::kLatency && o.target == Target::kRelay && o.dsn.empty()) {
    Die("--target relay needs --dsn (the baseline's writes)");
  }
  if (o.mode == Mode::kMemory && o.server_pid == 0) Die("--mode memory needs --server-pid");
  return o;
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

long long ReadRssKb(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6);
  }
  return -1;
}

void SetNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL, 0) | O_NONBLOCK); }

// ---------------------------------------------------------------------------------------------
// RFC 6455 framing, both roles, just what this benchmark needs. Messages are whole frames or
// fragments ending in a FIN frame; no extensions.

enum : std::uint8_t {
  kOpContinuation = 0x0,
  kOpText = 0x1,
  kOpClose = 0x8,
  kOpPing = 0x9,
  kOpPong = 0xA,
};

void AppendFrameHeader(std::string& out, std::uint8_t opcode, std::size_t length, bool masked) {
  out += static_cast<char>(0x80 | opcode);
  std::uint8_t mask_bit = masked ? 0x80 : 0;
  if (length < 126) {
    out += static_cast<char>(mask_bit | length);
  } else if (length <= 0xffff) {
    out += static_cast<char>(mask_bit | 126);
    out += static_cast<char>((length >> 8) & 0xff);
    out += static_cast<char>(length & 0xff);
  } else {
    out += static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((length >> shift) & 0xff);
  }
}

// A client's frame: masked (§5.3).
void AppendMaskedFrame(std::string& out, std::uint8_t opcode, std::string_view payload,
                       std::uint32_t mask_seed) {
  AppendFrameHeader(out, opcode, payload.size(), true);
  std::array<char, 4> mask;
  for (int i = 0; i < 4; ++i) mask[i] = static_cast<char>((mask_seed >> (8 * i)) & 0xff);
  out.append(mask.data(), 4);
  for (std::size_t i = 0; i < payload.size(); ++i) out += static_cast<char>(payload[i] ^ mask[i % 4]);
}

// Takes one complete frame off the front of `in` (from `offset`); false when it is not all
// there yet. `payload` is unmasked.
bool TakeFrame(const std::string& in, std::size_t& offset, std::uint8_t& opcode, bool& fin,
               std::string& payload) {
  std::size_t avail = in.size() - offset;
  if (avail < 2) return false;
  auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(in[offset + i]); };
  fin = (byte(0) & 0x80) != 0;
  opcode = byte(0) & 0x0f;
  bool masked = (byte(1) & 0x80) != 0;
  std::uint64_t length = byte(1) & 0x7f;
  std::size_t head = 2;
  if (length == 126) {
    if (avail < 4) return false;
    length = (std::uint64_t{byte(2)} << 8) | byte(3);
    head = 4;
  } else if (length == 127) {
    if (avail < 10) return false;
    length = 0;
    for (int i = 0; i < 8; ++i) length = (length << 8) | byte(2 + i);
    head = 10;
  }
  std::size_t mask_at = head;
  if (masked) head += 4;
  if (avail < head + length) return false;
  payload.assign(in, offset + head, length);
  if (masked) {
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] ^= in[offset + mask_at + i % 4];
  }
  offset += head + length;
  return true;
}

// ---------------------------------------------------------------------------------------------
// The client: many non-blocking sockets on one epoll set, each upgraded and bound, then read.

class ClientPool {
 public:
  // `bind_messages`: one per socket, or a single one every socket sends.
  ClientPool(int port, std::vector<std::string> bind_messages)
      : port_(port), bind_messages_(std::move(bind_messages)), epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (epoll_fd_ < 0) Die("epoll_create1 failed");
  }
  ~ClientPool() {
    CloseAll();
    ::close(epoll_fd_);
  }
  ClientPool(const ClientPool&) = delete;
  ClientPool& operator=(const ClientPool&) = delete;

  // Called on the client thread for every data message on a bound socket, with the time the
  // read that completed it returned.
  std::function<void(int socket, const std::string& message, Clock::time_point at)> on_message;

  // Opens `count` more sockets and binds them, at most `window` still in progress at a time,
  // until all are bound or failed or `deadline` passes. Returns how many of them are bound.
  int OpenAndBind(int count, int window, Clock::time_point deadline) {
    int first = static_cast<int>(conns_.size());
    int target = first + count;
    conns_.reserve(static_cast<std::size_t>(target));
    int bound_before = bound_;
    while (true) {
      int in_progress = static_cast<int>(conns_.size()) - bound_ - failed_ - closed_after_bind_;
      while (static_cast<int>(conns_.size()) < target && in_progress < window) {
        Open();
        ++in_progress;
      }
      if (in_progress == 0 || Clock::now() >= deadline) break;
      Poll(std::min(deadline, Clock::now() + milliseconds(100)));
    }
    return bound_ - bound_before;
  }

  // Runs the loop until `until`, or until done() is true (checked after every batch of events).
  void Pump(Clock::time_point until, const std::function<bool()>& done = {}) {
    while (Clock::now() < until) {
      if (done && done()) return;
      Poll(std::min(until, Clock::now() + milliseconds(10)));
    }
  }

  // Abortive close (RST): leaves no TIME_WAIT behind on this side for the next run.
  void CloseAll() {
    for (Conn& c : conns_) {
      if (c.fd < 0) continue;
      linger lg{1, 0};
      ::setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      ::close(c.fd);
      c.fd = -1;
    }
  }

  int bound() const { return bound_ - closed_after_bind_; }
  int failed() const { return failed_; }
  int closed_after_bind() const { return closed_after_bind_; }
  const std::string& first_error() const { return first_error_; }
  bool IsBound(int i) const { return conns_[static_cast<std::size_t>(i)].state == State::kBound; }
  int size() const { return static_cast<int>(conns_.size()); }

 private:
  enum class State { kConnecting, kUpgrading, kBinding, kBound, kDone };
  struct Conn {
    int fd = -1;
    State state = State::kConnecting;
    bool want_out = false;
    std::string in;
    std::size_t in_offset = 0;
    std::string out;
    std::string message;  // fragments of a message in progress
    std::uint8_t message_opcode = 0;
  };

  void Fail(Conn& c, const std::string& why) {
    if (first_error_.empty()) first_error_ = why;
    if (c.state == State::kBound) {
      ++closed_after_bind_;
    } else if (c.state != State::kDone) {
      ++failed_;
    }
    c.state = State::kDone;
    if (c.fd >= 0) {
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
      ::close(c.fd);
      c.fd = -1;
    }
    std::string().swap(c.in);
    std::string().swap(c.out);
  }

  void Open() {
    conns_.emplace_back();
    Conn& c = conns_.back();
    int index = static_cast<int>(conns_.size()) - 1;
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
      Fail(c, std::string("socket: ") + std::strerror(errno));
      return;
    }
    int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
      Fail(c, std::string("connect: ") + std::strerror(errno));
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = static_cast<std::uint64_t>(index);
    c.want_out = true;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
      Fail(c, std::string("epoll_ctl: ") + std::strerror(errno));
    }
  }

  void Poll(Clock::time_point until) {
    std::array<epoll_event, 256> events;
    int timeout = static_cast<int>(std::max<long long>(
        0, std::chrono::duration_cast<milliseconds>(until - Clock::now()).count()));
    int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout);
    for (int i = 0; i < n; ++i) {
      int index = static_cast<int>(events[static_cast<std::size_t>(i)].data.u64);
      Conn& c = conns_[static_cast<std::size_t>(index)];
      std::uint32_t e = events[static_cast<std::size_t>(i)].events;
      if (c.fd < 0) continue;
      if (c.state == State::kConnecting && (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          Fail(c, std::string("connect: ") + std::strerror(err));
          continue;
        }
        c.state = State::kUpgrading;
        c.out = "GET " + std::string(kWsPath) + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
                "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
      }
      if (e & EPOLLIN) Read(index, c);
      if (c.fd >= 0 && !c.out.empty()) Flush(index, c);
      if (c.fd >= 0 && (e & (EPOLLERR | EPOLLHUP)) && !(e & EPOLLIN)) Fail(c, "connection reset");
    }
  }

  void Flush(int index, Conn& c) {
    while (!c.out.empty()) {
      ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n > 0) {
        c.out.erase(0, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n < 0 && errno == EINTR) continue;
      Fail(c, std::string("send: ") + std::strerror(errno));
      return;
    }
    bool want = !c.out.empty();
    if (want == c.want_out) return;
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? static_cast<std::uint32_t>(EPOLLOUT) : 0u);
    ev.data.u64 = static_cast<std::uint64_t>(index);
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
    c.want_out = want;
  }

  void Read(int index, Conn& c) {
    static char buffer[64 * 1024];
    bool eof = false;
    while (true) {
      ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        c.in.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) {
        eof = true;
        break;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      Fail(c, std::string("recv: ") + std::strerror(errno));
      return;
    }
    Clock::time_point at = Clock::now();
    if (c.state == State::kUpgrading) {
      std::size_t end = c.in.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (eof) Fail(c, "closed during the upgrade");
        return;
      }
      if (c.in.compare(0, 12, "HTTP/1.1 101") != 0) {
        Fail(c, "upgrade refused: " + c.in.substr(0, c.in.find("\r\n")));
        return;
      }
      c.in_offset = end + 4;
      c.state = State::kBinding;
      const std::string& bind = bind_messages_.size() == 1
                                    ? bind_messages_[0]
                                    : bind_messages_[static_cast<std::size_t>(index)];
      AppendMaskedFrame(c.out, kOpText, bind, rng_());
    }
    Decode(index, c, at);
    if (eof && c.fd >= 0) Fail(c, "closed by the server");
  }

  void Decode(int index, Conn& c, Clock::time_point at) {
    std::uint8_t opcode = 0;
    bool fin = false;
    std::string payload;
    while (c.fd >= 0 && TakeFrame(c.in, c.in_offset, opcode, fin, payload)) {
      if (opcode == kOpPing) {
        AppendMaskedFrame(c.out, kOpPong, payload, rng_());
        continue;
      }
      if (opcode == kOpPong) continue;
      if (opcode == kOpClose) {
        Fail(c, "close frame from the server");
        return;
      }
      if (opcode != kOpContinuation) {
        c.message_opcode = opcode;
        c.message.clear();
      }
      c.message += payload;
      if (!fin) continue;
      if (c.state == State::kBinding) {
        if (c.message.find("\"type\":\"error\"") != std::string::npos) {
          Fail(c, "bind refused: " + c.message.substr(0, 200));
          return;
        }
        c.state = State::kBound;
        ++bound_;
      } else if (c.state == State::kBound && on_message) {
        on_message(index, c.message, at);
      }
      std::string().swap(c.message);
    }
    if (c.fd < 0) return;
    // Keep idle sockets small: release the buffers once everything was decoded.
    if (c.in_offset == c.in.size()) {
      std::string().swap(c.in);
      c.in_offset = 0;
    }
  }

  const int port_;
  const std::vector<std::string> bind_messages_;
  const int epoll_fd_;
  std::vector<Conn> conns_;
  int bound_ = 0;
  int failed_ = 0;
  int closed_after_bind_ = 0;
  std::string first_error_;
  std::mt19937 rng_{12345};
};

// ---------------------------------------------------------------------------------------------
// Fovea over HTTP: subscriptions, binding tokens, writes.

class FoveaApi {
 public:
  explicit FoveaApi(const std::string& url) : uri_(url) {}

  struct Answer {
    int status = 0;
    std::string body;
    std::string location;
  };

  // `path` is relative to the FHIR base ("Subscription", "Task/x").
  Answer Request(const std::string& method, const std::string& path, const std::string& body = "",
                 bool minimal = false) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      try {
        if (!session_) {
          session_ = std::make_unique<Poco::Net::HTTPClientSession>(uri_.getHost(), uri_.getPort());
          session_->setKeepAlive(true);
          session_->setTimeout(Poco::Timespan(60, 0));
        }
        Poco::Net::HTTPRequest req(method, uri_.getPath() + "/" + path, Poco::Net::HTTPMessage::HTTP_1_1);
        req.setKeepAlive(true);
        if (minimal) req.set("Prefer", "return=minimal");
        if (!body.empty()) {
          req.setContentType("application/fhir+json");
          req.setContentLength(static_cast<std::streamsize>(body.size()));
        }
        std::ostream& os = session_->sendRequest(req);
        if (!body.empty()) os.write(body.data(), static_cast<std::streamsize>(body.size()));
        Poco::Net::HTTPResponse resp;
        std::istream& is = session_->receiveResponse(resp);
        Answer a;
        a.status = resp.getStatus();
        std::ostringstream content;
        Poco::StreamCopier::copyStream(is, content);
        a.body = content.str();
        a.location = resp.get("Location", "");
        return a;
      } catch (const Poco::Exception& e) {
        session_.reset();
        if (attempt == 1) return {0, e.displayText(), ""};
      }
    }
    return {};
  }

  int port() const { return uri_.getPort(); }

 private:
  Poco::URI uri_;
  std::unique_ptr<Poco::Net::HTTPClientSession> session_;
};

std::string SubscriptionJson(const std::string& encounter) {
  return R"({"resourceType":"Subscription","status":"requested","reason":"delivery_bench",)"
         R"("criteria":"https://fovea.health/fhir/SubscriptionTopic/task-status",)"
         R"("_criteria":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria",)"
         R"("valueString":"Task?encounter=Encounter/)" +
         encounter +
         R"("}]},"channel":{"type":"websocket","payload":"application/fhir+json",)"
         R"("_payload":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content","valueCode":"id-only"}]}}})";
}

std::string TaskJson(const std::string& id, const std::string& encounter) {
  return R"({"resourceType":"Task","id":")" + id +
         R"(","status":"ready","intent":"order","encounter":{"reference":"Encounter/)" + encounter +
         R"("}})";
}

// Creates the subscriptions and one binding token for each socket; the tokens' bind messages
// (one per socket, or one for all in the shared shape) and the subscription ids.
struct FoveaSetup {
  std::vector<std::string> subscription_ids;
  std::vector<std::string> bind_messages;
};

FoveaSetup SetUpFovea(FoveaApi& api, Shape shape, int sockets, const std::string& encounter) {
  FoveaSetup s;
  int subs = shape == Shape::kShared ? 1 : sockets;
  std::string body = SubscriptionJson(encounter);
  for (int i = 0; i < subs; ++i) {
    FoveaApi::Answer a = api.Request("POST", "Subscription", body, true);
    std::size_t at = a.location.find("/Subscription/");
    if (a.status != 201 || at == std::string::npos) {
      Die("creating a Subscription failed: " + std::to_string(a.status) + " " + a.body.substr(0, 300));
    }
    std::string id = a.location.substr(at + 14);
    id = id.substr(0, id.find('/'));
    s.subscription_ids.push_back(id);
    a = api.Request("POST", "Subscription/" + id + "/$get-ws-binding-token");
    auto json = common::ParseJson(a.body);
    std::string token;
    if (a.status == 200 && json.has_value() && json->Find("parameter") != nullptr) {
      for (const common::JsonValue& p : json->Find("parameter")->items()) {
        const common::JsonValue* name = p.Find("name");
        const common::JsonValue* value = p.Find("valueString");
        if (name != nullptr && value != nullptr && name->scalar() == "token") token = value->scalar();
      }
    }
    if (token.empty()) Die("$get-ws-binding-token failed: " + std::to_string(a.status) + " " + a.body.substr(0, 300));
    s.bind_messages.push_back("bind-with-token " + token);
  }
  return s;
}

void TearDownFovea(FoveaApi& api, const FoveaSetup& s) {
  for (const std::string& id : s.subscription_ids) api.Request("DELETE", "Subscription/" + id);
}

// ---------------------------------------------------------------------------------------------
// The baseline's writes: one prepared INSERT whose trigger NOTIFYs the payload at commit.

struct PgFinish {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
struct PgClear {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgFinish>;
using PgResultPtr = std::unique_ptr<PGresult, PgClear>;

PgConnPtr ConnectPg(const std::string& dsn) {
  PgConnPtr conn(PQconnectdb(dsn.c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK) Die(std::string("PostgreSQL: ") + PQerrorMessage(conn.get()));
  return conn;
}

constexpr const char* kRelaySchema =
    "SET client_min_messages = warning;"
    "CREATE TABLE IF NOT EXISTS delivery_bench_event ("
    "  seq bigserial PRIMARY KEY, payload text NOT NULL, at timestamptz NOT NULL DEFAULT now());"
    "CREATE OR REPLACE FUNCTION delivery_bench_notify() RETURNS trigger LANGUAGE plpgsql AS $$"
    "  BEGIN PERFORM pg_notify('delivery_bench', NEW.payload); RETURN NULL; END $$;"
    "DROP TRIGGER IF EXISTS delivery_bench_notify ON delivery_bench_event;"
    "CREATE TRIGGER delivery_bench_notify AFTER INSERT ON delivery_bench_event"
    "  FOR EACH ROW EXECUTE FUNCTION delivery_bench_notify();";
constexpr const char* kRelayInsert = "INSERT INTO delivery_bench_event (payload) VALUES ($1)";

std::string RelayPayload(const std::string& marker, int bytes) {
  std::string p = R"({"resourceType":"Bundle","type":"history","event":")" + marker + R"(","pad":")";
  std::string tail = "\"}";
  if (static_cast<int>(p.size() + tail.size()) < bytes) {
    p.append(static_cast<std::size_t>(bytes) - p.size() - tail.size(), 'x');
  }
  return p + tail;
}

// ---------------------------------------------------------------------------------------------
// The writer thread: one write per Start(k), timed from just before it is sent to its answer.

class Writer {
 public:
  using WriteFn = std::function<bool(int k)>;
  Writer(int total, WriteFn write) : write_(std::move(write)), sent_(total), acked_(total), ok_(total, false) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Writer() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void Start(int k) {
    {
      std::lock_guard lock(mu_);
      next_ = k;
    }
    cv_.notify_all();
  }
  bool Done(int k) const { return done_.load(std::memory_order_acquire) > k; }

  // Valid once Done(k).
  Clock::time_point sent(int k) const { return sent_[static_cast<std::size_t>(k)]; }
  Clock::time_point acked(int k) const { return acked_[static_cast<std::size_t>(k)]; }
  bool ok(int k) const { return ok_[static_cast<std::size_t>(k)]; }

 private:
  void Run() {
    while (true) {
      int k;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || next_ >= 0; });
        if (stopping_) return;
        k = next_;
        next_ = -1;
      }
      auto i = static_cast<std::size_t>(k);
      sent_[i] = Clock::now();
      ok_[i] = write_(k);
      acked_[i] = Clock::now();
      done_.store(k + 1, std::memory_order_release);
    }
  }

  WriteFn write_;
  std::vector<Clock::time_point> sent_, acked_;
  std::vector<bool> ok_;  // written by the writer before done_ is released
  std::mutex mu_;
  std::condition_variable cv_;
  int next_ = -1;  // GUARDED_BY(mu_)
  bool stopping_ = false;
  std::atomic<int> done_{0};
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------------
// --mode latency

int RunLatency(const Options& o) {
  const std::string tag = RandomTag();
  const std::string encounter = "dlv-" + tag;
  const std::string marker_prefix = "Task/dlv-" + tag + "-";
  const int n = o.sockets;
  const int total = o.warmup_events + o.events;
  Clock::time_point setup_start = Clock::now();

  std::unique_ptr<FoveaApi> setup_api;
  FoveaSetup fovea;
  std::vector<std::string> bind_messages;
  int ws_port = o.ws_port;
  if (o.target == Target::kFovea) {
    setup_api = std::make_unique<FoveaApi>(o.url);
    fovea = SetUpFovea(*setup_api, o.shape, n, encounter);
    bind_messages = fovea.bind_messages;
    ws_port = setup_api->port();
  } else {
    bind_messages = {"bind-with-token relay"};
  }

  ClientPool pool(ws_port, bind_messages);
  int bound = pool.OpenAndBind(n, o.connect_window, Clock::now() + std::chrono::seconds(300));
  double setup_seconds = std::chrono::duration<double>(Clock::now() - setup_start).count();
  if (bound < n) {
    JsonLine()
        .Add("mode", "latency").Add("target", o.target == Target::kFovea ? "fovea" : "relay")
        .Add("sockets", n).Add("bound", bound).Add("error", "only " + std::to_string(bound) +
             " of " + std::to_string(n) + " sockets bound: " + pool.first_error())
        .Add("label", o.label).Add("run", o.run).Print();
    if (setup_api) TearDownFovea(*setup_api, fovea);
    return 1;
  }

  // arrivals[s * total + k]: when socket s got event k (time_point{} = not yet).
  std::vector<Clock::time_point> arrivals(static_cast<std::size_t>(n) * static_cast<std::size_t>(total));
  std::vector<int> arrived(static_cast<std::size_t>(total), 0);
  std::vector<double> frame_bytes;
  long long unmatched = 0;
  pool.on_message = [&](int s, const std::string& message, Clock::time_point at) {
    std::size_t pos = message.find(marker_prefix);
    if (pos == std::string::npos) {
      ++unmatched;  // heartbeats, or another run's events
      return;
    }
    int k = std::atoi(message.c_str() + pos + marker_prefix.size());
    if (k < 0 || k >= total) return;
    Clock::time_point& slot = arrivals[static_cast<std::size_t>(s) * static_cast<std::size_t>(total) +
                                       static_cast<std::size_t>(k)];
    if (slot != Clock::time_point{}) return;
    slot = at;
    ++arrived[static_cast<std::size_t>(k)];
    if (k >= o.warmup_events && frame_bytes.size() < 10000) frame_bytes.push_back(static_cast<double>(message.size()));
  };

  // The writer's own connection: a second HTTP session (fovea) or a libpq one (relay).
  std::unique_ptr<FoveaApi> write_api;
  PgConnPtr pg;
  Writer::WriteFn write;
  if (o.target == Target::kFovea) {
    write_api = std::make_unique<FoveaApi>(o.url);
    write = [&](int k) {
      std::string id = "dlv-" + tag + "-" + std::to_string(k);
      return write_api->Request("PUT", "Task/" + id, TaskJson(id, encounter), true).status == 201;
    };
  } else {
    pg = ConnectPg(o.dsn);
    PgResultPtr r(PQexec(pg.get(), kRelaySchema));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) Die(std::string("relay schema: ") + PQerrorMessage(pg.get()));
    r.reset(PQprepare(pg.get(), "insert", kRelayInsert, 1, nullptr));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) Die(std::string("prepare: ") + PQerrorMessage(pg.get()));
    write = [&](int k) {
      std::string payload = RelayPayload(marker_prefix + std::to_string(k), o.payload_bytes);
      const char* values[1] = {payload.c_str()};
      PgResultPtr res(PQexecPrepared(pg.get(), "insert", 1, values, nullptr, nullptr, 0));
      return PQresultStatus(res.get()) == PGRES_COMMAND_OK;
    };
  }

  int write_errors = 0;
  bench::CpuMeter cpu = o.cpu;  // sampled when the measured events start
  {
    Writer writer(total, write);
    for (int k = 0; k < total; ++k) {
      pool.Pump(Clock::now() + std::chrono::microseconds(static_cast<long long>(o.gap_ms * 1000)));
      if (k == o.warmup_events) cpu.Start();
      writer.Start(k);
      // Warm-up events also wait for the matcher to know every new subscription.
      double limit = k < o.warmup_events ? std::max(o.timeout_seconds, 10.0) : o.timeout_seconds;
      auto deadline = Clock::now() + std::chrono::microseconds(static_cast<long long>(limit * 1e6));
      auto all_in = [&] { return arrived[static_cast<std::size_t>(k)] >= pool.bound() && writer.Done(k); };
      pool.Pump(deadline, all_in);
      // The write itself must be answered before the next one goes, whatever the sockets got.
      pool.Pump(Clock::now() + std::chrono::seconds(60), [&] { return writer.Done(k); });
      if (!writer.Done(k)) Die("a write got no answer within 60 s");
      if (!writer.ok(k)) ++write_errors;
    }
    // Late frames of the last event (counted as late, not lost, below).
    pool.Pump(Clock::now() + milliseconds(200));
    std::vector<std::pair<std::string, double>> cpu_used = cpu.Used();

    std::vector<double> pairs, fanout, first, spread, writes;
    long long lost = 0;
    for (int k = o.warmup_events; k < total; ++k) {
      Clock::time_point t0 = writer.sent(k);
      writes.push_back(Ms(writer.acked(k) - t0));
      double last = -1, earliest = -1;
      bool complete = true;
      for (int s = 0; s < n; ++s) {
        Clock::time_point at = arrivals[static_cast<std::size_t>(s) * static_cast<std::size_t>(total) +
                                        static_cast<std::size_t>(k)];
        if (at == Clock::time_point{}) {
          ++lost;
          complete = false;
          continue;
        }
        double ms = Ms(at - t0);
        pairs.push_back(ms);
        last = std::max(last, ms);
        earliest = earliest < 0 ? ms : std::min(earliest, ms);
      }
      if (complete) fanout.push_back(last);
      if (earliest >= 0) first.push_back(earliest);
      if (complete && earliest >= 0) spread.push_back(last - earliest);
    }
    for (auto* v : {&pairs, &fanout, &first, &spread, &writes, &frame_bytes}) std::sort(v->begin(), v->end());

    JsonLine line;
    line.Add("mode", "latency")
        .Add("target", o.target == Target::kFovea ? "fovea" : "relay")
        .Add("shape", o.target == Target::kRelay ? "relay" : (o.shape == Shape::kShared ? "shared" : "per-socket"))
        .Add("sockets", n)
        .Add("bound", bound)
        .Add("events", o.events)
        .Add("warmup_events", o.warmup_events)
        .Add("gap_ms", o.gap_ms)
        .Add("pairs", static_cast<long long>(pairs.size()))
        .Add("lost", lost)
        .Add("closed_during_run", pool.closed_after_bind())
        .Add("write_errors", write_errors)
        .Add("unmatched_frames", unmatched)
        .Add("p50_ms", Percentile(pairs, 50))
        .Add("p90_ms", Percentile(pairs, 90))
        .Add("p99_ms", Percentile(pairs, 99))
        .Add("max_ms", pairs.empty() ? -1.0 : pairs.back())
        .Add("fanout_p50_ms", Percentile(fanout, 50))
        .Add("fanout_p99_ms", Percentile(fanout, 99))
        .Add("first_p50_ms", Percentile(first, 50))
        .Add("first_p99_ms", Percentile(first, 99))
        .Add("spread_p50_ms", Percentile(spread, 50))
        .Add("spread_p99_ms", Percentile(spread, 99))
        .Add("write_p50_ms", Percentile(writes, 50))
        .Add("write_p99_ms", Percentile(writes, 99))
        .Add("frame_bytes", Percentile(frame_bytes, 50))
        .Add("setup_seconds", setup_seconds)
        .Add("label", o.label)
        .Add("run", o.run);
    for (const auto& [name, seconds] : cpu_used) {
      line.Add(name + "_cpu_ms_per_event", seconds * 1000 / std::max(1, o.events));
    }
    if (!pool.first_error().empty()) line.Add("first_error", pool.first_error());
    line.Print();
  }
  pool.CloseAll();
  if (setup_api) TearDownFovea(*setup_api, fovea);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// --mode memory

int RunMemory(const Options& o) {
  const std::string encounter = "dlv-mem-" + RandomTag();
  std::unique_ptr<FoveaApi> api;
  FoveaSetup fovea;
  std::vector<std::string> bind_messages;
  int ws_port = o.ws_port;
  if (o.target == Target::kFovea) {
    api = std::make_unique<FoveaApi>(o.url);
    fovea = SetUpFovea(*api, o.shape, o.sockets, encounter);
    bind_messages = fovea.bind_messages;
    ws_port = api->port();
  } else {
    bind_messages = {"bind-with-token relay"};
  }
  auto settle = [&](ClientPool& pool) {
    pool.Pump(Clock::now() + std::chrono::microseconds(static_cast<long long>(o.settle_seconds * 1e6)));
  };

  // Warm-up: sockets opened, bound and closed first, so that the HTTP threads, buffers and
  // pools that upgrades and binds use are in RSS before "before" is read.
  if (o.warmup_sockets > 0) {
    int warm = o.warmup_sockets;
    std::vector<std::string> warm_messages = bind_messages;
    if (warm_messages.size() > 1) {
      warm = std::min(warm, static_cast<int>(warm_messages.size()));
      warm_messages.resize(static_cast<std::size_t>(warm));
    }
    ClientPool pool(ws_port, warm_messages);
    pool.OpenAndBind(warm, o.connect_window, Clock::now() + std::chrono::seconds(120));
    settle(pool);
  }
  // Let the server see the warm-up sockets' resets and free them.
  std::this_thread::sleep_for(std::chrono::microseconds(static_cast<long long>(o.settle_seconds * 1e6)));
  long long before = ReadRssKb(o.server_pid);

  ClientPool pool(ws_port, bind_messages);
  Clock::time_point start = Clock::now();
  long long at_checkpoint = -1;
  int checkpoint = o.checkpoint > 0 && o.checkpoint < o.sockets ? o.checkpoint : 0;
  int bound = 0;
  if (checkpoint > 0) {
    bound += pool.OpenAndBind(checkpoint, o.connect_window, Clock::now() + std::chrono::seconds(300));
    settle(pool);
    at_checkpoint = ReadRssKb(o.server_pid);
  }
  bound += pool.OpenAndBind(o.sockets - pool.size(), o.connect_window, Clock::now() + std::chrono::seconds(600));
  double bind_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  settle(pool);
  long long after = ReadRssKb(o.server_pid);
  int still_bound = pool.bound();

  JsonLine line;
  line.Add("mode", "memory")
      .Add("target", o.target == Target::kFovea ? "fovea" : "relay")
      .Add("shape", o.target == Target::kRelay ? "relay" : (o.shape == Shape::kShared ? "shared" : "per-socket"))
      .Add("sockets", o.sockets)
      .Add("bound", bound)
      .Add("still_bound", still_bound)
      .Add("failed", pool.failed())
      .Add("rss_before_kb", before)
      .Add("checkpoint", checkpoint)
      .Add("rss_checkpoint_kb", at_checkpoint)
      .Add("rss_after_kb", after)
      .Add("per_socket_kb", still_bound > 0 ? static_cast<double>(after - before) / still_bound : -1.0)
      .Add("slope_kb", checkpoint > 0 && still_bound > checkpoint
                           ? static_cast<double>(after - at_checkpoint) / (still_bound - checkpoint)
                           : -1.0)
      .Add("bind_seconds", bind_seconds)
      .Add("label", o.label)
      .Add("run", o.run);
  if (!pool.first_error().empty()) line.Add("first_error", pool.first_error());
  line.Print();
  pool.CloseAll();
  if (api) TearDownFovea(*api, fovea);
  return still_bound == o.sockets ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// --mode relay: the baseline server.

std::string AcceptKey(const std::string& key) {
  std::string in = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(in.data()), in.size(), digest);
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
}

class Relay {
 public:
  Relay(int port, const std::string& dsn) : epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (epoll_fd_ < 0) Die("epoll_create1 failed");
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 4096) != 0) {
      Die(std::string("relay cannot listen: ") + std::strerror(errno));
    }
    Watch(listen_fd_, EPOLLIN);
    pg_ = ConnectPg(dsn);
    PgResultPtr r(PQexec(pg_.get(), (std::string("LISTEN ") + kRelayChannel).c_str()));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) Die(std::string("LISTEN: ") + PQerrorMessage(pg_.get()));
    SetNonBlocking(PQsocket(pg_.get()));
    Watch(PQsocket(pg_.get()), EPOLLIN);
  }

  [[noreturn]] void Run() {
    std::array<epoll_event, 256> events;
    while (true) {
      int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), -1);
      for (int i = 0; i < n; ++i) {
        int fd = events[static_cast<std::size_t>(i)].data.fd;
        std::uint32_t e = events[static_cast<std::size_t>(i)].events;
        if (fd == listen_fd_) {
          AcceptAll();
        } else if (fd == PQsocket(pg_.get())) {
          Notified();
        } else {
          Handle(fd, e);
        }
      }
    }
  }

 private:
  struct Conn {
    bool open = false;  // upgraded
    bool want_out = false;
    std::string in;
    std::string out;
  };

  void Watch(int fd, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) Die("epoll_ctl failed");
  }

  void AcceptAll() {
    while (true) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or out of descriptors (the client sees the failure)
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (static_cast<std::size_t>(fd) >= conns_.size()) conns_.resize(static_cast<std::size_t>(fd) + 1);
      conns_[static_cast<std::size_t>(fd)] = std::make_unique<Conn>();
      Watch(fd, EPOLLIN);
    }
  }

  void Drop(int fd) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    conns_[static_cast<std::size_t>(fd)].reset();
  }

  void Handle(int fd, std::uint32_t e) {
    Conn* c = conns_[static_cast<std::size_t>(fd)].get();
    if (c == nullptr) return;
    if (e & EPOLLIN) {
      char buffer[16 * 1024];
      while (true) {
        ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n > 0) {
          c->in.append(buffer, static_cast<std::size_t>(n));
          continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n < 0 && errno == EINTR) continue;
        Drop(fd);  // EOF or error
        return;
      }
      if (!c->open) {
        std::size_t end = c->in.find("\r\n\r\n");
        if (end == std::string::npos) return;
        std::string head = c->in.substr(0, end);
        std::string key;
        std::size_t k = head.find("Sec-WebSocket-Key:");
        if (k != std::string::npos) {
          std::size_t v = head.find_first_not_of(' ', k + 18);
          key = head.substr(v, head.find("\r\n", v) - v);
        }
        if (key.empty()) {
          Drop(fd);
          return;
        }
        c->out += "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Accept: " + AcceptKey(key) + "\r\n\r\n";
        c->in.erase(0, end + 4);
        c->open = true;
      }
      // Client frames: a text message is the bind (answered with a handshake), ping gets a
      // pong, close ends the connection.
      std::size_t offset = 0;
      std::uint8_t opcode = 0;
      bool fin = false;
      std::string payload;
      while (TakeFrame(c->in, offset, opcode, fin, payload)) {
        if (opcode == kOpText) {
          AppendFrameHeader(c->out, kOpText, 20, false);
          c->out += R"({"type":"handshake"})";
        } else if (opcode == kOpPing) {
          AppendFrameHeader(c->out, kOpPong, payload.size(), false);
          c->out += payload;
        } else if (opcode == kOpClose) {
          Drop(fd);
          return;
        }
      }
      c->in.erase(0, offset);
      if (c->in.empty()) std::string().swap(c->in);
    }
    Flush(fd, *c);
  }

  void Flush(int fd, Conn& c) {
    while (!c.out.empty()) {
      ssize_t n = ::send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n > 0) {
        c.out.erase(0, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n < 0 && errno == EINTR) continue;
      Drop(fd);
      return;
    }
    if (c.out.empty()) std::string().swap(c.out);
    bool want = !c.out.empty();
    if (want == c.want_out) return;
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? static_cast<std::uint32_t>(EPOLLOUT) : 0u);
    ev.data.fd = fd;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
    c.want_out = want;
  }

  void Notified() {
    if (PQconsumeInput(pg_.get()) == 0) Die(std::string("relay lost PostgreSQL: ") + PQerrorMessage(pg_.get()));
    while (PGnotify* n = PQnotifies(pg_.get())) {
      std::string_view payload(n->extra);
      frame_.clear();
      AppendFrameHeader(frame_, kOpText, payload.size(), false);
      frame_.append(payload);
      for (std::size_t fd = 0; fd < conns_.size(); ++fd) {
        Conn* c = conns_[fd].get();
        if (c == nullptr || !c->open) continue;
        c->out.append(frame_);
        Flush(static_cast<int>(fd), *c);
      }
      PQfreemem(n);
    }
  }

  const int epoll_fd_;
  int listen_fd_ = -1;
  PgConnPtr pg_;
  std::vector<std::unique_ptr<Conn>> conns_;  // by descriptor
  std::string frame_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);
  switch (o.mode) {
    case Mode::kRelay: {
      Relay relay(o.port, o.dsn);
      std::fprintf(stderr, "delivery_bench: relay listening on 127.0.0.1:%d\n", o.port);
      relay.Run();
    }
    case Mode::kLatency:
      return RunLatency(o);
    case Mode::kMemory:
      return RunMemory(o);
  }
  return 2;
}
