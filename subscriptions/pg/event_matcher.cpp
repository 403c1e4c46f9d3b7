#include "subscriptions/pg/event_matcher.h"

#include <map>
#include <optional>
#include <vector>

#include "common/json.h"
#include "common/log.h"
#include "fhir/definitions/definitions.h"
#include "fhir/format/json_format.h"
#include "fhir/model/issues.h"
#include "fhir/search/index_extractor.h"
#include "fhir/store/pg/connection.h"
#include "subscriptions/engine/matching.h"
#include "subscriptions/engine/subscription_spec.h"

namespace subscriptions::pg {

using common::Result;
using common::Status;
using fhir::store::pg::PgConnection;
using fhir::store::pg::PgQuery;
using fhir::store::pg::PgResult;

namespace {

// The matcher's advisory lock: its own key space (the first int), apart from the conditional
// writers' and the migrations'.
constexpr PgQuery kTryLock{"matcher.try_lock", "SELECT pg_try_advisory_lock(7406513, 1)"};
constexpr PgQuery kListen{"matcher.listen", "LISTEN fovea_event"};
constexpr PgQuery kBegin{"matcher.begin", "BEGIN"};
constexpr PgQuery kCommit{"matcher.commit", "COMMIT"};
constexpr PgQuery kRollback{"matcher.rollback", "ROLLBACK"};
constexpr PgQuery kPending{
    "matcher.pending",
    "SELECT seq, type, id, version, interaction, (extract(epoch FROM at) * 1000000)::bigint"
    " FROM event WHERE NOT matched ORDER BY seq LIMIT $1"};
constexpr PgQuery kSubscriptions{
    "matcher.subscriptions",
    "SELECT id, content FROM resource WHERE type = 'Subscription' AND NOT deleted"};
constexpr PgQuery kCounters{"matcher.counters",
                            "SELECT subscription_id, events FROM subscription_counter"};
constexpr PgQuery kVersion{
    "matcher.version",
    "SELECT content FROM resource_history WHERE type = $1 AND id = $2 AND version = $3"};
constexpr PgQuery kInsertNotifications{
    "matcher.insert_notifications",
    "INSERT INTO notification (subscription_id, event_number, event_seq, type, id, version,"
    " interaction, at) SELECT r.s, r.n, r.q, r.t, r.i, r.v, r.m, r.a::timestamptz"
    " FROM jsonb_to_recordset($1::jsonb)"
    " AS r(s text, n bigint, q bigint, t text, i text, v integer, m text, a text)"};
constexpr PgQuery kUpsertCounters{
    "matcher.upsert_counters",
    "INSERT INTO subscription_counter (subscription_id, events)"
    " SELECT r.s, r.n FROM jsonb_to_recordset($1::jsonb) AS r(s text, n bigint)"
    " ON CONFLICT (subscription_id) DO UPDATE SET events = EXCLUDED.events"};
// Retention for the subscriptions a batch added to: $1 their ids, $2 events kept at least,
// $3 seconds kept at least.
constexpr PgQuery kTrim{
    "matcher.trim",
    "DELETE FROM notification n USING subscription_counter c"
    " WHERE c.subscription_id = ANY($1::text[]) AND n.subscription_id = c.subscription_id"
    " AND n.event_number <= c.events - $2::bigint"
    " AND n.at < now() - make_interval(secs => $3::double precision)"};
constexpr PgQuery kMarkMatched{"matcher.mark_matched",
                               "UPDATE event SET matched = true WHERE seq = ANY($1::bigint[])"};

// A stored version, parsed and indexed once for every subscription that looks at it.
struct LoadedVersion {
  fhir::model::Element tree;
  fhir::search::IndexRows rows;
  VersionView view() const { return {&tree, &rows}; }
};

Result<std::optional<LoadedVersion>> LoadVersion(PgConnection& conn, const std::string& type,
                                                 const std::string& id, int version,
                                                 const fhir::search::SearchParameterRegistry& search) {
  if (version < 1) return std::optional<LoadedVersion>();
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn.Execute(kVersion, {type, id, std::to_string(version)}));
  if (r.rows() == 0 || r.IsNull(0, 0)) return std::optional<LoadedVersion>();
  fhir::model::OperationOutcomeSink issues;
  auto tree = fhir::format::ParseResourceJson(r.Get(0, 0), fhir::definitions::Definitions::R4(), issues);
  if (!tree.has_value()) return std::optional<LoadedVersion>();
  LoadedVersion v;
  v.tree = std::move(tree).value();
  v.rows = fhir::search::ExtractIndex(v.tree, search);
  return std::optional<LoadedVersion>(std::move(v));
}

// The subscriptions that receive events: active (or in error: it keeps counting). Whether
// one has ended is checked per batch.
std::vector<SubscriptionSpec> LiveSubscriptions(PgResult& rows, const SpecContext& context) {
  std::vector<SubscriptionSpec> out;
  for (int i = 0; i < rows.rows(); ++i) {
    auto json = common::ParseJson(rows.Get(i, 1));
    if (!json.has_value()) continue;
    auto spec = ParseSubscription(*json, context);
    if (!spec.has_value()) continue;  // refused at write time; an older one the rules now refuse
    if (spec->status != "active" && spec->status != "error") continue;
    out.push_back(std::move(spec).value());
  }
  return out;
}

}  // namespace

EventMatcher::EventMatcher(std::string dsn, std::shared_ptr<fhir::search::LiveRegistry> registry,
                           const TopicRegistry& topics, MatcherOptions options)
    : dsn_(std::move(dsn)), registry_(std::move(registry)), topics_(topics), options_(std::move(options)) {}

EventMatcher::~EventMatcher() { Stop(); }

void EventMatcher::Start() {
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void EventMatcher::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void EventMatcher::SetActive(bool active) {
  {
    std::lock_guard lock(mu_);
    active_ = active;
  }
  active_changed_.notify_all();
}

bool EventMatcher::WaitUntilActive(std::chrono::milliseconds limit) {
  std::unique_lock lock(mu_);
  return active_changed_.wait_for(lock, limit, [this] { return active_.load(); });
}

Result<std::size_t> EventMatcher::MatchPending() {
  FOVEA_ASSIGN_OR_RETURN(auto conn, PgConnection::Connect(dsn_));
  FOVEA_ASSIGN_OR_RETURN(PgResult locked, conn->Execute(kTryLock, {}));
  if (!locked.GetBool(0, 0)) {
    return Status(common::StatusCode::kUnavailable, "another node runs the matcher");
  }
  std::size_t total = 0;
  Cache cache;
  for (;;) {
    FOVEA_ASSIGN_OR_RETURN(std::size_t n, MatchBatch(*conn, cache));
    if (n == 0) return total;
    total += n;
  }
}

void EventMatcher::Run() {
  while (!stopping_) {
    auto conn = PgConnection::Connect(dsn_);
    if (!conn.has_value()) {
      std::this_thread::sleep_for(options_.retry);  // the database is away: try again later
      continue;
    }
    auto locked = (*conn)->Execute(kTryLock, {});
    if (!locked.has_value() || !locked->GetBool(0, 0)) {
      // Another node matches. Wait, then try again: if it dies its session ends, and its lock.
      conn->reset();
      for (auto waited = std::chrono::milliseconds(0); waited < options_.retry && !stopping_;
           waited += std::chrono::milliseconds(100)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      continue;
    }
    if (!(*conn)->ExecuteUnprepared(kListen, {}).has_value()) continue;
    SetActive(true);
    Cache cache;  // a new lock session reads everything again
    while (!stopping_) {
      auto matched = MatchBatch(**conn, cache);
      if (!matched.has_value()) {
        common::LogWarning("subscription matcher: " + matched.error().message());
        break;  // reconnect; the lock goes with the session
      }
      if (*matched > 0) continue;  // more may be pending
      // Nothing pending: sleep until an event commits (or a while, to notice a stop).
      auto woke = (*conn)->WaitForNotification(std::chrono::milliseconds(250));
      if (!woke.has_value()) break;
    }
    SetActive(false);
  }
}

Result<std::size_t> EventMatcher::MatchBatch(PgConnection& conn, Cache& cache) {
  FOVEA_ASSIGN_OR_RETURN(PgResult begun, conn.ExecuteUnprepared(kBegin, {}));
  (void)begun;
  // The numbers this batch gives, per subscription (the last); they reach the cache only once
  // committed.
  std::map<std::string, std::int64_t> changed;
  bool saw_subscription = false;
  auto body = [&]() -> Result<std::size_t> {
    FOVEA_ASSIGN_OR_RETURN(PgResult events,
                           conn.Execute(kPending, {std::to_string(options_.batch_size)}));
    if (events.rows() == 0) return std::size_t{0};
    std::shared_ptr<const fhir::search::SearchParameterRegistry> search = registry_->Get();
    if (!cache.subscriptions_valid || cache.registry != search.get()) {
      SpecContext context{topics_, *search, options_.base_url};
      FOVEA_ASSIGN_OR_RETURN(PgResult subs_rows, conn.Execute(kSubscriptions, {}));
      cache.subscriptions = LiveSubscriptions(subs_rows, context);
      cache.registry = search.get();
      cache.subscriptions_valid = true;
    }
    if (!cache.counters_valid) {
      FOVEA_ASSIGN_OR_RETURN(PgResult counter_rows, conn.Execute(kCounters, {}));
      cache.counters.clear();
      for (int i = 0; i < counter_rows.rows(); ++i) {
        cache.counters[std::string(counter_rows.Get(i, 0))] = counter_rows.GetInt64(i, 1);
      }
      cache.counters_valid = true;
    }
    common::TimePoint now = common::SystemClock().Now();
    std::vector<const SubscriptionSpec*> subs;
    subs.reserve(cache.subscriptions.size());
    for (const SubscriptionSpec& s : cache.subscriptions) {
      if (!s.end || *s.end > now) subs.push_back(&s);
    }
    std::string notifications = "[";
    std::string seqs = "{";
    std::size_t n = 0;
    for (int row = 0; row < events.rows(); ++row) {
      ChangeEvent e;
      e.seq = events.GetInt64(row, 0);
      e.type = std::string(events.Get(row, 1));
      e.id = std::string(events.Get(row, 2));
      e.version = static_cast<int>(events.GetInt64(row, 3));
      e.interaction = InteractionFromMethod(events.Get(row, 4));
      e.at = common::TimePoint(std::chrono::microseconds(events.GetInt64(row, 5)));
      seqs += (n++ == 0 ? "" : ",") + std::to_string(e.seq);
      bool covered = false;
      for (const SubscriptionSpec* s : subs) covered = covered || s->FiltersFor(e.type) != nullptr;
      if (covered) {
        FOVEA_ASSIGN_OR_RETURN(auto previous, LoadVersion(conn, e.type, e.id, e.version - 1, *search));
        std::optional<LoadedVersion> current;
        if (e.interaction != Interaction::kDelete) {
          FOVEA_ASSIGN_OR_RETURN(current, LoadVersion(conn, e.type, e.id, e.version, *search));
        }
        VersionView before = previous ? previous->view() : VersionView{};
        VersionView after = current ? current->view() : VersionView{};
        for (const SubscriptionSpec* s : subs) {
          if (!Notifies(*s, e, before, after)) continue;
          auto last = changed.find(s->id);
          std::int64_t number;
          if (last != changed.end()) {
            number = ++last->second;
          } else {
            auto counted = cache.counters.find(s->id);
            number = (counted != cache.counters.end() ? counted->second : 0) + 1;
            changed.emplace(s->id, number);
          }
          if (notifications.size() > 1) notifications += ',';
          notifications += "{\"s\":";
          common::AppendJsonString(notifications, s->id);
          notifications += ",\"n\":" + std::to_string(number) + ",\"q\":" + std::to_string(e.seq) + ",\"t\":";
          common::AppendJsonString(notifications, e.type);
          notifications += ",\"i\":";
          common::AppendJsonString(notifications, e.id);
          notifications += ",\"v\":" + std::to_string(e.version) + ",\"m\":";
          common::AppendJsonString(notifications, events.Get(row, 4));
          notifications += ",\"a\":";
          common::AppendJsonString(notifications, common::FormatInstantMicros(e.at));
          notifications += '}';
        }
      }
      // A change to a Subscription changes who is notified of what follows: end the batch.
      if (e.type == "Subscription") {
        saw_subscription = true;
        break;
      }
    }
    notifications += ']';
    seqs += '}';
    if (!changed.empty()) {
      std::string counts = "[";
      for (const auto& [id, number] : changed) {
        if (counts.size() > 1) counts += ',';
        counts += "{\"s\":";
        common::AppendJsonString(counts, id);
        counts += ",\"n\":" + std::to_string(number) + "}";
      }
      counts += ']';
      FOVEA_ASSIGN_OR_RETURN(PgResult inserted, conn.Execute(kInsertNotifications, {notifications}));
      FOVEA_ASSIGN_OR_RETURN(PgResult upserted, conn.Execute(kUpsertCounters, {counts}));
      std::vector<std::string> ids;
      for (const auto& [id, number] : changed) ids.push_back(id);
      FOVEA_ASSIGN_OR_RETURN(
          PgResult trimmed,
          conn.Execute(kTrim, {fhir::store::pg::PgTextArray(ids), std::to_string(options_.retain_events),
                               std::to_string(options_.retain_for.count())}));
      (void)inserted;
      (void)upserted;
      (void)trimmed;
    }
    FOVEA_ASSIGN_OR_RETURN(PgResult marked, conn.Execute(kMarkMatched, {seqs}));
    (void)marked;
    return n;
  };
  Result<std::size_t> result = body();
  if (!result.has_value()) {
    (void)conn.ExecuteUnprepared(kRollback, {});
    cache = Cache{};  // whatever this batch assumed is gone with it
    return result;
  }
  auto committed = conn.ExecuteUnprepared(kCommit, {});
  if (!committed.has_value()) {
    cache = Cache{};  // committed or not: read it all again
    return committed.error();
  }
  for (const auto& [id, number] : changed) cache.counters[id] = number;
  if (saw_subscription) cache.subscriptions_valid = false;
  return result;
}

}  // namespace subscriptions::pg
