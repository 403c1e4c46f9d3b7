#ifndef FOVEA_FHIR_AUDIT_PG_PG_AUDIT_STORE_H_
#define FOVEA_FHIR_AUDIT_PG_PG_AUDIT_STORE_H_

// AuditStore on PostgreSQL, over two tables:
//  * audit_event (migration 0004): one row per write's AuditEvent, which ResourceStore::WriteWith
//    stores inside the write's own statement;
//  * audit_block (migration 0016, fhir/audit/pg/audit_block.h): what Append stores, AuditLog's
//    batches, one row per batch of up to kMaxBlockEvents events.
// Read and Search see both as one trail. Search is keyset-paged on (recorded, seq): the
// audit_event half in SQL, the block half by walking the blocks that may hold matches in the
// page's order and decoding them, then the two merged. SQL is assembled from constant
// fragments, every value a parameter. Thread-safe: every call borrows a connection from the pool.

#include <cstdint>
#include <string_view>
#include <vector>

#include "fhir/audit/audit_store.h"
#include "fhir/store/pg/connection_pool.h"

namespace fhir::audit::pg {

class PgAuditStore final : public AuditStore {
 public:
  // `pool` must outlive the store.
  explicit PgAuditStore(store::pg::ConnectionPool& pool) : pool_(pool) {}

  // The rows as blocks, in one statement: all or none. kUnavailable when the database cannot be
  // reached.
  common::Status Append(const std::vector<AuditRow>& rows) override;
  // The lines as blocks, stored as they are (a block's `events` is its lines); otherwise as
  // Append.
  common::Status AppendLines(std::string_view lines) override;
  common::Result<AuditRow> Read(std::int64_t seq) override;
  // Newest first unless `oldest_first`; ties on `recorded` in seq order. A cursor (after_seq)
  // whose row does not exist gives an empty page.
  common::Result<AuditPage> Search(const AuditQuery& query) override;

 private:
  store::pg::ConnectionPool& pool_;
};

}  // namespace fhir::audit::pg

#endif  // FOVEA_FHIR_AUDIT_PG_PG_AUDIT_STORE_H_
