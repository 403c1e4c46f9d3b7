#ifndef FOVEA_SUBSCRIPTIONS_PG_REST_HOOK_QUEUE_H_
#define FOVEA_SUBSCRIPTIONS_PG_REST_HOOK_QUEUE_H_

// The durable rest-hook work queue (migration 0007_rest_hook_delivery.sql): one row per rest-hook
// Subscription with its delivery cursor, consecutive failures and backoff. A subscription has
// work when it awaits its handshake (status requested), or is active with numbered events past
// its cursor or a heartbeat due, and its backoff has passed. Claim() takes one such row with
// SELECT ... FOR UPDATE SKIP LOCKED in a transaction that stays open while the caller delivers,
// so any number of workers on any number of nodes deliver each subscription's notifications
// once, one at a time and in order; a worker that dies releases its row with its session.
// One queue per worker: thread-compatible (one connection).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"

namespace fhir::store::pg {
class PgConnection;
}  // namespace fhir::store::pg

namespace subscriptions::pg {

struct ClaimedDelivery {
  std::string subscription_id;
  int subscription_version = 0;
  std::string subscription_json;       // the current version
  std::int64_t delivered_through = 0;  // the last event number the endpoint took
  int failures = 0;                    // consecutive, before this attempt
  std::int64_t events = 0;             // events-since-subscription-start
  bool heartbeat_due = false;
};

class RestHookQueue {
 public:
  static common::Result<std::unique_ptr<RestHookQueue>> Connect(const std::string& dsn);
  ~RestHookQueue();

  // Gives every rest-hook Subscription its row and drops the rows of deleted ones.
  common::Status Sync();
  // For a queue that only watches: LISTENs for committed notifications of rest-hook
  // subscriptions, then Wait() sleeps until one arrives (true) or `timeout` passes (false).
  common::Status Listen();
  common::Result<bool> Wait(std::chrono::milliseconds timeout);
  // The next subscription with work, locked until Delivered/Failed/Release; nullopt: none now.
  common::Result<std::optional<ClaimedDelivery>> Claim();
  // The claimed subscription's endpoint took everything through `through`: failures cleared,
  // the next heartbeat due after `heartbeat_period` (zero: none). Commits.
  common::Status Delivered(const std::string& subscription_id, std::int64_t through,
                           std::chrono::seconds heartbeat_period);
  // An attempt failed: `failures` consecutive now, not retried before `retry_after`. Commits.
  common::Status Failed(const std::string& subscription_id, int failures,
                        std::chrono::milliseconds retry_after, const std::string& error);
  // Ends the claim without changing the row.
  common::Status Release();

 private:
  explicit RestHookQueue(std::unique_ptr<fhir::store::pg::PgConnection> conn);
  std::unique_ptr<fhir::store::pg::PgConnection> conn_;
};

}  // namespace subscriptions::pg

#endif  // FOVEA_SUBSCRIPTIONS_PG_REST_HOOK_QUEUE_H_
