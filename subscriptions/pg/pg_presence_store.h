#ifndef FOVEA_SUBSCRIPTIONS_PG_PG_PRESENCE_STORE_H_
#define FOVEA_SUBSCRIPTIONS_PG_PG_PRESENCE_STORE_H_

// Presence in PostgreSQL (migration 0011, table session_presence): one row per (node, socket,
// session). Every change that alters who is active on a session announces itself with
// NOTIFY fovea_presence (payload: PresenceChangeJson) in the statement that makes it, so every
// node hears of joins and leaves once they are committed. Thread-safe (a pool connection per
// call).

#include "fhir/store/pg/connection_pool.h"
#include "subscriptions/engine/presence.h"

namespace subscriptions::pg {

inline constexpr const char* kPresenceChannel = "fovea_presence";

class PgPresenceStore : public PresenceStore {
 public:
  explicit PgPresenceStore(fhir::store::pg::ConnectionPool& pool) : pool_(pool) {}

  common::Status Join(const std::string& node, std::int64_t connection, const std::string& session,
                      const StaffMember& staff) override;
  common::Status Leave(const std::string& node, std::int64_t connection, const std::string& session) override;
  common::Status LeaveAll(const std::string& node) override;
  common::Status Touch(const std::string& node) override;
  common::Status Expire(std::chrono::seconds ttl) override;
  common::Result<std::vector<PresentStaff>> ActiveOn(const std::string& session) override;

 private:
  fhir::store::pg::ConnectionPool& pool_;
};

}  // namespace subscriptions::pg

#endif  // FOVEA_SUBSCRIPTIONS_PG_PG_PRESENCE_STORE_H_
