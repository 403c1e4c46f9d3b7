#include "fhir/rest/cors.h"

#include <algorithm>

#include "fhir/rest/outcome.h"

namespace fhir::rest {
namespace {

constexpr const char* kAllowedMethods = "GET, HEAD, POST, PUT, PATCH, DELETE";
constexpr const char* kAllowedHeaders =
    "Authorization, Content-Type, Accept, If-Match, If-None-Match, If-Modified-Since, Prefer, "
    "X-Request-Id";
constexpr const char* kExposedHeaders =
    "Location, Content-Location, ETag, Last-Modified, X-Request-Id, WWW-Authenticate, "
    "Retry-After";

}  // namespace

bool CorsPolicy::Allowed(std::string_view origin) const {
  return !origin.empty() && std::find(allowed_.begin(), allowed_.end(), origin) != allowed_.end();
}

std::optional<RestResponse> CorsPolicy::Preflight(const RestRequest& request) const {
  if (request.method != "OPTIONS" || request.Header("Origin").empty() ||
      request.Header("Access-Control-Request-Method").empty()) {
    return std::nullopt;
  }
  RestResponse res;
  res.SetHeader("Vary", "Origin");
  if (!Allowed(request.Header("Origin"))) {
    res.status = 403;
    res.content_type = "application/fhir+json; charset=utf-8";
    res.body = OperationOutcomeJson(common::Status(
        common::StatusCode::kForbidden, "Cross-origin requests from this origin are not allowed"));
    return res;
  }
  res.status = 204;
  res.SetHeader("Access-Control-Allow-Origin", std::string(request.Header("Origin")));
  res.SetHeader("Access-Control-Allow-Methods", kAllowedMethods);
  res.SetHeader("Access-Control-Allow-Headers", kAllowedHeaders);
  res.SetHeader("Access-Control-Max-Age", "600");
  return res;
}

void CorsPolicy::Decorate(const RestRequest& request, RestResponse& response) const {
  std::string_view origin = request.Header("Origin");
  if (origin.empty()) return;
  response.SetHeader("Vary", "Origin");
  if (!Allowed(origin)) return;
  response.SetHeader("Access-Control-Allow-Origin", std::string(origin));
  response.SetHeader("Access-Control-Expose-Headers", kExposedHeaders);
}

}  // namespace fhir::rest
