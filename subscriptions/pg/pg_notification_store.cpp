#include "subscriptions/pg/pg_notification_store.h"

#include <chrono>

#include "subscriptions/engine/matching.h"

namespace subscriptions::pg {

using fhir::store::pg::PgQuery;
using fhir::store::pg::PgResult;

namespace {

constexpr PgQuery kEventCounts{
    "subscriptions.event_counts",
    "SELECT subscription_id, events FROM subscription_counter WHERE subscription_id = ANY($1::text[])"};

// $1 subscription, $2 since, $3 until, $4 limit; the content only when $5.
constexpr PgQuery kEvents{
    "subscriptions.events",
    "SELECT n.event_number, (extract(epoch FROM n.at) * 1000000)::bigint, n.type, n.id, n.version,"
    " n.interaction, CASE WHEN $5::boolean THEN h.content END"
    " FROM notification n LEFT JOIN resource_history h"
    "  ON $5::boolean AND h.type = n.type AND h.id = n.id AND h.version = n.version"
    " WHERE n.subscription_id = $1 AND n.event_number BETWEEN $2 AND $3"
    " ORDER BY n.event_number LIMIT $4"};

constexpr PgQuery kSubscriptionIds{
    "subscriptions.ids",
    "SELECT id FROM resource WHERE type = 'Subscription' AND NOT deleted ORDER BY id"};

// Saving a token also drops the expired ones: the table stays small without a janitor.
constexpr PgQuery kSaveToken{
    "subscriptions.save_token",
    "WITH gone AS (DELETE FROM ws_binding_token WHERE expires < now())"
    " INSERT INTO ws_binding_token (token_hash, subscription_ids, expires, reader)"
    " VALUES ($1, $2::text[], $3::timestamptz, NULLIF($4, '')::jsonb)"};
// One row per subscription the token binds (migration 0008 added `reader`).
constexpr PgQuery kRedeemToken{
    "subscriptions.redeem_token",
    "SELECT unnest(subscription_ids), coalesce(reader::text, ''),"
    " (extract(epoch FROM expires) * 1000000)::bigint FROM ws_binding_token"
    " WHERE token_hash = $1 AND expires > $2::timestamptz"};

}  // namespace

common::Status PgNotificationStore::SaveBindingToken(const std::string& token_hash,
                                                     const std::vector<std::string>& subscription_ids,
                                                     common::TimePoint expires,
                                                     const std::string& reader) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(kSaveToken, {token_hash, fhir::store::pg::PgTextArray(subscription_ids),
                                                                common::FormatInstantMicros(expires), reader}));
  (void)r;
  return common::Status::Ok();
}

common::Result<BindingGrant> PgNotificationStore::RedeemBindingToken(const std::string& token_hash,
                                                                     common::TimePoint now) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(kRedeemToken, {token_hash, common::FormatInstantMicros(now)}));
  if (r.rows() == 0) {
    return common::Status(common::StatusCode::kNotFound, "The binding token is unknown or has expired");
  }
  BindingGrant out;
  for (int i = 0; i < r.rows(); ++i) out.subscription_ids.emplace_back(r.Get(i, 0));
  out.reader = std::string(r.Get(0, 1));
  out.expires = common::TimePoint(std::chrono::microseconds(r.GetInt64(0, 2)));
  return out;
}

common::Result<std::vector<std::string>> PgNotificationStore::SubscriptionIds() {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(kSubscriptionIds, {}));
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.Get(i, 0));
  return out;
}

common::Result<std::map<std::string, std::int64_t>> PgNotificationStore::EventCounts(
    const std::vector<std::string>& subscription_ids) {
  std::map<std::string, std::int64_t> out;
  if (subscription_ids.empty()) return out;
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(kEventCounts, {fhir::store::pg::PgTextArray(subscription_ids)}));
  for (int i = 0; i < r.rows(); ++i) out[std::string(r.Get(i, 0))] = r.GetInt64(i, 1);
  return out;
}

common::Result<std::vector<NotificationEvent>> PgNotificationStore::Events(
    const std::string& subscription_id, std::int64_t since, std::int64_t until, std::size_t limit,
    bool with_content) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(
      PgResult r, conn->Execute(kEvents, {subscription_id, std::to_string(since), std::to_string(until),
                                          std::to_string(limit),
                                          std::string(with_content ? "true" : "false")}));
  std::vector<NotificationEvent> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    NotificationEvent e;
    e.number = r.GetInt64(i, 0);
    e.at = common::TimePoint(std::chrono::microseconds(r.GetInt64(i, 1)));
    e.type = std::string(r.Get(i, 2));
    e.id = std::string(r.Get(i, 3));
    e.version = static_cast<int>(r.GetInt64(i, 4));
    e.interaction = InteractionFromMethod(r.Get(i, 5));
    if (!r.IsNull(i, 6)) e.content = std::string(r.Get(i, 6));
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace subscriptions::pg
