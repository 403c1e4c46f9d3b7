#ifndef FOVEA_FHIR_REST_HTTP_SERVER_H_
#define FOVEA_FHIR_REST_HTTP_SERVER_H_

// The HTTP/1.1 front: POCO's TCPServer accepts connections onto a bounded thread pool, and
// Fovea's own connection loop (http_parser.h) frames requests and writes each response in one
// send. POCO's HTTPServer was replaced because it cost five extra system calls per request
// (a fresh epoll set per keep-alive wait, getpeername/getsockname) — see docs/PERFORMANCE.md.
// With TlsOptions set it speaks HTTPS (detail/transport.h; the handshake runs in the
// connection's thread). Request heads and bodies have total deadlines (slow-request
// protection). Serves the FHIR API under /fhir/R4 and /healthz, and hands connections that
// switch protocols (WebSocket) to whoever mounted the upgrade. Thread-safe.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "fhir/rest/cors.h"
#include "fhir/rest/detail/nonblocking_stream.h"
#include "fhir/rest/fhir_service.h"

namespace Poco {
class ThreadPool;
namespace Net {
class TCPServer;
class StreamSocket;
}  // namespace Net
}  // namespace Poco

namespace fhir::rest {
namespace detail {
class TlsContext;
}  // namespace detail

// HTTPS. Both files are PEM; an empty cert_chain_file means plain HTTP (which `fovea serve`
// allows only on a loopback address: see bind_address.h).
struct TlsOptions {
  std::string cert_chain_file;   // the server certificate first, then any intermediates
  std::string private_key_file;  // unencrypted; keep it mode 0600
  bool enabled() const { return !cert_chain_file.empty(); }
};

struct HttpServerOptions {
  std::string bind = "127.0.0.1";
  int port = 8080;  // 0: any free port (tests)
  int max_threads = 64;  // one per open keep-alive connection
  int max_queued = 256;
  int keep_alive_seconds = 15;  // idle wait for the next request; also the longest send stall
  std::size_t max_head_bytes = 64 * 1024;  // request line + headers; 431 above
  bool access_log = false;  // one line per request: method, route shape, status, duration; no ids
  // Browser origins allowed to call across origins (CORS); empty: none (see cors.h).
  std::vector<std::string> cors_origins;
  TlsOptions tls;
  // Slow-request ("slowloris") limits; 408 and a close when exceeded. A request head must be
  // complete this long after its first byte arrived (with TLS, the handshake too).
  int request_head_timeout_seconds = 10;
  // A body gets this long, plus one second for every min_body_bytes_per_second received, so a
  // large upload at a reasonable rate always fits and a trickle does not.
  int request_body_timeout_seconds = 30;
  std::size_t min_body_bytes_per_second = 16 * 1024;
};

class HttpServer {
 public:
  // `health` answers /healthz: OK -> 200, otherwise 503.
  HttpServer(const FhirService& service, std::function<common::Status()> health,
             HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Loads the TLS certificate and key (kInvalid when they are unusable) and starts listening
  // (kUnavailable when the address is taken). With TLS, SIGPIPE is set to ignored if it is at
  // its default: OpenSSL writes to the socket without MSG_NOSIGNAL, and a client that vanishes
  // mid-answer must not kill the process.
  common::Status Start();
  // Stops accepting, closes open connections, waits for in-flight requests.
  void Stop();
  // Serves requests whose path starts with `prefix` with `handler` (the path is passed whole),
  // checked in mount order before the FHIR API. Call before Start.
  using RequestHandler = std::function<RestResponse(const RestRequest&)>;
  void Mount(std::string prefix, RequestHandler handler) {
    mounts_.emplace_back(std::move(prefix), std::move(handler));
  }
  // Serves requests for exactly `path` (e.g. "/", which as a prefix would take everything),
  // checked before the prefix mounts. Call before Start.
  void MountExact(std::string path, RequestHandler handler) {
    exact_mounts_.emplace_back(std::move(path), std::move(handler));
  }
  // A protocol upgrade (RFC 9110 §7.8) on exactly `path`, e.g. a WebSocket endpoint. Every
  // request for that path goes to `answer`, which checks what it must (authorization, Origin,
  // room for one more connection) and the handshake (subscriptions/websocket/handshake.h).
  // After a 101 answer the connection's descriptor is duplicated for the hand-over first: if
  // that fails (the process is out of descriptors) the client gets a 503 instead, never an
  // accepted upgrade followed by a reset. Then the 101 is sent as is (its status line and
  // headers, no body, no Date) and the connection leaves the HTTP server: `adopt` receives
  // its stream (non-blocking; TLS already established), the bytes the client sent after the
  // request head, and the request; the connection's thread goes back to the pool and the
  // server never touches the connection again (Stop does not close it). When a 101 answer
  // cannot be carried out (no descriptor, the server stopping, the client gone before the 101
  // was written), `abandon` (if set) runs instead of `adopt`, e.g. to give back a place
  // `answer` reserved. Any other answer is sent as a normal response on a normal connection.
  // All three run on the connection's thread; `adopt` must return promptly (hand the stream
  // to an event loop). An exception from `answer` becomes a 500; one from `adopt` is logged,
  // and the stream is lost with it. Mounting a path again replaces its handler. Thread-safe:
  // may be called before or after Start.
  struct UpgradeHandler {
    std::function<RestResponse(const RestRequest&)> answer;
    std::function<void(std::unique_ptr<detail::NonBlockingStream> stream,
                       std::string initial_bytes, const RestRequest& request)>
        adopt;
    std::function<void(const RestRequest& request)> abandon;
  };
  void MountUpgrade(std::string path, UpgradeHandler handler);
  // The bound port (useful with port 0).
  int port() const { return port_; }
  bool tls() const { return tls_ != nullptr; }

  class Connection;

 private:
  friend class Connection;
  void Register(Poco::Net::StreamSocket* socket);
  void Unregister(Poco::Net::StreamSocket* socket);
  // Takes a connection out of the set Stop shuts down, for a protocol upgrade; false when the
  // server is stopping (the connection should just end).
  bool HandOver(Poco::Net::StreamSocket* socket);
  using UpgradeRoutes = std::vector<std::pair<std::string, std::shared_ptr<const UpgradeHandler>>>;
  // The handler for an upgrade path; null when `path` is not one.
  std::shared_ptr<const UpgradeHandler> FindUpgrade(const std::string& path) const;

  const FhirService& service_;
  std::function<common::Status()> health_;
  HttpServerOptions options_;
  CorsPolicy cors_;
  std::vector<std::pair<std::string, RequestHandler>> mounts_;
  std::vector<std::pair<std::string, RequestHandler>> exact_mounts_;
  // A snapshot, replaced whole by MountUpgrade; has_upgrades_ spares other requests the load.
  std::atomic<std::shared_ptr<const UpgradeRoutes>> upgrades_;
  std::atomic<bool> has_upgrades_{false};
  std::unique_ptr<detail::TlsContext> tls_;  // null: plain HTTP
  std::unique_ptr<Poco::ThreadPool> threads_;
  std::unique_ptr<Poco::Net::TCPServer> server_;
  int port_ = 0;
  std::mutex mu_;
  std::set<Poco::Net::StreamSocket*> open_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
};

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_HTTP_SERVER_H_
