#ifndef FOVEA_SUBSCRIPTIONS_ENGINE_NOTIFICATION_STORE_H_
#define FOVEA_SUBSCRIPTIONS_ENGINE_NOTIFICATION_STORE_H_

// Where the numbered events of subscriptions are kept (written by the matcher; read by
// $status, $events and the channels). Implementation: subscriptions/pg/PgNotificationStore.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "subscriptions/engine/notification_bundle.h"

namespace subscriptions {

// What a binding token grants: the subscriptions it binds and, for full-resource payloads, who
// it was issued to (`reader`: an opaque serialised principal, empty when unknown) and until when.
struct BindingGrant {
  std::vector<std::string> subscription_ids;
  std::string reader;
  common::TimePoint expires{};
};

// The events of one subscription EventsOf reads: those numbered `since`..`until` (inclusive),
// with each version's stored JSON when `with_content`.
struct EventRange {
  std::int64_t since = 1;
  std::int64_t until = 0;
  bool with_content = false;
};

class NotificationStore {
 public:
  virtual ~NotificationStore() = default;
  // The ids of every Subscription resource that is not deleted.
  virtual common::Result<std::vector<std::string>> SubscriptionIds() = 0;
  // Keeps a WebSocket binding token (its hash) for `subscription_ids` until `expires`, with the
  // serialised principal it was issued to (`reader`, may be empty).
  virtual common::Status SaveBindingToken(const std::string& token_hash,
                                          const std::vector<std::string>& subscription_ids,
                                          common::TimePoint expires, const std::string& reader) = 0;
  // What a token grants, if it is known and not expired at `now`; kNotFound else.
  virtual common::Result<BindingGrant> RedeemBindingToken(const std::string& token_hash,
                                                          common::TimePoint now) = 0;
  // events-since-subscription-start per subscription id (absent: 0).
  virtual common::Result<std::map<std::string, std::int64_t>> EventCounts(
      const std::vector<std::string>& subscription_ids) = 0;
  // The events numbered `since`..`until` (inclusive) of one subscription, oldest first, at most
  // `limit`; with `with_content`, each carries its version's stored JSON.
  virtual common::Result<std::vector<NotificationEvent>> Events(const std::string& subscription_id,
                                                                std::int64_t since,
                                                                std::int64_t until,
                                                                std::size_t limit,
                                                                bool with_content) = 0;

  // Batched forms for the WebSocket dispatcher, which serves every socket of the node from one
  // thread: one round trip instead of one per token or per subscription. The defaults call the
  // single forms; PgNotificationStore answers each in one statement.
  //
  // What each known, unexpired token grants, by token hash (unknown or expired ones are absent).
  virtual common::Result<std::map<std::string, BindingGrant>> RedeemBindingTokens(
      const std::vector<std::string>& token_hashes, common::TimePoint now) {
    std::map<std::string, BindingGrant> out;
    for (const std::string& hash : token_hashes) {
      auto grant = RedeemBindingToken(hash, now);
      if (grant.has_value()) {
        out.emplace(hash, std::move(grant).value());
      } else if (grant.error().code() != common::StatusCode::kNotFound) {
        return grant.error();
      }
    }
    return out;
  }
  // Per subscription id, what Events returns for its range with `limit` (absent when none).
  virtual common::Result<std::map<std::string, std::vector<NotificationEvent>>> EventsOf(
      const std::map<std::string, EventRange>& ranges, std::size_t limit) {
    std::map<std::string, std::vector<NotificationEvent>> out;
    for (const auto& [id, range] : ranges) {
      auto events = Events(id, range.since, range.until, limit, range.with_content);
      if (!events.has_value()) return events.error();
      if (!events->empty()) out.emplace(id, std::move(events).value());
    }
    return out;
  }
};

}  // namespace subscriptions

#endif  // FOVEA_SUBSCRIPTIONS_ENGINE_NOTIFICATION_STORE_H_
