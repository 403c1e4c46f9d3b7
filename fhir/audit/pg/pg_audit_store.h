#ifndef FOVEA_FHIR_AUDIT_PG_PG_AUDIT_STORE_H_
#define FOVEA_FHIR_AUDIT_PG_PG_AUDIT_STORE_H_

// AuditStore on PostgreSQL: the audit_event table (fhir/store/pg/migrations/0004_audit_event.sql).
// Append is one COPY of all rows (the same columns ResourceStore::WriteWith's kAppendAuditEvents
// fills for a write's AuditEvent, inside the write's statement); Search is keyset-paged on
// (recorded, seq) with SQL assembled from constant fragments, every value a parameter.
// Thread-safe: every call borrows a connection from the pool.

#include <cstdint>
#include <vector>

#include "fhir/audit/audit_store.h"
#include "fhir/store/pg/connection_pool.h"

namespace fhir::audit::pg {

class PgAuditStore final : public AuditStore {
 public:
  // `pool` must outlive the store.
  explicit PgAuditStore(store::pg::ConnectionPool& pool) : pool_(pool) {}

  // kUnavailable when the database cannot be reached; nothing is stored then (one statement).
  common::Status Append(const std::vector<AuditRow>& rows) override;
  common::Result<AuditRow> Read(std::int64_t seq) override;
  // Newest first unless `oldest_first`; ties on `recorded` in seq order. A cursor (after_seq)
  // whose row does not exist gives an empty page.
  common::Result<AuditPage> Search(const AuditQuery& query) override;

 private:
  store::pg::ConnectionPool& pool_;
};

}  // namespace fhir::audit::pg

#endif  // FOVEA_FHIR_AUDIT_PG_PG_AUDIT_STORE_H_
