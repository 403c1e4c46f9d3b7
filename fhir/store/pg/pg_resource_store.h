#ifndef FOVEA_FHIR_STORE_PG_PG_RESOURCE_STORE_H_
#define FOVEA_FHIR_STORE_PG_PG_RESOURCE_STORE_H_

// ResourceStore on PostgreSQL (schema: fhir/store/pg/migrations). Thread-safe: every call
// borrows a connection from the pool. Every committed write is announced to the subscription
// matcher after its commit (EventAnnouncer).

#include "fhir/store/pg/connection_pool.h"
#include "fhir/store/pg/event_announcer.h"
#include "fhir/store/resource_store.h"

namespace fhir::store::pg {

class PgResourceStore final : public ResourceStore {
 public:
  explicit PgResourceStore(ConnectionPool& pool) : pool_(pool), announcer_(pool.dsn()) {}

  common::Result<CurrentState> Head(const std::string& type, const std::string& id) override;
  common::Result<ResourceVersion> Read(const std::string& type, const std::string& id) override;
  common::Result<ResourceVersion> ReadVersion(const std::string& type, const std::string& id,
                                              int version) override;
  common::Status Write(const ResourceVersion& v, int expected_version) override;
  common::Status WriteWith(const ResourceVersion& v, int expected_version,
                           const std::vector<ResourceVersion>& companions,
                           const std::string& audit_rows_json) override;
  // One explicit transaction on one connection: each run of consecutive new resources is one
  // statement, each other write one statement (as Write's), the audit rows one more.
  common::Status WriteAll(const std::vector<PlannedWrite>& writes,
                          const std::vector<ResourceVersion>& companions,
                          const std::string& audit_rows_json,
                          std::size_t* conflict_index = nullptr) override;
  common::Result<HistoryPage> History(const HistoryQuery& query) override;
  common::Status Ping() override;
  // See EventAnnouncer::SetLocalWake: the subscription matcher of this process.
  void SetLocalEventWake(std::function<bool()> wake) { announcer_.SetLocalWake(std::move(wake)); }
  const EventAnnouncer& announcer() const { return announcer_; }
  // Session-level advisory locks on a pooled connection, released (and the connection
  // returned) when the guard goes; a crashed node's session ends, and its locks with it.
  common::Result<std::unique_ptr<Guard>> LockCriteria(
      const std::vector<std::int64_t>& keys) override;

 private:
  ConnectionPool& pool_;
  EventAnnouncer announcer_;
};

}  // namespace fhir::store::pg

#endif  // FOVEA_FHIR_STORE_PG_PG_RESOURCE_STORE_H_
