#ifndef FOVEA_FHIR_AUDIT_PROVENANCE_H_
#define FOVEA_FHIR_AUDIT_PROVENANCE_H_

// The Provenance of a write (hl7.org/fhir/R4/provenance.html): which versions it produced, when,
// the kind of change, and who made it through which application. Stored with the write in one
// transaction (fhir/audit/audit_log.h: ProvenanceCompanion). docs/AUDIT.md describes the shape.
// Stateless functions over value types: thread-safe.

#include <string>
#include <vector>

#include "common/clock.h"

namespace fhir::audit {

// Where the Provenance of a write lives (docs/AUDIT.md, "Provenance from the audit trail").
// kAuditTrail, the default: none is stored; the write's AuditEvent row is the record, and
// Provenance/audit-<seq>-<activity> is rebuilt from it (derived_provenance.h), found by search
// (provenance_search.h) and history (provenance_history.h), with the limits they name (no
// Subscription on Provenance). kResource: a Provenance resource stored with the write (a second
// resource, its history, change-log event and index rows: about half a create's cost).
enum class ProvenanceStorage { kResource, kAuditTrail };
inline constexpr ProvenanceStorage kDefaultProvenanceStorage = ProvenanceStorage::kAuditTrail;

// Provenance.activity, from http://terminology.hl7.org/CodeSystem/v3-DataOperation.
enum class ProvenanceActivity { kCreate, kUpdate, kDelete };

struct ProvenanceRecord {
  // The versions written, version-specific: "Observation/1/_history/2" (1..*). For a deletion,
  // the version that records it.
  std::vector<std::string> targets;
  common::TimePoint recorded{};  // ProvenanceCompanion fills in "now" when unset
  ProvenanceActivity activity = ProvenanceActivity::kCreate;
  // The user who made the change: a reference ("Practitioner/abc") and/or a display name.
  std::string agent_reference;
  std::string agent_display;
  std::string on_behalf_of;  // a reference: "Organization/1"
  std::string client_id;     // the application that made the call (its own agent)
  std::string request_id;    // X-Request-Id
};

// The canonical R4 JSON of the Provenance for `record` (no id, no meta). Agents: the user
// (type author), the client application (type DCM 110150 Application); with neither known, one
// agent whose who.display is "anonymous" (Provenance.agent is 1..*).
std::string ProvenanceJson(const ProvenanceRecord& record);

}  // namespace fhir::audit

#endif  // FOVEA_FHIR_AUDIT_PROVENANCE_H_
