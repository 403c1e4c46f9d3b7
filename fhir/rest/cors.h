#ifndef FOVEA_FHIR_REST_CORS_H_
#define FOVEA_FHIR_REST_CORS_H_

// Cross-origin resource sharing for browser apps served from other origins (SMART apps calling
// the token endpoint and the FHIR API). Only the configured origins get CORS headers; every
// other origin gets none, so browsers keep its pages from reading Fovea's answers. Credentials
// are bearer tokens, never cookies: no Access-Control-Allow-Credentials. Thread-safe (immutable).

#include <optional>
#include <string>
#include <vector>

#include "fhir/rest/http_types.h"

namespace fhir::rest {

class CorsPolicy {
 public:
  // Exact origins ("https://apps.example.org"); empty: no cross-origin access at all.
  explicit CorsPolicy(std::vector<std::string> allowed_origins = {})
      : allowed_(std::move(allowed_origins)) {}

  // The answer to a preflight (OPTIONS with Origin and Access-Control-Request-Method): 204 with
  // the allowed methods and headers for an allowed origin, 403 otherwise. nullopt when the
  // request is not a preflight.
  std::optional<RestResponse> Preflight(const RestRequest& request) const;
  // Adds Access-Control-Allow-Origin (and the headers a script may read) when the request's
  // Origin is allowed.
  void Decorate(const RestRequest& request, RestResponse& response) const;

 private:
  bool Allowed(std::string_view origin) const;

  std::vector<std::string> allowed_;
};

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_CORS_H_
