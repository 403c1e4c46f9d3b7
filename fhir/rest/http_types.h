#ifndef FOVEA_FHIR_REST_HTTP_TYPES_H_
#define FOVEA_FHIR_REST_HTTP_TYPES_H_

// Transport-neutral request and response, so the FHIR interactions can be tested without a
// socket and the POCO adapter stays a few lines.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/url.h"

namespace fhir::rest {

// Where the FHIR API lives below the server root.
inline constexpr const char* kFhirBasePath = "/fhir/R4";

struct RestRequest {
  std::string method;                                      // "GET"
  std::string path;                                        // below the FHIR base: "Patient/1"
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string base_url;    // "http://127.0.0.1:8080/fhir/R4", for Location and links
  std::string request_id;  // echoed in logs and X-Request-Id
  std::string peer_address;  // the client's IP address (for audit and rate limits)

  // Case-insensitive; empty when absent.
  std::string_view Header(std::string_view name) const;
  // First value of a query parameter; empty when absent.
  std::string_view Query(std::string_view name) const;
  bool HasQuery(std::string_view name) const;
  // The token of `Authorization: Bearer <token>` (RFC 6750; the scheme in any case); empty
  // when there is none.
  std::string_view BearerToken() const;
};

struct RestResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type;  // empty: no body
  std::string body;
  // Set by an operation that stored the AuditEvent of its writes with them: the service
  // records no second one. Not sent.
  bool audited = false;

  void SetHeader(std::string name, std::string value);
};

using common::ParseQueryString;
using common::UrlEncode;

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_HTTP_TYPES_H_
