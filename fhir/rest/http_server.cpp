#include "fhir/rest/http_server.h"

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/Net/TCPServerParams.h>
#include <Poco/ThreadPool.h>

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <ctime>
#include <random>

#include "common/clock.h"
#include "common/log.h"
#include "common/thread_name.h"
#include "fhir/rest/detail/transport.h"
#include "fhir/rest/http_parser.h"
#include "fhir/rest/outcome.h"

namespace fhir::rest {
namespace {

constexpr const char* kFhirJson = "application/fhir+json; charset=utf-8";
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// How much of a refused request body we read and discard before closing, and for how long.
constexpr std::size_t kMaxLingerBytes = 64u << 20;
constexpr detail::Millis kLingerIdle{1000};
constexpr detail::Millis kLingerTotal{10000};

std::string NewRequestId() {
  static const std::string prefix = [] {
    std::string s = std::to_string(std::random_device{}());
    return s + "-";
  }();
  static std::atomic<std::uint64_t> counter{0};
  return prefix + std::to_string(++counter);
}

// IMF-fixdate of the current second, formatted once per second per thread.
std::string_view CurrentHttpDate() {
  thread_local std::time_t cached_second = 0;
  thread_local std::string cached;
  std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    cached_second = now;
    cached = common::FormatHttpDate(common::TimePoint(std::chrono::seconds(now)));
  }
  return cached;
}

// Route shape for the access log: resource type and interaction, never ids or parameters.
std::string RouteShape(std::string_view path) {
  std::string shape;
  int segment = 0;
  while (!path.empty()) {
    std::size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (!part.empty()) {
      bool keep = segment == 0 || part[0] == '_' || part[0] == '$';
      shape += '/';
      shape += keep ? part : std::string_view("{id}");
      ++segment;
    }
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return shape.empty() ? "/" : shape;
}

// A 101 answer (MountUpgrade): the status line and the handler's headers; 1xx answers carry
// no body and no Content-Length.
void SerializeSwitchingProtocols(const RestResponse& res, std::string& out) {
  out += "HTTP/1.1 101 Switching Protocols\r\n";
  for (const auto& [name, value] : res.headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += "\r\n";
}

RestResponse Outcome(const common::Status& status) {
  RestResponse res;
  res.status = HttpStatusFor(status.code());
  res.content_type = kFhirJson;
  res.body = OperationOutcomeJson(status);
  return res;
}

// When a request body must have arrived: a grace period, plus one second for every
// min_body_bytes_per_second received, so the allowance keeps growing for a steady upload and a
// trickle runs out of it.
class BodyDeadline {
 public:
  explicit BodyDeadline(const HttpServerOptions& options)
      : start_(std::chrono::steady_clock::now()),
        grace_(std::chrono::seconds(options.request_body_timeout_seconds)),
        bytes_per_second_(options.min_body_bytes_per_second) {}

  std::chrono::steady_clock::time_point At(std::size_t received) const {
    std::size_t earned_ms = bytes_per_second_ > 0 ? received * 1000 / bytes_per_second_ : 0;
    return start_ + grace_ + detail::Millis(static_cast<detail::Millis::rep>(earned_ms));
  }

 private:
  std::chrono::steady_clock::time_point start_;
  detail::Millis grace_;
  std::size_t bytes_per_second_;
};

}  // namespace

// One client connection: reads requests, answers each with a single write, until the client
// closes, asks to close, times out, or the server stops.
class HttpServer::Connection final : public Poco::Net::TCPServerConnection {
 public:
  Connection(const Poco::Net::StreamSocket& socket, HttpServer& server)
      : TCPServerConnection(socket), server_(server) {}

  void run() override {
    common::NameThisThread("fovea-http");  // a pooled thread: named again per connection
    Poco::Net::StreamSocket& sock = socket();
    server_.Register(&sock);
    try {
      sock.setNoDelay(true);
      peer_ = sock.peerAddress().host().toString();  // once per connection: audit, rate limits
      Millis stall = Seconds(server_.options_.keep_alive_seconds);
      transport_ = server_.tls_ ? detail::NewTlsTransport(sock, *server_.tls_, stall)
                                : detail::NewPlainTransport(sock, stall);
      if (transport_->Open(Seconds(server_.options_.request_head_timeout_seconds))) {
        while (ServeOne()) {
        }
        if (!upgraded_) transport_->Close();
      }
    } catch (const Poco::Exception&) {
      // Reset or shutdown: the connection simply ends.
    } catch (const std::exception&) {
      common::LogError("connection ended by an unexpected exception");
    }
    transport_.reset();
    server_.Unregister(&sock);
  }

 private:
  using Millis = detail::Millis;
  using ReadResult = detail::Transport::ReadResult;

  static Millis Seconds(int seconds) { return std::chrono::seconds(seconds); }
  static Millis Remaining(std::chrono::steady_clock::time_point deadline) {
    return std::chrono::ceil<Millis>(deadline - std::chrono::steady_clock::now());
  }

  // Answers and ends the connection. The client may still be sending a body we refused: close
  // only after draining it for a moment, or the kernel would reset the connection and the
  // client could lose our answer (a "lingering close"). The drain is bounded in time too, so
  // a client cannot hold the connection by trickling.
  void SendAndClose(const RestResponse& res) {
    out_.clear();
    SerializeResponse(res, false, true, CurrentHttpDate(), out_);
    if (!transport_->Send(out_)) return;
    transport_->CloseLingering(kLingerIdle, kLingerTotal, kMaxLingerBytes);
  }

  bool HeadTooLarge() {
    RestResponse res = Outcome(common::InvalidError("The request headers are too large"));
    res.status = 431;
    SendAndClose(res);
    return false;
  }

  // 408 and a close, for a client too slow to deliver its request.
  bool RequestTimeout() {
    RestResponse res = Outcome(common::InvalidError("The request was not received in time"));
    res.status = 408;
    SendAndClose(res);
    return false;
  }

  // Receives more of a request head or body, waiting at most until `deadline` (and never
  // longer than the keep-alive time at once). False when the connection should end: the
  // client closed, or it was too slow and has been answered 408.
  bool ReceiveBefore(std::chrono::steady_clock::time_point deadline) {
    Millis wait = std::min(Seconds(server_.options_.keep_alive_seconds), Remaining(deadline));
    if (wait <= Millis::zero()) return RequestTimeout();
    switch (transport_->Receive(in_, wait)) {
      case ReadResult::kData: return true;
      case ReadResult::kClosed: return false;
      case ReadResult::kTimedOut: return RequestTimeout();
    }
    return false;
  }

  // Reads until a full request head is in in_. Between requests the connection may idle for
  // the keep-alive time; once a request's first byte is in, its whole head must follow within
  // request_head_timeout_seconds. False when the connection should end (after a 431 or 408
  // where one is due).
  bool ReceiveHead(HttpRequestHead& head, ParseState& state, std::string& error) {
    const HttpServerOptions& options = server_.options_;
    std::chrono::steady_clock::time_point deadline;
    bool started = false;
    while ((state = ParseRequestHead(in_, head, error)) == ParseState::kIncomplete) {
      if (in_.size() > options.max_head_bytes) return HeadTooLarge();
      if (!started && !in_.empty()) {
        started = true;
        deadline = std::chrono::steady_clock::now() + Seconds(options.request_head_timeout_seconds);
      }
      if (started) {
        if (!ReceiveBefore(deadline)) return false;
      } else if (transport_->Receive(in_, Seconds(options.keep_alive_seconds)) !=
                 ReadResult::kData) {
        return false;  // idle: closed or timed out between requests
      }
    }
    return true;
  }

  // Serves one request; false when the connection should end.
  bool ServeOne() {
    const HttpServerOptions& options = server_.options_;
    std::size_t max_body = server_.service_.options().max_body_bytes;
    HttpRequestHead& head = head_;
    std::string error;
    ParseState state = ParseState::kIncomplete;
    if (!ReceiveHead(head, state, error)) return false;
    if (state == ParseState::kComplete && head.head_size > options.max_head_bytes) {
      return HeadTooLarge();
    }
    if (state == ParseState::kError) {
      SendAndClose(Outcome(common::InvalidError(error)));
      return false;
    }
    auto started = std::chrono::steady_clock::now();
    in_.erase(0, head.head_size);
    RestRequest req;
    req.method = std::move(head.method);
    req.request_id = NewRequestId();
    req.peer_address = peer_;
    bool keep_alive = head.keep_alive();
    if (!ReadBody(head, max_body, req.body)) return false;

    std::string raw_query;
    SplitTarget(head.target, req.path, raw_query);
    req.headers = std::move(head.headers);
    if (auto upgrade = server_.FindUpgrade(req.path)) {
      return ServeUpgrade(*upgrade, req, raw_query, keep_alive, started);
    }
    RestResponse res = Dispatch(req, raw_query);
    const bool go_on = Respond(req, res, keep_alive, started);
    head.headers = std::move(req.headers);  // their memory, for the next request's head
    return go_on;
  }

  // Sends the answer to `req`; false when the connection should end.
  bool Respond(const RestRequest& req, RestResponse& res, bool keep_alive,
               std::chrono::steady_clock::time_point started) {
    server_.cors_.Decorate(req, res);
    out_.clear();
    SerializeResponse(res, keep_alive, req.method != "HEAD", CurrentHttpDate(), out_);
    if (!transport_->Send(out_)) return false;
    LogRequest(req, res.status, started);
    return keep_alive;
  }

  void LogRequest(const RestRequest& req, int status,
                  std::chrono::steady_clock::time_point started) {
    if (!server_.options_.access_log && status < 500) return;
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - started)
                  .count();
    common::Log(status >= 500 ? common::LogLevel::kError : common::LogLevel::kInfo,
                "request " + req.request_id + " " + req.method + " " + RouteShape(req.path) +
                    " -> " + std::to_string(status) + " in " + std::to_string(us) + "us");
  }

  // A request for an upgrade path (see HttpServer::MountUpgrade). False when the connection
  // ends here: answered and closed, or handed over.
  bool ServeUpgrade(const UpgradeHandler& upgrade, RestRequest& req, const std::string& raw_query,
                    bool keep_alive, std::chrono::steady_clock::time_point started) {
    req.query = ParseQueryString(raw_query);
    RestResponse res;
    try {
      res = upgrade.answer(req);
    } catch (const std::exception&) {
      common::LogError("request " + req.request_id + ": unexpected exception answering an upgrade");
      res = Outcome(
          common::InternalError("Internal server error (request " + req.request_id + ")"));
    }
    if (res.status != 101) return Respond(req, res, keep_alive, started);
    auto abandon = [&] {
      if (!upgrade.abandon) return;
      try {
        upgrade.abandon(req);
      } catch (const std::exception&) {
        common::LogError("request " + req.request_id + ": unexpected exception abandoning an upgrade");
      }
    };
    // The descriptor for the hand-over first: without one the client must hear 503, not a 101
    // followed by a reset. A failed Release leaves the transport as it was.
    std::unique_ptr<detail::NonBlockingStream> stream = transport_->Release();
    if (!stream) {
      abandon();
      common::LogWarning("request " + req.request_id +
                         ": no descriptor to hand an upgraded connection over (open-file limit?)");
      RestResponse busy = Outcome(common::UnavailableError(
          "The server cannot take more connections now; try again later"));
      busy.headers.emplace_back("Retry-After", "5");
      return Respond(req, busy, false, started);
    }
    upgraded_ = true;  // the transport must not be used any more
    if (!server_.HandOver(&socket())) {
      abandon();
      return false;
    }
    out_.clear();
    SerializeSwitchingProtocols(res, out_);
    if (!WriteAll(*stream, out_,
                  std::chrono::steady_clock::now() + Seconds(server_.options_.keep_alive_seconds))) {
      abandon();
      return false;
    }
    LogRequest(req, res.status, started);
    try {
      upgrade.adopt(std::move(stream), std::move(in_), req);
    } catch (const std::exception&) {
      common::LogError("request " + req.request_id + ": unexpected exception adopting an upgrade");
    }
    return false;
  }

  // Writes all of `data` to a stream just released for an upgrade, waiting for the readiness
  // it asks for until `deadline`; false when the peer is gone or too slow.
  static bool WriteAll(detail::NonBlockingStream& stream, std::string_view data,
                       std::chrono::steady_clock::time_point deadline) {
    using Io = detail::NonBlockingStream::Io;
    while (!data.empty()) {
      detail::NonBlockingStream::IoResult r = stream.Write(data);
      if (r.status == Io::kOk) {
        data.remove_prefix(r.bytes);
        continue;
      }
      if (r.status == Io::kClosed) return false;
      Millis wait = Remaining(deadline);
      if (wait <= Millis::zero()) return false;
      pollfd p{stream.fd(), static_cast<short>(r.status == Io::kWantRead ? POLLIN : POLLOUT), 0};
      int ready = ::poll(&p, 1, static_cast<int>(wait.count()));
      if (ready < 0 && errno != EINTR) return false;
      if (ready == 0) return false;
    }
    return true;
  }

  // Reads the body announced by the head into `body`; answers and returns false on failure.
  // The body must arrive by request_body_timeout_seconds plus one second for every
  // min_body_bytes_per_second received so far (see BodyDeadline).
  bool ReadBody(const HttpRequestHead& head, std::size_t max_body, std::string& body) {
    BodyDeadline deadline(server_.options_);
    auto too_large = [&] {
      SendAndClose(Outcome(common::Status(
                             common::StatusCode::kTooLarge,
                             "The request body exceeds the limit of " + std::to_string(max_body) +
                                 " bytes")));
      return false;
    };
    if (head.chunked()) {
      if (head.expects_continue() && !transport_->Send(kContinue)) return false;
      std::string error;
      std::size_t consumed = 0;
      while (true) {
        ParseState st = DecodeChunkedBody(in_, max_body, body, consumed, error);
        if (st == ParseState::kComplete) break;
        if (st == ParseState::kError) {
          if (error == "body too large") return too_large();
          SendAndClose(Outcome(common::InvalidError(error)));
          return false;
        }
        if (!ReceiveBefore(deadline.At(in_.size()))) return false;
      }
      in_.erase(0, consumed);
      return true;
    }
    std::string_view length_text = head.Header("Content-Length");
    if (length_text.empty()) return true;  // no body
    std::size_t length = 0;
    auto [ptr, ec] = std::from_chars(length_text.data(), length_text.data() + length_text.size(),
                                     length);
    if (ec != std::errc() || ptr != length_text.data() + length_text.size()) {
      SendAndClose(Outcome(common::InvalidError("Malformed Content-Length")));
      return false;
    }
    if (length > max_body) return too_large();  // refuse before reading it
    if (head.expects_continue() && in_.size() < length && !transport_->Send(kContinue)) {
      return false;
    }
    while (in_.size() < length) {
      if (!ReceiveBefore(deadline.At(in_.size()))) return false;
    }
    body.assign(in_, 0, length);
    in_.erase(0, length);
    return true;
  }

  RestResponse Dispatch(RestRequest& req, const std::string& raw_query) {
    try {
      if (auto preflight = server_.cors_.Preflight(req)) return std::move(*preflight);
      if (req.path == "/healthz") {
        RestResponse res;
        common::Status st = server_.health_();
        res.status = st.ok() ? 200 : 503;
        res.content_type = "application/json";
        res.body = st.ok() ? R"({"status":"ok"})"
                           : R"({"status":"unavailable","database":"unreachable"})";
        return res;
      }
      for (const auto& [path, handler] : server_.exact_mounts_) {
        if (req.path == path) {
          req.query = ParseQueryString(raw_query);
          return handler(req);
        }
      }
      for (const auto& [prefix, handler] : server_.mounts_) {
        if (req.path.compare(0, prefix.size(), prefix) == 0) {
          req.query = ParseQueryString(raw_query);
          return handler(req);
        }
      }
      std::string_view base = kFhirBasePath;
      if (req.path.compare(0, base.size(), base) != 0 ||
          (req.path.size() > base.size() && req.path[base.size()] != '/')) {
        return Outcome(common::NotFoundError("Not found: the FHIR R4 API is under " +
                                             std::string(base)));
      }
      req.path.erase(0, base.size());
      req.query = ParseQueryString(raw_query);
      std::string_view host = req.Header("Host");
      req.base_url = (server_.tls_ ? "https://" : "http://") +
                     (host.empty() ? server_.options_.bind + ":" + std::to_string(server_.port_)
                                   : std::string(host)) +
                     std::string(base);
      return server_.service_.Handle(req);
    } catch (const std::exception&) {
      common::LogError("request " + req.request_id + ": unexpected exception in the HTTP layer");
      return Outcome(common::InternalError("Internal server error (request " + req.request_id + ")"));
    }
  }

  using UpgradeHandler = HttpServer::UpgradeHandler;

  HttpServer& server_;
  std::unique_ptr<detail::Transport> transport_;
  bool upgraded_ = false;  // handed over: the connection is no longer ours to close
  std::string peer_;  // the client's IP address
  std::string in_;   // received, not yet consumed
  std::string out_;  // the response being sent (reused)
  HttpRequestHead head_;  // the request head being parsed (reused: ParseRequestHead)
};

namespace {

class ConnectionFactory final : public Poco::Net::TCPServerConnectionFactory {
 public:
  explicit ConnectionFactory(HttpServer& server) : server_(server) {}
  Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override {
    return new HttpServer::Connection(socket, server_);  // TCPServer takes ownership
  }

 private:
  HttpServer& server_;
};

// See HttpServer::Start.
void IgnoreSigpipeIfDefault() {
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
    std::signal(SIGPIPE, SIG_IGN);
  }
}

}  // namespace

HttpServer::HttpServer(const FhirService& service, std::function<common::Status()> health,
                       HttpServerOptions options)
    : service_(service),
      health_(std::move(health)),
      options_(std::move(options)),
      cors_(options_.cors_origins) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Register(Poco::Net::StreamSocket* socket) {
  std::lock_guard lock(mu_);
  open_.insert(socket);
  if (stopping_) {
    try {
      socket->shutdownReceive();
    } catch (const Poco::Exception&) {
    }
  }
}

void HttpServer::Unregister(Poco::Net::StreamSocket* socket) {
  std::lock_guard lock(mu_);
  open_.erase(socket);
}

bool HttpServer::HandOver(Poco::Net::StreamSocket* socket) {
  std::lock_guard lock(mu_);
  if (stopping_) return false;
  open_.erase(socket);
  return true;
}

void HttpServer::MountUpgrade(std::string path, UpgradeHandler handler) {
  std::lock_guard lock(mu_);  // one writer at a time; readers only load the snapshot
  auto routes = std::make_shared<UpgradeRoutes>();
  if (auto current = upgrades_.load()) *routes = *current;
  auto shared = std::make_shared<const UpgradeHandler>(std::move(handler));
  auto same = std::find_if(routes->begin(), routes->end(),
                           [&](const auto& route) { return route.first == path; });
  if (same != routes->end()) {
    same->second = std::move(shared);
  } else {
    routes->emplace_back(std::move(path), std::move(shared));
  }
  upgrades_.store(std::move(routes));
  has_upgrades_.store(true);
}

std::shared_ptr<const HttpServer::UpgradeHandler> HttpServer::FindUpgrade(
    const std::string& path) const {
  if (!has_upgrades_.load(std::memory_order_acquire)) return nullptr;
  std::shared_ptr<const UpgradeRoutes> routes = upgrades_.load();
  for (const auto& [route, handler] : *routes) {
    if (route == path) return handler;
  }
  return nullptr;
}

common::Status HttpServer::Start() {
  if (options_.tls.enabled()) {
    FOVEA_ASSIGN_OR_RETURN(tls_, detail::TlsContext::Create(options_.tls));
    IgnoreSigpipeIfDefault();
  }
  try {
    Poco::Net::ServerSocket socket;
    socket.bind(Poco::Net::SocketAddress(options_.bind, static_cast<Poco::UInt16>(options_.port)),
                true);
    socket.listen(256);
    port_ = socket.address().port();
    auto* params = new Poco::Net::TCPServerParams;  // TCPServer takes ownership
    params->setMaxThreads(options_.max_threads);
    params->setMaxQueued(options_.max_queued);
    threads_ = std::make_unique<Poco::ThreadPool>(2, options_.max_threads);
    server_ = std::make_unique<Poco::Net::TCPServer>(new ConnectionFactory(*this), *threads_,
                                                     socket, params);
    server_->start();
  } catch (const Poco::Exception& e) {
    return common::UnavailableError("Cannot listen on " + options_.bind + ":" +
                                    std::to_string(options_.port) + ": " + e.displayText());
  }
  return common::Status::Ok();
}

void HttpServer::Stop() {
  if (!server_) return;
  server_->stop();  // no new connections
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto* socket : open_) {
      try {
        socket->shutdownReceive();  // idle keep-alive connections wake up and end
      } catch (const Poco::Exception&) {
      }
    }
  }
  threads_->joinAll();
  server_.reset();
  threads_.reset();
}

}  // namespace fhir::rest
