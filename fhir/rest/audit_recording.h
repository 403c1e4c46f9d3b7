#ifndef FOVEA_FHIR_REST_AUDIT_RECORDING_H_
#define FOVEA_FHIR_REST_AUDIT_RECORDING_H_

// Turning a REST request into the audit trail's terms (fhir/audit): who called from where with
// which token, which patients a resource concerns, and the query of a search.

#include <string>
#include <string_view>
#include <vector>

#include "fhir/audit/audit_event.h"
#include "fhir/auth/principal.h"
#include "fhir/rest/http_types.h"

namespace fhir::rest {

// The code system of Fovea's staff roles, as PractitionerRole.code and AuditEvent agent roles.
inline constexpr const char* kStaffRoleSystem = "https://fovea.health/CodeSystem/staff-role";

// A record with the who and where filled in from the request and its principal.
audit::AuditRecord AuditRecordFor(const RestRequest& request, const auth::Principal& principal,
                                  std::string_view observer);

// The patients a stored resource concerns, as "Patient/id": the resource itself for a Patient,
// otherwise its `subject`, `patient` or `beneficiary` when they refer to a Patient. Cheap (one
// JSON parse), for the audit trail; access control uses compartments instead.
std::vector<std::string> PatientsOf(std::string_view type, std::string_view id,
                                    std::string_view content);

// "Observation?patient=Patient%2F1&_count=10": the request path and its parameters.
std::string AuditQuery(const RestRequest& request);

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_AUDIT_RECORDING_H_
