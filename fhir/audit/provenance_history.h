#ifndef FOVEA_FHIR_AUDIT_PROVENANCE_HISTORY_H_
#define FOVEA_FHIR_AUDIT_PROVENANCE_HISTORY_H_

// Read and history when writes' Provenance is read from the audit trail (--provenance
// audit-trail, derived_provenance.h): a derived Provenance is served as a stored version would
// be (version 1, created at its write's time), and it joins `Provenance/_history` and the
// system `_history` where a stored one would have been, merged in time order with the versions
// the ResourceStore holds.
//
// Paging a merged history takes two cursors, one per side, so that neither side's entries are
// repeated or skipped whatever the other side holds: the store's (`before_seq`, the change
// log's order) and the audit trail's (AuditHistoryCursor). Thread-safe (the stores are).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "fhir/audit/audit_store.h"
#include "fhir/audit/derived_provenance.h"
#include "fhir/store/resource_store.h"

namespace fhir::audit {

// The derived Provenance `provenance` of `row` as a stored version: "Provenance", its id,
// version 1, created at the row's time, with its served JSON.
store::ResourceVersion DerivedProvenanceVersion(const AuditRow& row,
                                                const DerivedProvenance& provenance);

// The derived Provenance with this id ("audit-42-create"); kNotFound when there is none.
common::Result<store::ResourceVersion> ReadDerivedProvenance(AuditStore& audit, std::string_view id);

// Where the derived side of a history page starts: the `skip`-th Provenance of row `seq` (a
// row of a transaction with mixed changes has several), then the rows after it in the audit
// trail's order (recorded, then seq, newest first); with `past`, only the rows after it (a
// page that stopped looking there). Its text: "42" (skip 0), "42-1", "42~" (past); "0" is
// the end (nothing left).
struct AuditHistoryCursor {
  std::int64_t seq = 0;
  int skip = 0;
  bool past = false;
  bool end() const { return seq == 0; }
  std::string ToString() const;
  static std::optional<AuditHistoryCursor> Parse(std::string_view text);
};

// Whether a history of `type` (nullopt: the system's) includes derived Provenances.
bool HistoryHasDerivedProvenance(const std::optional<std::string>& type);

struct MergedHistoryPage {
  store::HistoryPage page;  // entries newest first; page.next_before_seq: unused
  // Set when more entries follow: where each side's next page starts (an ended side's cursor
  // is 0 for the store, AuditHistoryCursor{} for the audit trail).
  struct Next {
    std::int64_t before_seq = 0;  // the store's: versions older than this change-log position
    AuditHistoryCursor audit;
  };
  std::optional<Next> next;
};

// One page of the history `query` (type nullopt or "Provenance", no id) with the derived
// Provenances merged in: `query.before_seq` is the store side's cursor, `before_audit` the
// audit side's (nullopt: from the newest); `query.since` applies to both, `query.count` to
// the page.
common::Result<MergedHistoryPage> MergedHistory(store::ResourceStore& store, AuditStore& audit,
                                                const store::HistoryQuery& query,
                                                std::optional<AuditHistoryCursor> before_audit);

}  // namespace fhir::audit

#endif  // FOVEA_FHIR_AUDIT_PROVENANCE_HISTORY_H_
