#ifndef FOVEA_CONFORMANCE_ENGINE_HTTP_TRANSPORT_H_
#define FOVEA_CONFORMANCE_ENGINE_HTTP_TRANSPORT_H_

// The engine's only way to the network: an interface so that tests can swap it and so that
// the executor never names POCO. PocoHttpTransport speaks HTTP/1.1 and HTTPS (POCO NetSSL,
// the system's trust store) to any FHIR server.

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace conformance::engine {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// The first header named `name` (case-insensitive), or null.
const std::string* FindHeader(const HeaderList& headers, std::string_view name);

struct HttpRequest {
  std::string method;  // GET, POST, ...
  std::string url;     // absolute
  HeaderList headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;
  std::string reason;
  HeaderList headers;
  std::string body;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // kUnavailable when the server cannot be reached or does not answer; an HTTP error status is
  // a response, not an error.
  virtual common::Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

// Thread-compatible: one connection per request (a script is sequential).
class PocoHttpTransport final : public HttpTransport {
 public:
  // `ca_file`: PEM certificates trusted besides the system's (a hospital's private CA).
  explicit PocoHttpTransport(std::chrono::seconds timeout = std::chrono::seconds(60),
                             std::string ca_file = "")
      : timeout_(timeout), ca_file_(std::move(ca_file)) {}
  common::Result<HttpResponse> Send(const HttpRequest& request) override;

 private:
  std::chrono::seconds timeout_;
  std::string ca_file_;
};

}  // namespace conformance::engine

#endif  // FOVEA_CONFORMANCE_ENGINE_HTTP_TRANSPORT_H_
