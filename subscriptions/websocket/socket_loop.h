#ifndef FOVEA_SUBSCRIPTIONS_WEBSOCKET_SOCKET_LOOP_H_
#define FOVEA_SUBSCRIPTIONS_WEBSOCKET_SOCKET_LOOP_H_

// Every upgraded WebSocket of the process, multiplexed on ONE thread (Linux epoll; an eventfd
// wakes it for work from other threads): never a thread per socket. The loop reads and
// decodes frames (frame.h), answers pings, sends its own pings, drops silent peers, runs the
// close handshake (RFC 6455 §7), and writes what other threads queue with SendText. Writes to
// one socket are serialised by construction (only the loop writes). Each socket has a bounded
// send queue: a consumer that does not keep up is closed (1008) when its queue would exceed
// max_queued_bytes, and never slows the others (no write ever blocks).
//
// The subscription protocol (bind-with-token, notifications) lives above this: the owner
// gets each text message through SocketCallbacks::on_text and answers with SendText.
//
// Memory: an idle socket holds its stream (for TLS, the OpenSSL session with its buffers
// released), a small Connection record and an index entry; read and write buffers are
// allocated while bytes are in flight and freed when they drain. Measured with 10,000 idle
// sockets through the HTTP server: about 0.6 KB of heap per plain socket, about 15.7 KB per
// TLS socket (almost all of it OpenSSL 3.0's session; RSS grows about 24 KB per TLS socket
// because the handshakes leave the HTTP threads' malloc arenas fragmented).
//
//   SocketLoop loop({.on_text = [&](ConnectionId id, std::string text) { ... },
//                    .on_close = [&](ConnectionId id) { ... }});
//   if (auto st = loop.Start(); !st.ok()) ...
//   http.MountUpgrade("/ws/subscriptions-r4", {answer, [&](auto stream, std::string rest,
//                      const auto&) { loop.Adopt(std::move(stream), std::move(rest)); }});

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "fhir/rest/detail/nonblocking_stream.h"
#include "subscriptions/websocket/frame.h"

namespace subscriptions::websocket {

using ConnectionId = std::uint64_t;  // never 0; never reused by one loop
using NonBlockingStream = fhir::rest::detail::NonBlockingStream;

struct SocketLoopOptions {
  // A message from a peer above this (all fragments together) closes it with 1009.
  std::size_t max_message_bytes = 64 * 1024;
  // Bytes queued for one socket and not yet taken by the kernel (the count drops when a write
  // returns, so it can lag by one write). A SendText (or a pong) that would exceed it closes
  // the socket with 1008 instead.
  std::size_t max_queued_bytes = 4 << 20;
  std::chrono::seconds ping_interval{30};  // a ping to every socket this often
  std::chrono::seconds idle_timeout{90};   // nothing received for this long: dropped
  // After we send a close frame, how long the peer has to answer with its own (and to take
  // what was still queued) before the connection is cut. Also bounds Stop.
  std::chrono::seconds close_timeout{5};
  // Open sockets at most (admitted and not yet adopted included); beyond it Admit refuses and
  // Adopt closes the stream. 0: derived at Start from the process's open-file limit
  // (DefaultMaxConnections), so that sockets can never starve the database pool, the HTTP
  // server and the files of descriptors.
  std::size_t max_connections = 0;
};

// The cap for max_connections = 0 under a soft RLIMIT_NOFILE of `open_file_limit`: the limit
// minus a reserve for everything else the process opens (the HTTP server's threads and queue,
// the database connections, files): 512 descriptors, or an eighth of the limit when that is
// more; at least 16.
std::size_t DefaultMaxConnections(std::size_t open_file_limit);

// Both run on the loop thread and must return quickly and never block (no database, no
// waiting on other threads): every socket waits while one runs. They may call SendText and
// Close (also for other connections), but never Stop or the destructor.
struct SocketCallbacks {
  // A complete text message (UTF-8, checked). Binary messages are refused with 1003.
  std::function<void(ConnectionId, std::string text)> on_text;
  // The connection is gone (closed by either side, failed, dropped or cut off): exactly once
  // per adopted connection, after which SendText for it returns false.
  std::function<void(ConnectionId)> on_close;
};

// Thread-safe unless said otherwise.
class SocketLoop {
 public:
  explicit SocketLoop(SocketCallbacks callbacks, SocketLoopOptions options = {});
  ~SocketLoop();  // Stop()
  SocketLoop(const SocketLoop&) = delete;
  SocketLoop& operator=(const SocketLoop&) = delete;

  // Creates the epoll set and the eventfd and starts the thread; kInternal when the system
  // refuses. Call once.
  common::Status Start();
  // Closes every socket with 1001 ("going away"), waits up to close_timeout for the peers'
  // close frames, cuts what is left, and joins the thread. on_close runs for each. Idempotent.
  void Stop();

  // Reserves room for one connection before its upgrade is accepted (the `101`): false when
  // max_connections are open or reserved, or the loop is not running (answer 503 then). Each
  // true must be followed by exactly one Adopt or CancelAdmission.
  bool Admit();
  // Gives back a reservation whose connection will not be adopted (the upgrade failed).
  void CancelAdmission();
  // Takes over an upgraded connection, in the room a prior Admit reserved (without one it
  // needs a free place). `initial_bytes` are those the HTTP server read past the request head
  // (frames the client sent early). Returns the new connection's id, or 0 when the loop is
  // not running or full (the stream is then closed).
  ConnectionId Adopt(std::unique_ptr<NonBlockingStream> stream, std::string initial_bytes);
  // Queues one text frame; `text` must be UTF-8. False when the connection is unknown, closed
  // or closing, or when this frame would exceed max_queued_bytes: the connection is then
  // closed with 1008 after what was queued before (the consumer catches up later, e.g. with
  // $events), and this frame is dropped.
  bool SendText(ConnectionId id, std::string_view text);
  // SendText for many frames at once (a notification fanned out to many sockets): one lock and
  // at most one wake-up of the loop for all of them, instead of the loop waking at the first
  // and contending for the lock with the rest. Frames for one connection keep their order.
  // accepted[i] is what SendText would have returned for outgoing[i].
  struct Outgoing {
    ConnectionId connection;
    std::string_view text;
  };
  void SendTexts(const std::vector<Outgoing>& outgoing, std::vector<bool>& accepted);
  // Starts the close handshake: a close frame with `code` (1000, or 3000-4999 for
  // application codes) and `reason` (at most 123 bytes are sent) after what is queued.
  // Nothing happens for an unknown or closing connection.
  void Close(ConnectionId id, std::uint16_t code, std::string reason);
  // Open connections (adopted, on_close not yet run).
  std::size_t size() const;
  // The cap in force (options' max_connections, or the one derived at Start).
  std::size_t max_connections() const;

 private:
  struct Connection;
  using Clock = std::chrono::steady_clock;

  void Run();
  void Wake();
  void HandleEvents(Connection& c, std::uint32_t events);
  void TakeCrossThreadWork();
  void Register(Connection& c);
  void ReadFrom(Connection& c);
  void Deliver(Connection& c, std::string_view bytes);
  void OnMessage(Connection& c, Message& message);
  bool QueueControl(Connection& c, Opcode opcode, std::string_view payload);
  void WriteTo(Connection& c);
  void StartClose(Connection& c, std::uint16_t code, std::string_view reason, bool wait_for_peer);
  void ShutDown(Connection& c);
  void Finish(Connection& c, bool abort);
  void UpdateInterest(Connection& c);
  void Sweep();
  void BeginShutdown();
  void Bury();
  void Touch(Connection& c);  // REQUIRES(mu_)
  // Lists `c` for the loop without waking it (the caller wakes it once). REQUIRES(mu_)
  void TouchQuietly(Connection& c);
  bool QueueText(ConnectionId id, std::string_view text);  // REQUIRES(mu_); Touches quietly

  const SocketCallbacks callbacks_;
  const SocketLoopOptions options_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;

  mutable std::mutex mu_;
  // Every open connection, by id; only the loop thread erases.
  std::unordered_map<ConnectionId, std::unique_ptr<Connection>> connections_;  // GUARDED_BY(mu_)
  std::vector<Connection*> adopted_;  // not yet registered with epoll; GUARDED_BY(mu_)
  std::vector<Connection*> touched_;  // new frames or a close request; GUARDED_BY(mu_)
  ConnectionId next_id_ = 1;          // GUARDED_BY(mu_)
  std::size_t reserved_ = 0;          // admitted, not yet adopted; GUARDED_BY(mu_)
  std::size_t max_connections_ = 0;   // set by Start; GUARDED_BY(mu_)
  bool running_ = false;              // GUARDED_BY(mu_)
  bool stopping_ = false;             // GUARDED_BY(mu_)
  bool woken_ = false;                // a wake-up is pending on wake_fd_; GUARDED_BY(mu_)

  // Loop thread only.
  std::vector<Connection*> live_;        // registered and not finished, for the timer sweep
  std::vector<Connection*> again_;       // TLS input left in the session after a read budget
  std::vector<Connection*> finished_;    // destroyed at the end of this iteration
  std::unique_ptr<char[]> read_buffer_;  // one for all sockets
  Clock::time_point now_{};
  Clock::time_point stop_deadline_{};
  bool shutting_down_ = false;
};

}  // namespace subscriptions::websocket

#endif  // FOVEA_SUBSCRIPTIONS_WEBSOCKET_SOCKET_LOOP_H_
