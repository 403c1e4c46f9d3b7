#include "subscriptions/websocket/socket_loop.h"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#include "common/log.h"
#include "common/thread_name.h"

namespace subscriptions::websocket {
namespace {

using Io = NonBlockingStream::Io;

constexpr std::size_t kReadChunk = 16 * 1024;
// Reads per readiness event before the loop moves on to other sockets (fairness); a plain
// socket with more bytes stays readable, a TLS session with buffered records goes to again_.
constexpr int kReadBudget = 4;
constexpr int kMaxEvents = 256;
// A write buffer whose sent prefix is this large (and over half of it) is compacted.
constexpr std::size_t kCompactAbove = 64 * 1024;

// The frame header AppendFrame writes for a payload of `size` bytes.
std::size_t FrameHeaderSize(std::size_t size) { return size < 126 ? 2 : size <= 0xFFFF ? 4 : 10; }

// The timer sweep's period: a quarter of the shortest timer, between 50 ms and 1 s.
std::chrono::milliseconds SweepPeriod(const SocketLoopOptions& o) {
  auto shortest = std::min({o.ping_interval, o.idle_timeout, o.close_timeout});
  auto quarter = std::chrono::duration_cast<std::chrono::milliseconds>(shortest) / 4;
  return std::clamp(quarter, std::chrono::milliseconds(50), std::chrono::milliseconds(1000));
}

void ReleaseString(std::string& s) { std::string().swap(s); }

}  // namespace

std::size_t DefaultMaxConnections(std::size_t open_file_limit) {
  std::size_t reserve = std::max<std::size_t>(512, open_file_limit / 8);
  return open_file_limit > reserve + 16 ? open_file_limit - reserve : 16;
}

struct SocketLoop::Connection {
  enum class Phase : std::uint8_t {
    kOpen,
    kClosing,   // our close frame is queued or sent; waiting for the peer's (data is ignored)
    kFailing,   // our close frame is queued; the connection ends once it is written
    kDraining,  // our sending side is shut down; reading (and discarding) until the peer's EOF
    kFinished,  // ended; destroyed at the end of the loop iteration
  };

  Connection(ConnectionId id, std::unique_ptr<NonBlockingStream> s, std::string initial_bytes,
             std::size_t max_message_bytes)
      : id(id),
        stream(std::move(s)),
        decoder(FrameDecoder::kServer, max_message_bytes),
        initial(std::move(initial_bytes)) {}

  const ConnectionId id;

  // Loop thread only (filled in by Adopt before the loop first sees the connection).
  std::unique_ptr<NonBlockingStream> stream;
  FrameDecoder decoder;
  std::string initial;  // bytes read by the HTTP server; fed once, at registration
  std::string out;      // frames to write, from out_offset
  std::size_t out_offset = 0;
  Clock::time_point last_received{};
  Clock::time_point next_ping{};
  Clock::time_point close_deadline{};
  std::size_t live_index = 0;
  std::uint32_t interest = 0;  // the epoll events registered
  Phase phase = Phase::kOpen;
  bool write_blocked = false;     // the last write wanted a writable socket
  bool write_needs_read = false;  // TLS: the last write wanted a readable socket
  bool read_needs_write = false;  // TLS: the last read wanted a writable socket
  bool close_received = false;
  bool in_again = false;

  // Queued bytes not yet taken by the kernel (inbox and out): written by SendText under mu_
  // and by the loop thread, read by both.
  std::atomic<std::size_t> queued{0};

  // GUARDED_BY(mu_).
  std::string inbox;             // frames from SendText, not yet moved to `out`
  bool accepting = true;         // false once closing: SendText and Close refuse
  bool touched = false;          // listed in touched_
  std::uint16_t close_code = 0;  // a close requested by Close() or a queue overflow
  std::string close_reason;
};

SocketLoop::SocketLoop(SocketCallbacks callbacks, SocketLoopOptions options)
    : callbacks_(std::move(callbacks)), options_(options) {}

SocketLoop::~SocketLoop() { Stop(); }

common::Status SocketLoop::Start() {
  std::lock_guard lock(mu_);
  if (running_ || stopping_) return common::InternalError("The WebSocket loop was already started");
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event wake{};
  wake.events = EPOLLIN;
  wake.data.ptr = nullptr;  // marks the eventfd; connections carry their own pointer
  if (epoll_fd_ < 0 || wake_fd_ < 0 ||
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake) != 0) {
    std::string reason = std::strerror(errno);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
    epoll_fd_ = wake_fd_ = -1;
    return common::InternalError("Cannot set up the WebSocket loop: " + reason);
  }
  read_buffer_ = std::make_unique<char[]>(kReadChunk);
  max_connections_ = options_.max_connections;
  if (max_connections_ == 0) {
    rlimit limit{};
    std::size_t files = 1024;  // the usual default soft limit, if the system will not say
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
      files = static_cast<std::size_t>(limit.rlim_cur);
    } else if (limit.rlim_cur == RLIM_INFINITY) {
      files = std::size_t{1} << 20;
    }
    max_connections_ = DefaultMaxConnections(files);
  }
  running_ = true;
  thread_ = std::thread([this] {
    common::NameThisThread("fovea-ws-loop");
    Run();
  });
  return common::Status::Ok();
}

void SocketLoop::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
    running_ = false;
    stopping_ = true;
    Wake();
  }
  thread_.join();
  ::close(epoll_fd_);
  ::close(wake_fd_);
  epoll_fd_ = wake_fd_ = -1;
}

void SocketLoop::Wake() {
  if (woken_) return;
  woken_ = true;
  std::uint64_t one = 1;
  // Cannot fail short of a programming error: the counter would need 2^64-1 wake-ups.
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void SocketLoop::Touch(Connection& c) {
  TouchQuietly(c);
  Wake();
}

void SocketLoop::TouchQuietly(Connection& c) {
  if (!c.touched) {
    c.touched = true;
    touched_.push_back(&c);
  }
}

bool SocketLoop::Admit() {
  std::lock_guard lock(mu_);
  if (!running_ || stopping_) return false;
  if (connections_.size() + reserved_ >= max_connections_) return false;
  ++reserved_;
  return true;
}

void SocketLoop::CancelAdmission() {
  std::lock_guard lock(mu_);
  if (reserved_ > 0) --reserved_;
}

std::size_t SocketLoop::max_connections() const {
  std::lock_guard lock(mu_);
  return max_connections_;
}

ConnectionId SocketLoop::Adopt(std::unique_ptr<NonBlockingStream> stream,
                               std::string initial_bytes) {
  std::lock_guard lock(mu_);
  bool admitted = reserved_ > 0;
  if (admitted) --reserved_;
  if (!stream) return 0;
  if (!running_ || stopping_) return 0;  // `stream` closes on return
  if (!admitted && connections_.size() >= max_connections_) {
    common::LogWarning("websocket: " + std::to_string(max_connections_) +
                       " sockets are open; a connection was refused");
    return 0;
  }
  ConnectionId id = next_id_++;
  auto c = std::make_unique<Connection>(id, std::move(stream), std::move(initial_bytes),
                                        options_.max_message_bytes);
  adopted_.push_back(c.get());
  connections_.emplace(id, std::move(c));
  Wake();
  return id;
}

bool SocketLoop::SendText(ConnectionId id, std::string_view text) {
  std::lock_guard lock(mu_);
  bool accepted = QueueText(id, text);
  if (!touched_.empty()) Wake();
  return accepted;
}

void SocketLoop::SendTexts(const std::vector<Outgoing>& outgoing, std::vector<bool>& accepted) {
  accepted.assign(outgoing.size(), false);
  std::lock_guard lock(mu_);
  for (std::size_t i = 0; i < outgoing.size(); ++i) {
    accepted[i] = QueueText(outgoing[i].connection, outgoing[i].text);
  }
  if (!touched_.empty()) Wake();
}

bool SocketLoop::QueueText(ConnectionId id, std::string_view text) {
  auto it = connections_.find(id);
  if (it == connections_.end() || !it->second->accepting) return false;
  Connection& c = *it->second;
  std::size_t frame = FrameHeaderSize(text.size()) + text.size();
  if (c.queued.load(std::memory_order_relaxed) + frame > options_.max_queued_bytes) {
    c.accepting = false;
    c.close_code = kClosePolicyViolation;
    c.close_reason = "send queue full";
    TouchQuietly(c);
    return false;
  }
  AppendFrame(Opcode::kText, text, c.inbox);
  c.queued.fetch_add(frame, std::memory_order_relaxed);
  TouchQuietly(c);
  return true;
}

void SocketLoop::Close(ConnectionId id, std::uint16_t code, std::string reason) {
  std::lock_guard lock(mu_);
  auto it = connections_.find(id);
  if (it == connections_.end() || !it->second->accepting) return;
  Connection& c = *it->second;
  c.accepting = false;
  c.close_code = code;
  c.close_reason = std::move(reason);
  Touch(c);
}

std::size_t SocketLoop::size() const {
  std::lock_guard lock(mu_);
  return connections_.size();
}

void SocketLoop::Run() {
  epoll_event events[kMaxEvents];
  const auto sweep_period = SweepPeriod(options_);
  Clock::time_point next_sweep = Clock::now() + sweep_period;
  while (true) {
    int timeout = 0;
    if (again_.empty()) {
      auto wait = std::chrono::ceil<std::chrono::milliseconds>(next_sweep - Clock::now());
      timeout = static_cast<int>(std::max<std::chrono::milliseconds::rep>(wait.count(), 0));
    }
    int n = ::epoll_wait(epoll_fd_, events, kMaxEvents, timeout);
    if (n < 0 && errno != EINTR) {
      common::LogError(std::string("WebSocket loop: epoll_wait failed: ") + std::strerror(errno));
      n = 0;  // the sweep and the stop deadline still run
    }
    now_ = Clock::now();
    for (int i = 0; i < n; ++i) {
      auto* c = static_cast<Connection*>(events[i].data.ptr);
      if (c == nullptr) {
        std::uint64_t count;
        [[maybe_unused]] ssize_t r = ::read(wake_fd_, &count, sizeof count);
        continue;
      }
      HandleEvents(*c, events[i].events);
    }
    std::vector<Connection*> again;
    again.swap(again_);
    for (Connection* c : again) {
      c->in_again = false;
      if (c->phase != Connection::Phase::kFinished) ReadFrom(*c);
    }
    TakeCrossThreadWork();
    if (now_ >= next_sweep) {
      Sweep();
      next_sweep = now_ + sweep_period;
    }
    Bury();
    if (shutting_down_) {
      if (live_.empty()) break;
      if (now_ >= stop_deadline_) {
        for (std::size_t i = live_.size(); i-- > 0;) Finish(*live_[i], true);
        Bury();
        break;
      }
    }
  }
}

void SocketLoop::TakeCrossThreadWork() {
  struct Request {
    Connection* c;
    std::uint16_t close_code;
    std::string close_reason;
  };
  std::vector<Connection*> adopted;
  std::vector<Request> touched;
  bool stopping;
  {
    std::lock_guard lock(mu_);
    woken_ = false;
    adopted.swap(adopted_);
    touched.reserve(touched_.size());
    for (Connection* c : touched_) {
      c->touched = false;
      if (!c->inbox.empty()) {
        if (c->out_offset == c->out.size()) {
          c->out.swap(c->inbox);
          c->out_offset = 0;
          ReleaseString(c->inbox);
        } else {
          c->out += c->inbox;
          ReleaseString(c->inbox);
        }
      }
      touched.push_back({c, c->close_code, std::move(c->close_reason)});
      c->close_code = 0;
    }
    touched_.clear();
    stopping = stopping_;
  }
  for (Connection* c : adopted) Register(*c);
  for (Request& r : touched) {
    if (r.c->phase == Connection::Phase::kFinished) continue;
    if (r.close_code != 0) {
      StartClose(*r.c, r.close_code, r.close_reason, true);
    } else {
      WriteTo(*r.c);
    }
  }
  if (stopping && !shutting_down_) BeginShutdown();
}

void SocketLoop::BeginShutdown() {
  shutting_down_ = true;
  stop_deadline_ = now_ + options_.close_timeout;
  for (std::size_t i = live_.size(); i-- > 0;) {
    StartClose(*live_[i], kCloseGoingAway, "server shutting down", true);
  }
}

void SocketLoop::Register(Connection& c) {
  c.last_received = now_;
  c.next_ping = now_ + options_.ping_interval;
  c.live_index = live_.size();
  live_.push_back(&c);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &c;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.stream->fd(), &ev) != 0) {
    common::LogError(std::string("WebSocket loop: cannot watch a socket: ") + std::strerror(errno));
    Finish(c, true);
    return;
  }
  c.interest = EPOLLIN;
  if (!c.initial.empty()) {
    std::string initial = std::move(c.initial);
    ReleaseString(c.initial);
    Deliver(c, initial);
  }
  if (shutting_down_) StartClose(c, kCloseGoingAway, "server shutting down", true);
  // TLS records that arrived with the request head are already inside the session, where
  // epoll cannot see them.
  if (c.phase != Connection::Phase::kFinished && c.stream->HasPendingInput()) ReadFrom(c);
}

void SocketLoop::HandleEvents(Connection& c, std::uint32_t events) {
  if (c.phase == Connection::Phase::kFinished) return;
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) {
    ReadFrom(c);
    if (c.phase != Connection::Phase::kFinished && c.write_needs_read) WriteTo(c);
  }
  if (c.phase != Connection::Phase::kFinished && (events & EPOLLOUT) != 0) {
    if (c.read_needs_write) ReadFrom(c);
    if (c.phase != Connection::Phase::kFinished) WriteTo(c);
  }
}

void SocketLoop::ReadFrom(Connection& c) {
  c.read_needs_write = false;
  for (int i = 0; i < kReadBudget; ++i) {
    if (c.phase == Connection::Phase::kFinished) return;
    auto r = c.stream->Read(read_buffer_.get(), kReadChunk);
    switch (r.status) {
      case Io::kOk:
        c.last_received = now_;
        Deliver(c, std::string_view(read_buffer_.get(), r.bytes));
        continue;
      case Io::kWantRead:
        UpdateInterest(c);
        return;
      case Io::kWantWrite:
        c.read_needs_write = true;
        UpdateInterest(c);
        return;
      case Io::kClosed:
        Finish(c, false);  // the peer's EOF (after a close handshake, or 1006 without one)
        return;
    }
  }
  if (c.phase != Connection::Phase::kFinished && !c.in_again && c.stream->HasPendingInput()) {
    c.in_again = true;
    again_.push_back(&c);
  }
}

void SocketLoop::Deliver(Connection& c, std::string_view bytes) {
  // After a protocol error, and once our close frame has gone out without waiting for the
  // peer's, input is read only to be discarded.
  bool decoding = c.phase == Connection::Phase::kOpen || c.phase == Connection::Phase::kClosing;
  if (!decoding || c.decoder.failed()) return;
  c.decoder.Feed(bytes);
  Message message;
  while (c.phase == Connection::Phase::kOpen || c.phase == Connection::Phase::kClosing) {
    switch (c.decoder.Next(message)) {
      case FrameDecoder::State::kNeedMore:
        return;
      case FrameDecoder::State::kError: {
        const ProtocolError& error = c.decoder.error();
        if (c.phase == Connection::Phase::kOpen) {
          StartClose(c, error.code, error.reason, false);
        } else {
          c.phase = Connection::Phase::kFailing;  // our close frame is queued already
          if (c.out_offset == c.out.size()) ShutDown(c);
        }
        return;
      }
      case FrameDecoder::State::kMessage:
        OnMessage(c, message);
        break;
    }
  }
}

void SocketLoop::OnMessage(Connection& c, Message& message) {
  bool open = c.phase == Connection::Phase::kOpen;
  switch (message.opcode) {
    case Opcode::kText:
      if (open && callbacks_.on_text) callbacks_.on_text(c.id, std::move(message.payload));
      break;
    case Opcode::kBinary:
      if (open) StartClose(c, kCloseUnsupportedData, "binary messages are not supported", true);
      break;
    case Opcode::kPing:
      if (open && QueueControl(c, Opcode::kPong, message.payload)) WriteTo(c);
      break;
    case Opcode::kPong:
    case Opcode::kContinuation:
      break;
    case Opcode::kClose: {
      c.close_received = true;
      if (open) {
        CloseInfo info;
        (void)ParseClosePayload(message.payload, info);  // the decoder has checked it
        StartClose(c, info.code == kCloseNoStatus ? kCloseNormal : info.code, "", true);
      } else if (c.out_offset == c.out.size()) {
        ShutDown(c);  // both close frames are out: the server closes TCP first (§7.1.1)
      }
      break;
    }
  }
}

bool SocketLoop::QueueControl(Connection& c, Opcode opcode, std::string_view payload) {
  std::size_t frame = FrameHeaderSize(payload.size()) + payload.size();
  if (c.queued.load(std::memory_order_relaxed) + frame > options_.max_queued_bytes) {
    StartClose(c, kClosePolicyViolation, "send queue full", true);
    return false;
  }
  AppendFrame(opcode, payload, c.out);
  c.queued.fetch_add(frame, std::memory_order_relaxed);
  return true;
}

void SocketLoop::StartClose(Connection& c, std::uint16_t code, std::string_view reason,
                            bool wait_for_peer) {
  if (c.phase != Connection::Phase::kOpen) return;
  {
    // What SendText queued before this goes out before the close frame, and nothing after.
    std::lock_guard lock(mu_);
    c.accepting = false;
    if (!c.inbox.empty()) {
      c.out += c.inbox;
      ReleaseString(c.inbox);
    }
  }
  std::size_t before = c.out.size();
  AppendFrame(Opcode::kClose, ClosePayload(code, reason), c.out);
  c.queued.fetch_add(c.out.size() - before, std::memory_order_relaxed);
  c.phase = wait_for_peer ? Connection::Phase::kClosing : Connection::Phase::kFailing;
  c.close_deadline = now_ + options_.close_timeout;
  WriteTo(c);
}

void SocketLoop::WriteTo(Connection& c) {
  if (c.phase == Connection::Phase::kFinished) return;
  c.write_blocked = false;
  c.write_needs_read = false;
  while (c.out_offset < c.out.size()) {
    auto r = c.stream->Write(std::string_view(c.out).substr(c.out_offset));
    if (r.status == Io::kOk) {
      c.out_offset += r.bytes;
      c.queued.fetch_sub(r.bytes, std::memory_order_relaxed);
      continue;
    }
    if (r.status == Io::kClosed) {
      Finish(c, false);
      return;
    }
    if (r.status == Io::kWantWrite) c.write_blocked = true;
    if (r.status == Io::kWantRead) c.write_needs_read = true;
    if (c.out_offset > kCompactAbove && c.out_offset > c.out.size() / 2) {
      c.out.erase(0, c.out_offset);  // TLS accepts the moved buffer on retry
      c.out_offset = 0;
    }
    UpdateInterest(c);
    return;
  }
  ReleaseString(c.out);  // drained: an idle socket holds no buffer
  c.out_offset = 0;
  if (c.phase == Connection::Phase::kFailing ||
      (c.phase == Connection::Phase::kClosing && c.close_received)) {
    ShutDown(c);  // our close frame was the last thing written
    return;
  }
  UpdateInterest(c);
}

void SocketLoop::UpdateInterest(Connection& c) {
  if (c.phase == Connection::Phase::kFinished) return;
  std::uint32_t want = EPOLLIN;
  if (c.write_blocked || c.read_needs_write) want |= EPOLLOUT;
  if (want == c.interest) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.ptr = &c;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.stream->fd(), &ev) == 0) c.interest = want;
}

void SocketLoop::ShutDown(Connection& c) {
  // A lingering close: closing with unread bytes in the kernel would send a reset, and the
  // peer could lose our close frame with it. So we end our side and wait for the peer's EOF.
  c.stream->Shutdown();
  c.phase = Connection::Phase::kDraining;
  c.close_deadline = now_ + options_.close_timeout;
  c.write_blocked = false;
  ReleaseString(c.out);
  c.out_offset = 0;
  UpdateInterest(c);
}

void SocketLoop::Finish(Connection& c, bool abort) {
  if (c.phase == Connection::Phase::kFinished) return;
  c.phase = Connection::Phase::kFinished;
  {
    std::lock_guard lock(mu_);
    c.accepting = false;
  }
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.stream->fd(), nullptr);
  if (abort) {
    // Cut off (a peer that stopped reading, or one that never finished closing): a reset
    // frees the kernel's send buffer at once instead of retrying to a stalled peer.
    linger hard{1, 0};
    ::setsockopt(c.stream->fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  }
  // Every connection that reaches here was registered, so it is in live_.
  Connection* last = live_.back();
  live_[c.live_index] = last;
  last->live_index = c.live_index;
  live_.pop_back();
  finished_.push_back(&c);
}

void SocketLoop::Sweep() {
  for (std::size_t i = live_.size(); i-- > 0;) {
    Connection& c = *live_[i];
    switch (c.phase) {
      case Connection::Phase::kClosing:
      case Connection::Phase::kFailing:
      case Connection::Phase::kDraining:
        if (now_ >= c.close_deadline) Finish(c, true);
        break;
      case Connection::Phase::kOpen:
        if (now_ - c.last_received >= options_.idle_timeout) {
          StartClose(c, kCloseGoingAway, "idle timeout", false);
        } else if (now_ >= c.next_ping) {
          c.next_ping = now_ + options_.ping_interval;
          if (QueueControl(c, Opcode::kPing, "")) WriteTo(c);
        }
        break;
      case Connection::Phase::kFinished:
        break;
    }
  }
}

void SocketLoop::Bury() {
  if (finished_.empty()) return;
  std::vector<std::unique_ptr<Connection>> dead;
  dead.reserve(finished_.size());
  {
    std::lock_guard lock(mu_);
    for (Connection* c : finished_) {
      if (c->touched) touched_.erase(std::find(touched_.begin(), touched_.end(), c));
      auto it = connections_.find(c->id);
      dead.push_back(std::move(it->second));
      connections_.erase(it);
    }
  }
  for (Connection* c : finished_) {
    if (c->in_again) again_.erase(std::find(again_.begin(), again_.end(), c));
  }
  finished_.clear();
  std::vector<ConnectionId> ids;
  ids.reserve(dead.size());
  for (const auto& c : dead) ids.push_back(c->id);
  dead.clear();  // closes the descriptors, frees the TLS sessions
  if (callbacks_.on_close) {
    for (ConnectionId id : ids) callbacks_.on_close(id);
  }
}

}  // namespace subscriptions::websocket
