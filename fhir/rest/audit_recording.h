#ifndef FOVEA_FHIR_REST_AUDIT_RECORDING_H_
#define FOVEA_FHIR_REST_AUDIT_RECORDING_H_

// Turning a REST request into the audit trail's terms (fhir/audit): who called from where with
// which token, which patients a resource concerns, and the query of a search.

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "fhir/audit/audit_event.h"
#include "fhir/audit/provenance.h"
#include "fhir/auth/principal.h"
#include "fhir/rest/http_types.h"
#include "fhir/search/search_parameter.h"
#include "fhir/store/resource_store.h"

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

// Provenance.activity of a version written by `method`.
audit::ProvenanceActivity ProvenanceActivityOf(store::Method method);
// The AuditEvent action code of a version written by `method`: 'C', 'U' or 'D'.
char ActionCodeOf(store::Method method);

// What a set of writes stores with it, in the same transaction: its Provenance resources (the
// companions; none when Provenance is read from the audit trail) and its AuditEvent row.
struct WriteAudit {
  std::vector<store::ResourceVersion> companions;
  std::string audit_rows_json;
};

// The audit of `versions`, written together by one request: one AuditEvent row naming every
// version (`record` says who, where, which interaction and with which answer; its time,
// entities, their actions and the patients are filled in here) and, with `provenance`
// kResource, one Provenance per kind of change (Provenance.activity is 0..1), its agent the
// record's. `versions` must not be empty.
common::Result<WriteAudit> AuditWrites(const std::vector<const store::ResourceVersion*>& versions,
                                       audit::AuditRecord record,
                                       const search::SearchParameterRegistry* registry,
                                       audit::ProvenanceStorage provenance);
// The same for PlannedWrites (a transaction, a conditional delete, an operation's writes).
common::Result<WriteAudit> AuditWrites(const std::vector<store::PlannedWrite>& writes,
                                       audit::AuditRecord record,
                                       const search::SearchParameterRegistry* registry,
                                       audit::ProvenanceStorage provenance);

// The audit of a write the server makes on its own (an overdue-step alert Flag, a
// Subscription's status after its handshake or its failures), as a client's write has: the
// server is the only agent: `component` names the part that wrote ("Fovea step alerts"),
// `observer` the server (AuditEvent.source.observer).
common::Result<WriteAudit> AuditServerWrite(
    const store::ResourceVersion& written, std::string_view component, std::string_view observer,
    const search::SearchParameterRegistry* registry,
    audit::ProvenanceStorage provenance = audit::kDefaultProvenanceStorage);

// Writes `v` (compare-and-set on `expected_version`, as ResourceStore::Write) as a write the
// server makes on its own: with AuditServerWrite's Provenance and AuditEvent in the same
// statement when `observer` is set (audit on), plainly when it is empty (--auth off).
common::Status WriteAsServer(store::ResourceStore& store, const store::ResourceVersion& v,
                             int expected_version, std::string_view component,
                             std::string_view observer, const search::SearchParameterRegistry* registry,
                             audit::ProvenanceStorage provenance = audit::kDefaultProvenanceStorage);

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_AUDIT_RECORDING_H_
