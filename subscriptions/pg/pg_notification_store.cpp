#include "subscriptions/pg/pg_notification_store.h"

#include <chrono>

#include "subscriptions/engine/matching.h"

namespace subscriptions::pg {

using fhir::store::pg::PgQuery;
using fhir::store::pg::PgResult;

namespace {

// A subscription's count is the greater of its counter row, which the matcher writes only now
// and then, and its highest notification (see EventMatcher's kRecord); absent when 0.
constexpr PgQuery kEventCounts{
    "subscriptions.event_counts",
    "SELECT s, events FROM (SELECT q.s, greatest("
    " coalesce((SELECT c.events FROM subscription_counter c WHERE c.subscription_id = q.s), 0),"
    " coalesce((SELECT max(n.event_number) FROM notification n WHERE n.subscription_id = q.s), 0)) AS events"
    " FROM unnest($1::text[]) AS q(s)) counted WHERE events > 0"};

// $1 subscription, $2 since, $3 until, $4 limit; the content only when $5.
constexpr PgQuery kEvents{
    "subscriptions.events",
    "SELECT n.event_number, (extract(epoch FROM n.at) * 1000000)::bigint, n.type, n.id, n.version,"
    " n.interaction, CASE WHEN $5::boolean THEN h.content END"
    " FROM notification n LEFT JOIN resource_history h"
    "  ON $5::boolean AND h.type = n.type AND h.id = n.id AND h.version = n.version"
    " WHERE n.subscription_id = $1 AND n.event_number BETWEEN $2 AND $3"
    " ORDER BY n.event_number LIMIT $4"};

// Events for several subscriptions in one statement: $1 ids, $2 since, $3 until, $4 with
// content (parallel arrays), $5 limit per subscription.
constexpr PgQuery kEventsOf{
    "subscriptions.events_of",
    "SELECT q.s, e.event_number, e.at_us, e.type, e.id, e.version, e.interaction, e.content"
    " FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::boolean[]) AS q(s, since, until, c)"
    " CROSS JOIN LATERAL ("
    "  SELECT n.event_number, (extract(epoch FROM n.at) * 1000000)::bigint AS at_us, n.type, n.id,"
    "   n.version, n.interaction, CASE WHEN q.c THEN h.content END AS content"
    "  FROM notification n LEFT JOIN resource_history h"
    "   ON q.c AND h.type = n.type AND h.id = n.id AND h.version = n.version"
    "  WHERE n.subscription_id = q.s AND n.event_number BETWEEN q.since AND q.until"
    "  ORDER BY n.event_number LIMIT $5) e"
    " ORDER BY q.s, e.event_number"};

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

// Several tokens at once: one row per (token, subscription).
constexpr PgQuery kRedeemTokens{
    "subscriptions.redeem_tokens",
    "SELECT token_hash, unnest(subscription_ids), coalesce(reader::text, ''),"
    " (extract(epoch FROM expires) * 1000000)::bigint FROM ws_binding_token"
    " WHERE token_hash = ANY($1::text[]) AND expires > $2::timestamptz"};

// A PostgreSQL array literal of numbers or booleans (no quoting needed).
template <class T, class Format>
std::string PgArray(const std::vector<T>& values, Format format) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += format(values[i]);
  }
  out += '}';
  return out;
}

NotificationEvent EventFromRow(const PgResult& r, int i, int first) {
  NotificationEvent e;
  e.number = r.GetInt64(i, first);
  e.at = common::TimePoint(std::chrono::microseconds(r.GetInt64(i, first + 1)));
  e.type = std::string(r.Get(i, first + 2));
  e.id = std::string(r.Get(i, first + 3));
  e.version = static_cast<int>(r.GetInt64(i, first + 4));
  e.interaction = InteractionFromMethod(r.Get(i, first + 5));
  if (!r.IsNull(i, first + 6)) e.content = std::string(r.Get(i, first + 6));
  return e;
}

}  // namespace

common::Result<std::map<std::string, BindingGrant>> PgNotificationStore::RedeemBindingTokens(
    const std::vector<std::string>& token_hashes, common::TimePoint now) {
  std::map<std::string, BindingGrant> out;
  if (token_hashes.empty()) return out;
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(kRedeemTokens, {fhir::store::pg::PgTextArray(token_hashes),
                                                                   common::FormatInstantMicros(now)}));
  for (int i = 0; i < r.rows(); ++i) {
    BindingGrant& grant = out[std::string(r.Get(i, 0))];
    grant.subscription_ids.emplace_back(r.Get(i, 1));
    grant.reader = std::string(r.Get(i, 2));
    grant.expires = common::TimePoint(std::chrono::microseconds(r.GetInt64(i, 3)));
  }
  return out;
}

common::Result<std::map<std::string, std::vector<NotificationEvent>>> PgNotificationStore::EventsOf(
    const std::map<std::string, EventRange>& ranges, std::size_t limit) {
  std::map<std::string, std::vector<NotificationEvent>> out;
  if (ranges.empty()) return out;
  std::vector<std::string> ids;
  std::vector<std::int64_t> since;
  std::vector<std::int64_t> until;
  std::vector<bool> content;
  for (const auto& [id, range] : ranges) {
    ids.push_back(id);
    since.push_back(range.since);
    until.push_back(range.until);
    content.push_back(range.with_content);
  }
  auto number = [](std::int64_t n) { return std::to_string(n); };
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(
      PgResult r, conn->Execute(kEventsOf, {fhir::store::pg::PgTextArray(ids), PgArray(since, number),
                                            PgArray(until, number),
                                            PgArray(content, [](bool b) { return std::string(b ? "t" : "f"); }),
                                            std::to_string(limit)}));
  std::vector<NotificationEvent>* current = nullptr;
  std::string_view current_id;
  for (int i = 0; i < r.rows(); ++i) {
    std::string_view id = r.Get(i, 0);
    if (current == nullptr || id != current_id) {
      current = &out[std::string(id)];
      current_id = id;
    }
    current->push_back(EventFromRow(r, i, 1));
  }
  return out;
}

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
  for (int i = 0; i < r.rows(); ++i) out.push_back(EventFromRow(r, i, 0));
  return out;
}

}  // namespace subscriptions::pg
