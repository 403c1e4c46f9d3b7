#ifndef FOVEA_FHIR_REST_HTTP_SERVER_H_
#define FOVEA_FHIR_REST_HTTP_SERVER_H_

// The HTTP front: POCO's HTTPServer (a bounded thread pool, keep-alive) in front of the
// FhirService. Serves the FHIR API under /fhir/R4 and /healthz. Thread-safe.

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "fhir/rest/fhir_service.h"

namespace Poco {
class ThreadPool;
namespace Net {
class HTTPServer;
}
}  // namespace Poco

namespace fhir::rest {

inline constexpr const char* kFhirBasePath = "/fhir/R4";

struct HttpServerOptions {
  std::string bind = "127.0.0.1";
  int port = 8080;  // 0: any free port (tests)
  int max_threads = 64;  // one per open keep-alive connection
  int max_queued = 256;
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
  void Stop();
  // The bound port (useful with port 0).
  int port() const { return port_; }

 private:
  const FhirService& service_;
  std::function<common::Status()> health_;
  HttpServerOptions options_;
  std::unique_ptr<Poco::ThreadPool> threads_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  int port_ = 0;
};

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_HTTP_SERVER_H_
