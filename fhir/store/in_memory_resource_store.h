#ifndef FOVEA_FHIR_STORE_IN_MEMORY_RESOURCE_STORE_H_
#define FOVEA_FHIR_STORE_IN_MEMORY_RESOURCE_STORE_H_

// A second, explicit ResourceStore kept in memory: for unit tests of the layers above the store,
// and as the executable statement of the store contract (tests run the same cases against both).
// Thread-safe (one mutex).

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/striped_mutex.h"
#include "fhir/store/resource_store.h"

namespace fhir::store {

class InMemoryResourceStore final : public ResourceStore {
 public:
  common::Result<CurrentState> Head(const std::string& type, const std::string& id) override;
  common::Result<ResourceVersion> Read(const std::string& type, const std::string& id) override;
  common::Result<ResourceVersion> ReadVersion(const std::string& type, const std::string& id,
                                              int version) override;
  common::Status Write(const ResourceVersion& v, int expected_version) override;
  common::Status WriteWith(const ResourceVersion& v, int expected_version,
                           const std::vector<ResourceVersion>& companions,
                           const std::string& audit_rows_json) override;
  common::Status WriteAll(const std::vector<PlannedWrite>& writes,
                          const std::vector<ResourceVersion>& companions,
                          const std::string& audit_rows_json,
                          std::size_t* conflict_index = nullptr) override;
  common::Result<HistoryPage> History(const HistoryQuery& query) override;
  common::Status Ping() override { return common::Status::Ok(); }
  common::Result<std::unique_ptr<Guard>> LockCriteria(
      const std::vector<std::int64_t>& keys) override;

  // The AuditEvent rows committed by WriteWith, in order, each as a compact JSON object.
  std::vector<std::string> AuditRowsForTesting() const;

 private:
  // kVersionConflict unless every resource of `created` is new and named once. Requires mu_.
  common::Status CheckAbsentLocked(const std::vector<ResourceVersion>& created) const;
  // Appends `v` with the next change-log position. Requires mu_.
  void AppendLocked(const ResourceVersion& v);

  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::vector<ResourceVersion>> versions_;  // GUARDED_BY(mu_)
  std::int64_t next_seq_ = 1;  // GUARDED_BY(mu_)
  std::vector<std::string> audit_rows_;  // GUARDED_BY(mu_)
  common::StripedMutex<64> criteria_;     // LockCriteria
};

}  // namespace fhir::store

#endif  // FOVEA_FHIR_STORE_IN_MEMORY_RESOURCE_STORE_H_
