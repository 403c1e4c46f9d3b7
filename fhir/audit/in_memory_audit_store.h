#ifndef FOVEA_FHIR_AUDIT_IN_MEMORY_AUDIT_STORE_H_
#define FOVEA_FHIR_AUDIT_IN_MEMORY_AUDIT_STORE_H_

// AuditStore kept in memory: for tests of the layers above it, and the executable statement of
// the AuditStore contract (audit_store_pgtest.cpp runs the same cases on it and on PostgreSQL).
// Thread-safe (one mutex).

#include <cstdint>
#include <mutex>
#include <vector>

#include "fhir/audit/audit_store.h"

namespace fhir::audit {

class InMemoryAuditStore final : public AuditStore {
 public:
  common::Status Append(const std::vector<AuditRow>& rows) override;
  common::Result<AuditRow> Read(std::int64_t seq) override;
  common::Result<AuditPage> Search(const AuditQuery& query) override;

  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  std::vector<AuditRow> rows_;  // GUARDED_BY(mu_), in seq order
  std::int64_t next_seq_ = 1;   // GUARDED_BY(mu_)
};

}  // namespace fhir::audit

#endif  // FOVEA_FHIR_AUDIT_IN_MEMORY_AUDIT_STORE_H_
