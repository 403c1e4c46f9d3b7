#ifndef FOVEA_SUBSCRIPTIONS_PG_PG_NOTIFICATION_STORE_H_
#define FOVEA_SUBSCRIPTIONS_PG_PG_NOTIFICATION_STORE_H_

// NotificationStore on PostgreSQL (migration 0005_subscriptions.sql). Thread-safe: each call
// borrows a pooled connection.

#include "fhir/store/pg/connection_pool.h"
#include "subscriptions/engine/notification_store.h"

namespace subscriptions::pg {

class PgNotificationStore final : public NotificationStore {
 public:
  explicit PgNotificationStore(fhir::store::pg::ConnectionPool& pool) : pool_(pool) {}
  common::Result<std::vector<std::string>> SubscriptionIds() override;
  common::Status SaveBindingToken(const std::string& token_hash,
                                  const std::vector<std::string>& subscription_ids,
                                  common::TimePoint expires, const std::string& reader) override;
  common::Result<BindingGrant> RedeemBindingToken(const std::string& token_hash,
                                                  common::TimePoint now) override;
  common::Result<std::map<std::string, std::int64_t>> EventCounts(
      const std::vector<std::string>& subscription_ids) override;
  common::Result<std::vector<NotificationEvent>> Events(const std::string& subscription_id,
                                                        std::int64_t since, std::int64_t until,
                                                        std::size_t limit,
                                                        bool with_content) override;
  common::Result<std::map<std::string, BindingGrant>> RedeemBindingTokens(
      const std::vector<std::string>& token_hashes, common::TimePoint now) override;
  common::Result<std::map<std::string, std::vector<NotificationEvent>>> EventsOf(
      const std::map<std::string, EventRange>& ranges, std::size_t limit) override;

 private:
  fhir::store::pg::ConnectionPool& pool_;
};

}  // namespace subscriptions::pg

#endif  // FOVEA_SUBSCRIPTIONS_PG_PG_NOTIFICATION_STORE_H_
