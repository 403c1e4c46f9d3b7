#ifndef FOVEA_FHIR_REST_HTTP_SERVER_H_
#define FOVEA_FHIR_REST_HTTP_SERVER_H_

// The HTTP/1.1 front: POCO's TCPServer accepts connections onto a bounded thread pool, and
// Fovea's own connection loop (http_parser.h) frames requests and writes each response in one
// send. POCO's HTTPServer was replaced because it cost five extra system calls per request
// (a fresh epoll set per keep-alive wait, getpeername/getsockname) — see docs/PERFORMANCE.md.
// Serves the FHIR API under /fhir/R4 and /healthz. Thread-safe.

#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "common/status.h"
#include "fhir/rest/fhir_service.h"

namespace Poco {
class ThreadPool;
namespace Net {
class TCPServer;
class StreamSocket;
}  // namespace Net
}  // namespace Poco

namespace fhir::rest {

inline constexpr const char* kFhirBasePath = "/fhir/R4";

struct HttpServerOptions {
  std::string bind = "127.0.0.1";
  int port = 8080;  // 0: any free port (tests)
  int max_threads = 64;  // one per open keep-alive connection
  int max_queued = 256;
  int keep_alive_seconds = 15;
  std::size_t max_head_bytes = 64 * 1024;  // request line + headers; 431 above
  bool access_log = false;  // one line per request: method, route shape, status, duration; no ids
};

class HttpServer {
 public:
  // `health` answers /healthz: OK -> 200, otherwise 503.
  HttpServer(const FhirService& service, std::function<common::Status()> health,
             HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  common::Status Start();
  // Stops accepting, closes open connections, waits for in-flight requests.
  void Stop();
  // The bound port (useful with port 0).
  int port() const { return port_; }

  class Connection;

 private:
  friend class Connection;
  void Register(Poco::Net::StreamSocket* socket);
  void Unregister(Poco::Net::StreamSocket* socket);

  const FhirService& service_;
  std::function<common::Status()> health_;
  HttpServerOptions options_;
  std::unique_ptr<Poco::ThreadPool> threads_;
  std::unique_ptr<Poco::Net::TCPServer> server_;
  int port_ = 0;
  std::mutex mu_;
  std::set<Poco::Net::StreamSocket*> open_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
};

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_HTTP_SERVER_H_
