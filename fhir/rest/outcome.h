#ifndef FOVEA_FHIR_REST_OUTCOME_H_
#define FOVEA_FHIR_REST_OUTCOME_H_

// OperationOutcome rendering and the single table from StatusCode to HTTP status and issue code.

#include <string>
#include <vector>

#include "common/status.h"
#include "fhir/model/issues.h"
#include "fhir/rest/http_types.h"

namespace fhir::rest {

int HttpStatusFor(common::StatusCode code);
model::IssueType IssueTypeFor(common::StatusCode code);

// {"resourceType":"OperationOutcome","issue":[...]} with locations as `expression`
// (and the deprecated `location` too, for R4 clients that read only that).
std::string OperationOutcomeJson(const std::vector<model::Issue>& issues);
// One error issue from a Status.
std::string OperationOutcomeJson(const common::Status& status);
// One informational issue (e.g. for Prefer: return=OperationOutcome, or "$validate: all OK").
std::string InformationOutcomeJson(const std::string& message);

// An operation's JSON answer: `status` with a FHIR JSON body (extensions' operations).
RestResponse FhirJsonResponse(int status, std::string body);
// A failed Status as its HTTP status and OperationOutcome.
RestResponse OutcomeResponse(const common::Status& status);

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_OUTCOME_H_
