#include "subscriptions/pg/rest_hook_queue.h"

#include "fhir/store/pg/connection.h"

namespace subscriptions::pg {

using common::Result;
using common::Status;
using fhir::store::pg::PgConnection;
using fhir::store::pg::PgQuery;
using fhir::store::pg::PgResult;

namespace {

constexpr PgQuery kBegin{"hooks.begin", "BEGIN"};
constexpr PgQuery kCommit{"hooks.commit", "COMMIT"};
constexpr PgQuery kRollback{"hooks.rollback", "ROLLBACK"};
// The matcher NOTIFYs fovea_rest_hook when a batch numbered events of a rest-hook subscription.
constexpr PgQuery kListenNotifications{"hooks.listen_notifications", "LISTEN fovea_rest_hook"};
constexpr PgQuery kSyncAdd{
    "hooks.sync_add",
    "INSERT INTO rest_hook_delivery (subscription_id)"
    " SELECT id FROM resource WHERE type = 'Subscription' AND NOT deleted"
    " AND content::jsonb #>> '{channel,type}' = 'rest-hook'"
    " ON CONFLICT (subscription_id) DO NOTHING"};
constexpr PgQuery kSyncDrop{
    "hooks.sync_drop",
    "DELETE FROM rest_hook_delivery d WHERE NOT EXISTS (SELECT 1 FROM resource r"
    " WHERE r.type = 'Subscription' AND r.id = d.subscription_id AND NOT r.deleted"
    " AND r.content::jsonb #>> '{channel,type}' = 'rest-hook')"};
constexpr PgQuery kClaim{
    "hooks.claim",
    "SELECT d.subscription_id, r.version, r.content, d.delivered_through, d.failures,"
    " coalesce(c.events, 0), coalesce(d.heartbeat_due <= now(), false)"
    " FROM rest_hook_delivery d"
    " JOIN resource r ON r.type = 'Subscription' AND r.id = d.subscription_id AND NOT r.deleted"
    // The count: the greater of the counter row and the highest notification (EventMatcher).
    " CROSS JOIN LATERAL (SELECT greatest("
    "  coalesce((SELECT k.events FROM subscription_counter k WHERE k.subscription_id = d.subscription_id), 0),"
    "  coalesce((SELECT max(n.event_number) FROM notification n WHERE n.subscription_id = d.subscription_id), 0))"
    "  AS events) c"
    " WHERE d.next_attempt <= now() AND (r.content::jsonb ->> 'status' = 'requested'"
    "   OR (r.content::jsonb ->> 'status' = 'active'"
    "       AND (coalesce(c.events, 0) > d.delivered_through OR d.heartbeat_due <= now())))"
    " ORDER BY d.next_attempt LIMIT 1 FOR UPDATE OF d SKIP LOCKED"};
constexpr PgQuery kDelivered{
    "hooks.delivered",
    "UPDATE rest_hook_delivery SET delivered_through = greatest(delivered_through, $2::bigint),"
    " failures = 0, last_error = NULL, next_attempt = now(),"
    " heartbeat_due = CASE WHEN $3::bigint > 0 THEN now() + make_interval(secs => $3::bigint) END"
    " WHERE subscription_id = $1"};
constexpr PgQuery kFailed{
    "hooks.failed",
    "UPDATE rest_hook_delivery SET failures = $2::integer, last_error = $4,"
    " next_attempt = now() + make_interval(secs => $3::double precision / 1000)"
    " WHERE subscription_id = $1"};

}  // namespace

RestHookQueue::RestHookQueue(std::unique_ptr<PgConnection> conn) : conn_(std::move(conn)) {}
RestHookQueue::~RestHookQueue() = default;

Result<std::unique_ptr<RestHookQueue>> RestHookQueue::Connect(const std::string& dsn) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, PgConnection::Connect(dsn));
  return std::unique_ptr<RestHookQueue>(new RestHookQueue(std::move(conn)));
}

Status RestHookQueue::Sync() {
  FOVEA_ASSIGN_OR_RETURN(PgResult added, conn_->Execute(kSyncAdd, {}));
  FOVEA_ASSIGN_OR_RETURN(PgResult dropped, conn_->Execute(kSyncDrop, {}));
  (void)added;
  (void)dropped;
  return Status::Ok();
}

Status RestHookQueue::Listen() {
  FOVEA_ASSIGN_OR_RETURN(PgResult notifications, conn_->ExecuteUnprepared(kListenNotifications, {}));
  (void)notifications;
  return Status::Ok();
}

Result<bool> RestHookQueue::Wait(std::chrono::milliseconds timeout) {
  return conn_->WaitForNotification(timeout);
}

Result<std::optional<ClaimedDelivery>> RestHookQueue::Claim() {
  FOVEA_ASSIGN_OR_RETURN(PgResult begun, conn_->ExecuteUnprepared(kBegin, {}));
  (void)begun;
  auto rows = conn_->Execute(kClaim, {});
  if (!rows.has_value() || rows->rows() == 0) {
    (void)conn_->ExecuteUnprepared(kRollback, {});
    if (!rows.has_value()) return rows.error();
    return std::optional<ClaimedDelivery>();
  }
  ClaimedDelivery c;
  c.subscription_id = std::string(rows->Get(0, 0));
  c.subscription_version = static_cast<int>(rows->GetInt64(0, 1));
  c.subscription_json = std::string(rows->Get(0, 2));
  c.delivered_through = rows->GetInt64(0, 3);
  c.failures = static_cast<int>(rows->GetInt64(0, 4));
  c.events = rows->GetInt64(0, 5);
  c.heartbeat_due = rows->GetBool(0, 6);
  return std::optional<ClaimedDelivery>(std::move(c));
}

Status RestHookQueue::Delivered(const std::string& subscription_id, std::int64_t through,
                                std::chrono::seconds heartbeat_period) {
  auto updated = conn_->Execute(
      kDelivered, {subscription_id, std::to_string(through), std::to_string(heartbeat_period.count())});
  if (!updated.has_value()) {
    (void)conn_->ExecuteUnprepared(kRollback, {});
    return updated.error();
  }
  FOVEA_ASSIGN_OR_RETURN(PgResult committed, conn_->ExecuteUnprepared(kCommit, {}));
  (void)committed;
  return Status::Ok();
}

Status RestHookQueue::Failed(const std::string& subscription_id, int failures,
                             std::chrono::milliseconds retry_after, const std::string& error) {
  auto updated = conn_->Execute(kFailed, {subscription_id, std::to_string(failures),
                                          std::to_string(retry_after.count()), error});
  if (!updated.has_value()) {
    (void)conn_->ExecuteUnprepared(kRollback, {});
    return updated.error();
  }
  FOVEA_ASSIGN_OR_RETURN(PgResult committed, conn_->ExecuteUnprepared(kCommit, {}));
  (void)committed;
  return Status::Ok();
}

Status RestHookQueue::Release() {
  FOVEA_ASSIGN_OR_RETURN(PgResult rolled, conn_->ExecuteUnprepared(kRollback, {}));
  (void)rolled;
  return Status::Ok();
}

}  // namespace subscriptions::pg
