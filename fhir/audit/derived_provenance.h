#ifndef FOVEA_FHIR_AUDIT_DERIVED_PROVENANCE_H_
#define FOVEA_FHIR_AUDIT_DERIVED_PROVENANCE_H_

// The Provenance of a write, read from the write's own AuditEvent row instead of stored as a
// second resource (docs/AUDIT.md, "Provenance from the audit trail"). The row already says who
// (agent, client), when (recorded), what (targets, with their versions in the details) and from
// which request; the Provenance is rebuilt from it, as ServedAuditEventJson rebuilds the
// AuditEvent. One row gives one Provenance per kind of change it made (Provenance.activity is
// 0..1: a transaction that created some resources and updated others has two).
//
// Their ids are reserved: "audit-<seq>-<activity>" ("audit-42-create"), never a stored
// Provenance's. Stateless functions over value types: thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "fhir/audit/audit_store.h"
#include "fhir/audit/provenance.h"

namespace fhir::audit {

struct DerivedProvenance {
  std::string id;            // "audit-42-create"
  ProvenanceRecord record;   // what ProvenanceJson makes the resource of
};

// The Provenances of a write's row, in activity order (create, update, delete); none for a row
// that is not a write's (no targets) or whose write stored its Provenance as a resource (no
// AuditRecord::provenance_in_row).
std::vector<DerivedProvenance> DerivedProvenancesOf(const AuditRow& row);

// The Provenance as the API serves it: ProvenanceJson with "id" and meta (versionId 1,
// lastUpdated = recorded) after resourceType.
std::string ServedProvenanceJson(const DerivedProvenance& provenance);

// "audit-42-create" -> {42, kCreate}; nullopt for any other id.
struct DerivedProvenanceId {
  std::int64_t seq = 0;
  ProvenanceActivity activity = ProvenanceActivity::kCreate;
};
std::optional<DerivedProvenanceId> ParseDerivedProvenanceId(std::string_view id);
std::string DerivedProvenanceIdString(std::int64_t seq, ProvenanceActivity activity);
// Whether `id` has the reserved form's prefix: no client may create a Provenance with it.
bool IsReservedProvenanceId(std::string_view id);
// What a write (PUT, PATCH, DELETE) of such an id gets: kMethodNotAllowed, saying why.
common::Status ReservedProvenanceIdWrite();

// How a page of derived Provenances (a search's, a history's) reads the audit trail: rows per
// round trip while it fills, and at most this many rows before it is returned short with a next
// link. Rows give none when their clauses do not match, or when their write stored its
// Provenance as a resource (--provenance resource); a long run of such rows must not make one
// request read the whole trail.
inline constexpr int kAuditRowsPerFetch = 200;
inline constexpr int kMaxAuditRowsPerPage = 5000;

// The kind of change an AuditEvent action code records: 'C' create, 'D' delete, else update.
ProvenanceActivity ActivityOfAction(char action);

}  // namespace fhir::audit

#endif  // FOVEA_FHIR_AUDIT_DERIVED_PROVENANCE_H_
