#include "adapters/mllp/detail/fhir_calls.h"

#include "common/url.h"

namespace adapters::mllp::detail {

fhir::rest::RestRequest FhirRequest(std::string method, std::string path, std::string body,
                                    std::string request_id) {
  fhir::rest::RestRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.body = std::move(body);
  r.base_url = "urn:fovea:hl7v2";
  r.request_id = std::move(request_id);
  r.peer_address = "mllp";
  // The HL7 service authenticates every request as the HL7 interface (server/hl7v2_stack.cpp);
  // the token is only there because FhirService wants one.
  r.headers = {{"Authorization", "Bearer hl7v2-interface"},
               {"Content-Type", "application/fhir+json"},
               {"Accept", "application/fhir+json"},
               {"Prefer", "return=minimal"}};
  return r;
}

common::Result<common::JsonValue> FhirGet(const fhir::rest::FhirService& service,
                                          const std::string& path_and_query,
                                          const std::string& request_id) {
  std::size_t q = path_and_query.find('?');
  auto r = FhirRequest("GET", path_and_query.substr(0, q), "", request_id);
  if (q != std::string::npos) r.query = common::ParseQueryString(path_and_query.substr(q + 1));
  auto response = service.Handle(r);
  if (response.status == 404 || response.status == 410) {
    return common::NotFoundError(path_and_query.substr(0, q) + " not found");
  }
  if (response.status != 200) {
    return common::Status(response.status >= 500 ? common::StatusCode::kUnavailable : common::StatusCode::kInvalid,
                          "reading " + path_and_query.substr(0, q) + " failed (" + std::to_string(response.status) + ")");
  }
  return common::ParseJson(response.body);
}

}  // namespace adapters::mllp::detail
