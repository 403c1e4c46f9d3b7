#include "fhir/rest/http_server.h"

#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/Net/TCPServerParams.h>
#include <Poco/ThreadPool.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <ctime>
#include <random>

#include "common/clock.h"
#include "common/log.h"
#include "fhir/rest/http_parser.h"
#include "fhir/rest/outcome.h"

namespace fhir::rest {
namespace {

constexpr const char* kFhirJson = "application/fhir+json; charset=utf-8";
// How much of a refused request body we read and discard before closing.
constexpr std::size_t kMaxLingerBytes = 64u << 20;

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

RestResponse Outcome(const common::Status& status) {
  RestResponse res;
  res.status = HttpStatusFor(status.code());
  res.content_type = kFhirJson;
  res.body = OperationOutcomeJson(status);
  return res;
}

}  // namespace

// One client connection: reads requests, answers each with a single write, until the client
// closes, asks to close, times out, or the server stops.
class HttpServer::Connection final : public Poco::Net::TCPServerConnection {
 public:
  Connection(const Poco::Net::StreamSocket& socket, HttpServer& server)
      : TCPServerConnection(socket), server_(server) {}

  void run() override {
    Poco::Net::StreamSocket& sock = socket();
    server_.Register(&sock);
    try {
      sock.setNoDelay(true);
      sock.setReceiveTimeout(Poco::Timespan(server_.options_.keep_alive_seconds, 0));
      while (ServeOne(sock)) {
      }
    } catch (const Poco::Exception&) {
      // Timeout, reset or shutdown: the connection simply ends.
    } catch (const std::exception&) {
      common::LogError("connection ended by an unexpected exception");
    }
    server_.Unregister(&sock);
  }

 private:
  // Appends received bytes to in_; false when the peer closed.
  bool Receive(Poco::Net::StreamSocket& sock) {
    char buf[16384];
    int n = sock.receiveBytes(buf, sizeof buf);
    if (n <= 0) return false;
    in_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  void SendAll(Poco::Net::StreamSocket& sock, const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      int n = sock.sendBytes(data.data() + sent, static_cast<int>(data.size() - sent));
      if (n <= 0) throw Poco::Net::NetException("send failed");
      sent += static_cast<std::size_t>(n);
    }
  }

  // Answers and ends the connection. The client may still be sending a body we refused: close
  // only after draining it for a moment, or the kernel would reset the connection and the
  // client could lose our answer (a "lingering close").
  void SendAndClose(Poco::Net::StreamSocket& sock, const RestResponse& res) {
    out_.clear();
    SerializeResponse(res, false, true, CurrentHttpDate(), out_);
    SendAll(sock, out_);
    sock.shutdownSend();
    sock.setReceiveTimeout(Poco::Timespan(1, 0));
    char buf[16384];
    std::size_t drained = 0;
    while (drained < kMaxLingerBytes) {
      int n = sock.receiveBytes(buf, sizeof buf);
      if (n <= 0) break;
      drained += static_cast<std::size_t>(n);
    }
  }

  // Serves one request; false when the connection should end.
  bool ServeOne(Poco::Net::StreamSocket& sock) {
    const HttpServerOptions& options = server_.options_;
    std::size_t max_body = server_.service_.options().max_body_bytes;
    HttpRequestHead head;
    std::string error;
    ParseState state;
    auto head_too_large = [&] {
      RestResponse res = Outcome(common::InvalidError("The request headers are too large"));
      res.status = 431;
      SendAndClose(sock, res);
      return false;
    };
    while ((state = ParseRequestHead(in_, head, error)) == ParseState::kIncomplete) {
      if (in_.size() > options.max_head_bytes) return head_too_large();
      if (!Receive(sock)) return false;
    }
    if (state == ParseState::kComplete && head.head_size > options.max_head_bytes) {
      return head_too_large();
    }
    if (state == ParseState::kError) {
      SendAndClose(sock, Outcome(common::InvalidError(error)));
      return false;
    }
    auto started = std::chrono::steady_clock::now();
    in_.erase(0, head.head_size);
    RestRequest req;
    req.method = std::move(head.method);
    req.request_id = NewRequestId();
    bool keep_alive = head.keep_alive();
    if (!ReadBody(sock, head, max_body, req.body)) return false;

    std::string raw_query;
    SplitTarget(head.target, req.path, raw_query);
    req.headers = std::move(head.headers);
    RestResponse res = Dispatch(req, raw_query);
    out_.clear();
    SerializeResponse(res, keep_alive, req.method != "HEAD", CurrentHttpDate(), out_);
    SendAll(sock, out_);
    if (options.access_log || res.status >= 500) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - started)
                    .count();
      common::Log(res.status >= 500 ? common::LogLevel::kError : common::LogLevel::kInfo,
                  "request " + req.request_id + " " + req.method + " " + RouteShape(req.path) +
                      " -> " + std::to_string(res.status) + " in " + std::to_string(us) + "us");
    }
    return keep_alive;
  }

  // Reads the body announced by the head into `body`; answers and returns false on failure.
  bool ReadBody(Poco::Net::StreamSocket& sock, const HttpRequestHead& head, std::size_t max_body,
                std::string& body) {
    auto too_large = [&] {
      SendAndClose(sock, Outcome(common::Status(
                             common::StatusCode::kTooLarge,
                             "The request body exceeds the limit of " + std::to_string(max_body) +
                                 " bytes")));
      return false;
    };
    if (head.chunked()) {
      if (head.expects_continue()) SendAll(sock, "HTTP/1.1 100 Continue\r\n\r\n");
      std::string error;
      std::size_t consumed = 0;
      while (true) {
        ParseState st = DecodeChunkedBody(in_, max_body, body, consumed, error);
        if (st == ParseState::kComplete) break;
        if (st == ParseState::kError) {
          if (error == "body too large") return too_large();
          SendAndClose(sock, Outcome(common::InvalidError(error)));
          return false;
        }
        if (!Receive(sock)) return false;
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
      SendAndClose(sock, Outcome(common::InvalidError("Malformed Content-Length")));
      return false;
    }
    if (length > max_body) return too_large();  // refuse before reading it
    if (head.expects_continue() && in_.size() < length) {
      SendAll(sock, "HTTP/1.1 100 Continue\r\n\r\n");
    }
    while (in_.size() < length) {
      if (!Receive(sock)) return false;
    }
    body.assign(in_, 0, length);
    in_.erase(0, length);
    return true;
  }

  RestResponse Dispatch(RestRequest& req, const std::string& raw_query) {
    try {
      if (req.path == "/healthz") {
        RestResponse res;
        common::Status st = server_.health_();
        res.status = st.ok() ? 200 : 503;
        res.content_type = "application/json";
        res.body = st.ok() ? R"({"status":"ok"})"
                           : R"({"status":"unavailable","database":"unreachable"})";
        return res;
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
      req.base_url = "http://" +
                     (host.empty() ? server_.options_.bind + ":" + std::to_string(server_.port_)
                                   : std::string(host)) +
                     std::string(base);
      return server_.service_.Handle(req);
    } catch (const std::exception&) {
      common::LogError("request " + req.request_id + ": unexpected exception in the HTTP layer");
      return Outcome(common::InternalError("Internal server error (request " + req.request_id + ")"));
    }
  }

  HttpServer& server_;
  std::string in_;   // received, not yet consumed
  std::string out_;  // the response being sent (reused)
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

}  // namespace

HttpServer::HttpServer(const FhirService& service, std::function<common::Status()> health,
                       HttpServerOptions options)
    : service_(service), health_(std::move(health)), options_(std::move(options)) {}

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

common::Status HttpServer::Start() {
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
