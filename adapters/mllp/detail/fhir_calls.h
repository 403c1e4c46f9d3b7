#ifndef FOVEA_ADAPTERS_MLLP_DETAIL_FHIR_CALLS_H_
#define FOVEA_ADAPTERS_MLLP_DETAIL_FHIR_CALLS_H_

// Requests the HL7 v2 side makes of FhirService, in process (the same code as the HTTP API).

#include <string>

#include "common/status.h"
#include "common/json.h"
#include "fhir/rest/fhir_service.h"

namespace adapters::mllp::detail {

fhir::rest::RestRequest FhirRequest(std::string method, std::string path, std::string body,
                                    std::string request_id);
// GET path (below the FHIR base, query after '?'), answered as JSON; kNotFound for 404/410.
common::Result<common::JsonValue> FhirGet(const fhir::rest::FhirService& service,
                                          const std::string& path_and_query,
                                          const std::string& request_id);

}  // namespace adapters::mllp::detail

#endif  // FOVEA_ADAPTERS_MLLP_DETAIL_FHIR_CALLS_H_
