#include "subscriptions/pg/event_matcher.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/json.h"
#include "common/log.h"
#include "common/thread_name.h"
#include "fhir/definitions/definitions.h"
#include "fhir/format/json_format.h"
#include "fhir/model/issues.h"
#include "fhir/search/index_extractor.h"
#include "fhir/store/pg/connection.h"
#include "subscriptions/engine/announcement.h"
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
// The pending events in order, each with the stored versions matching needs (the one before
// and its own, for the types $2 some live subscription covers): one round trip per batch. Each
// version is a probe of resource_history's primary key, written as a subquery per event so
// that no plan joins the whole history.
constexpr PgQuery kPending{
    "matcher.pending",
    "SELECT e.seq, e.type, e.id, e.version, e.interaction, (extract(epoch FROM e.at) * 1000000)::bigint,"
    " CASE WHEN e.type = ANY($2::text[]) THEN (SELECT h.content FROM resource_history h"
    "  WHERE h.type = e.type AND h.id = e.id AND h.version = e.version - 1) END,"
    " CASE WHEN e.type = ANY($2::text[]) AND e.interaction <> 'DELETE' THEN (SELECT h.content"
    "  FROM resource_history h WHERE h.type = e.type AND h.id = e.id AND h.version = e.version) END"
    " FROM (SELECT seq, type, id, version, interaction, at FROM event WHERE NOT matched"
    "  ORDER BY seq LIMIT $1) e"
    " ORDER BY e.seq"};
// The matcher's session settings.
// - Its commits do not wait for the disk. Every row kRecord writes (the numbered
//   notifications, the counters, the events' `matched` flags) is derived from the change log
//   and the Subscriptions, which their own writers committed durably, and all of it commits in
//   one statement. A PostgreSQL crash can lose only the last such commits (any later durable
//   commit flushes the log up to itself, and the log is replayed as a prefix); the events they
//   matched are then unmatched again, and matching them again in the same order against the
//   same Subscriptions gives the same numbers. A server killed by SIGKILL loses nothing: its
//   commits are in PostgreSQL's log already.
// - No sequential scans. Every statement here probes indexes; its plan is kept for the
//   session, and a plan made while a table was small (a new database) must not stay a scan of
//   that table once it holds millions of rows: measured, a scan of all of `notification` per
//   batch (the retention DELETE) and hash joins over all of `resource_history` (kPending).
// - Generic plans from the first execution. Left to choose, PostgreSQL kept planning kRecord
//   afresh for every batch (its array parameters make each custom plan look cheaper): 210-350
//   µs of planning per batch, which at one write at a time was one batch per write
//   (pg_stat_statements, docs/PERFORMANCE.md). The plans do not depend on the values.
constexpr PgQuery kSessionSettings{
    "matcher.session",
    "SELECT set_config('synchronous_commit', 'off', false), set_config('enable_seqscan', 'off', false),"
    " set_config('plan_cache_mode', 'force_generic_plan', false)"};
constexpr PgQuery kSubscriptions{
    "matcher.subscriptions",
    "SELECT id, content FROM resource WHERE type = 'Subscription' AND NOT deleted"};
constexpr PgQuery kSubscriptionsById{
    "matcher.subscriptions_by_id",
    "SELECT id, content FROM resource WHERE type = 'Subscription' AND id = ANY($1::text[]) AND NOT deleted"};
// Counts at takeover: a subscription's count is the greater of its counter row (written only
// now and then, see kRecord) and its highest numbered notification (retention never deletes
// that one: it keeps at least the last `retain_events`, and moves the counter up first).
constexpr PgQuery kCounters{
    "matcher.counters",
    "SELECT s.id, greatest("
    " coalesce((SELECT c.events FROM subscription_counter c WHERE c.subscription_id = s.id), 0),"
    " coalesce((SELECT max(n.event_number) FROM notification n WHERE n.subscription_id = s.id), 0))"
    " FROM (SELECT id FROM resource WHERE type = 'Subscription'"
    "  UNION SELECT subscription_id FROM subscription_counter) AS s(id)"};
// Everything a batch writes, in one statement, which is its transaction:
// the notification rows ($1 subscription, $2 number, $3 which event: the position in the
// arrays of the batch's notifying events, $10 seq, $11 type, $12 id, $13 version, $14
// interaction, $15 at; no join with the change log);
// for the subscriptions $4 whose count $5 crossed a maintenance step, the counter row and the
// retention trim ($6 events kept at least, $7 seconds kept at least); the events $8 marked
// matched; and the NOTIFY payloads $9 that announce the numbers (AnnouncementPayloads), sent at
// commit. An empty payload instead when the notification queue is half full: a stalled
// listener must not make NOTIFY fail the batch. The statement says it announced (a setting
// local to the transaction), so that the notification table's trigger adds no empty payload.
constexpr PgQuery kRecord{
    "matcher.record",
    "WITH added AS ("
    "  INSERT INTO notification (subscription_id, event_number, event_seq, type, id, version,"
    "   interaction, at)"
    "  SELECT r.s, r.n, e.q, e.t, e.i, e.v, e.m, e.a"
    "  FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS r(s, n, k)"
    "  JOIN unnest($10::bigint[], $11::text[], $12::text[], $13::integer[], $14::text[],"
    "   $15::timestamptz[]) WITH ORDINALITY AS e(q, t, i, v, m, a, k) ON e.k = r.k),"
    " counted AS ("
    "  INSERT INTO subscription_counter (subscription_id, events)"
    "  SELECT m.s, m.n FROM unnest($4::text[], $5::bigint[]) AS m(s, n)"
    "  ON CONFLICT (subscription_id) DO UPDATE"
    "  SET events = greatest(subscription_counter.events, EXCLUDED.events)),"
    // The rows to trim are found per subscription by a range of its primary key (a LATERAL
    // fenced with OFFSET 0, so that it stays a probe per subscription), then deleted by row
    // address: as a join, the planner chose a scan of the whole table.
    " trimmed AS ("
    "  DELETE FROM notification WHERE ctid = ANY (ARRAY("
    "   SELECT x.ctid FROM unnest($4::text[], $5::bigint[]) AS m(s, n) CROSS JOIN LATERAL ("
    "    SELECT o.ctid FROM notification o WHERE o.subscription_id = m.s"
    "    AND o.event_number <= m.n - $6::bigint"
    "    AND o.at < now() - make_interval(secs => $7::double precision) OFFSET 0) x))),"
    " marked AS (UPDATE event SET matched = true WHERE seq = ANY($8::bigint[]))"
    // fovea.announced: the notification table's trigger (migration 0013) stays quiet.
    " SELECT set_config('fovea.announced', 'on', true), (SELECT count(pg_notify('fovea_notification',"
    "  CASE WHEN pg_notification_queue_usage() < 0.5 THEN p ELSE '' END))"
    " FROM unnest($9::text[]) AS p),"
    // The rest-hook workers have a channel of their own: woken only when a rest-hook
    // subscription got numbers, not by every WebSocket subscription's event.
    " (SELECT count(pg_notify('fovea_rest_hook', '')) WHERE $16::boolean)"};

// NOTIFY payloads: PostgreSQL takes up to 8000 bytes each; more than a few per batch and the
// dispatchers are better off reading the table.
constexpr std::size_t kPayloadBytes = 7900;

std::string BigintArray(const std::vector<std::int64_t>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(values[i]);
  }
  out += '}';
  return out;
}

// Whether a subscription whose count went from `before` to `after` is due for maintenance (its
// counter row and retention): once every `step` numbers, at an offset that depends on its id,
// so that subscriptions counting in step are not all maintained by the same batch.
bool CrossesStep(const std::string& id, std::int64_t before, std::int64_t after, std::int64_t step) {
  if (step <= 1) return true;
  auto offset = static_cast<std::int64_t>(std::hash<std::string>{}(id) % static_cast<std::size_t>(step));
  return (after + offset) / step > (before + offset) / step;
}

// A stored version, parsed and indexed once for every subscription that looks at it.
struct LoadedVersion {
  fhir::model::Element tree;
  fhir::search::IndexRows rows;
  VersionView view() const { return {&tree, &rows}; }
};

// A stored version as kPending returned it (column `column` of `row`): absent when there is none
// (a create's previous version, a deletion's own, a type no subscription covers).
std::optional<LoadedVersion> VersionAt(const PgResult& r, int row, int column,
                                       const fhir::search::SearchParameterRegistry& search) {
  if (r.IsNull(row, column)) return std::nullopt;
  fhir::model::OperationOutcomeSink issues;
  auto tree = fhir::format::ParseResourceJson(r.Get(row, column), fhir::definitions::Definitions::R4(), issues);
  if (!tree.has_value()) return std::nullopt;
  LoadedVersion v;
  v.tree = std::move(tree).value();
  v.rows = fhir::search::ExtractIndex(v.tree, search);
  return v;
}

// What decides whether an event notifies a subscription (Notifies): its topic and its criteria
// (the topic's filters as written, or the classic search URL). Each part is prefixed with its
// length, so no two different lists of parts give the same key, whatever characters they hold.
std::string MatchKey(const SubscriptionSpec& s) {
  std::string key;
  auto add = [&key](std::string_view part) {
    key += std::to_string(part.size());
    key += ':';
    key += part;
  };
  add(s.topic_based() ? std::string_view(s.topic->url) : std::string_view());
  add(s.criteria);
  for (const std::string& filter : s.filter_texts) add(filter);
  return key;
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
    : dsn_(std::move(dsn)),
      registry_(std::move(registry)),
      topics_(topics),
      options_(std::move(options)),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

EventMatcher::~EventMatcher() {
  Stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

bool EventMatcher::WakeIfActive() {
  if (!active_.load() || wake_fd_ < 0) return false;
  const std::uint64_t one = 1;
  // Fails only when the counter is saturated, which means the matcher is awake anyway.
  (void)!write(wake_fd_, &one, sizeof one);
  return true;
}

void EventMatcher::Start() {
  stopping_ = false;
  thread_ = std::thread([this] {
    common::NameThisThread("fovea-matcher");
    Run();
  });
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
  FOVEA_ASSIGN_OR_RETURN(PgResult set, conn->ExecuteUnprepared(kSessionSettings, {}));
  (void)set;
  std::size_t total = 0;
  Cache cache;
  for (;;) {
    FOVEA_ASSIGN_OR_RETURN(Batch batch, MatchBatch(*conn, cache));
    total += batch.matched;
    if (!batch.more) return total;
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
    if (!(*conn)->ExecuteUnprepared(kListen, {}).has_value() ||
        !(*conn)->ExecuteUnprepared(kSessionSettings, {}).has_value()) {
      continue;
    }
    SetActive(true);
    Cache cache;  // a new lock session reads everything again
    std::vector<fhir::store::pg::PgNotification> received;
    while (!stopping_) {
      auto matched = MatchBatch(**conn, cache);
      if (!matched.has_value()) {
        common::LogWarning("subscription matcher: " + matched.error().message());
        break;  // reconnect; the lock goes with the session
      }
      if (matched->more) continue;
      // Nothing pending: sleep until an event commits (or a while, to notice a stop). A NOTIFY
      // that arrived while the batch ran is already queued, and so is a wake from a writer in
      // this process (WakeIfActive): either way the wait returns at once.
      received.clear();
      auto woke = (*conn)->WaitForNotification(std::chrono::milliseconds(250), received, wake_fd_);
      if (!woke.has_value()) break;
      std::uint64_t wakes = 0;
      if (wake_fd_ >= 0) (void)!read(wake_fd_, &wakes, sizeof wakes);  // reset (non-blocking)
    }
    SetActive(false);
  }
}

Result<EventMatcher::Batch> EventMatcher::MatchBatch(PgConnection& conn, Cache& cache) {
  // The numbers this batch gives, per subscription (the last); they reach the cache only once
  // committed.
  std::unordered_map<std::string, std::int64_t> changed;
  std::optional<std::string> written_subscription;  // the Subscription event that ended the batch
  // Reads run outside a transaction: only this node (it holds the lock) writes what they read
  // of the matcher's own state, and the versions they read never change once stored.
  auto body = [&]() -> Result<Batch> {
    std::shared_ptr<const fhir::search::SearchParameterRegistry> search = registry_->Get();
    if (!cache.subscriptions_valid || cache.registry != search.get() || !cache.stale_subscriptions.empty()) {
      FOVEA_RETURN_IF_ERROR(ReadSubscriptions(conn, cache, *search));
    }
    FOVEA_ASSIGN_OR_RETURN(PgResult events,
                           conn.Execute(kPending, {std::to_string(options_.batch_size), cache.covered_types}));
    if (events.rows() == 0) return Batch{};
    if (!cache.counters_valid) {
      FOVEA_ASSIGN_OR_RETURN(PgResult counter_rows, conn.Execute(kCounters, {}));
      cache.counters.clear();
      for (int i = 0; i < counter_rows.rows(); ++i) {
        cache.counters[std::string(counter_rows.Get(i, 0))] = counter_rows.GetInt64(i, 1);
      }
      cache.counters_valid = true;
    }
    common::TimePoint now = common::SystemClock().Now();
    std::vector<std::size_t> subs;  // indexes into the cache
    subs.reserve(cache.subscriptions.size());
    for (std::size_t i = 0; i < cache.subscriptions.size(); ++i) {
      const SubscriptionSpec& s = cache.subscriptions[i];
      if (!s.end || *s.end > now) subs.push_back(i);
    }
    // The notification rows as parallel arrays, and the same numbers per event for the NOTIFY.
    std::vector<std::string> row_subscriptions;
    std::vector<std::int64_t> row_numbers;
    std::vector<std::int64_t> row_events;  // 1-based, into the event_* arrays
    std::vector<std::int64_t> event_seqs;
    std::vector<std::string> event_types;
    std::vector<std::string> event_ids;
    std::vector<std::int64_t> event_versions;
    std::vector<std::string> event_interactions;
    std::vector<std::string> event_ats;
    std::vector<AnnouncedEvent> announced;
    std::vector<std::int64_t> seqs;
    bool rest_hook_numbered = false;  // a rest-hook subscription got a number: wake its workers
    for (int row = 0; row < events.rows(); ++row) {
      ChangeEvent e;
      e.seq = events.GetInt64(row, 0);
      e.type = std::string(events.Get(row, 1));
      e.id = std::string(events.Get(row, 2));
      e.version = static_cast<int>(events.GetInt64(row, 3));
      e.interaction = InteractionFromMethod(events.Get(row, 4));
      e.at = common::TimePoint(std::chrono::microseconds(events.GetInt64(row, 5)));
      seqs.push_back(e.seq);
      bool covered = false;
      for (std::size_t i : subs) covered = covered || cache.subscriptions[i].FiltersFor(e.type) != nullptr;
      if (covered) {
        std::optional<LoadedVersion> previous = VersionAt(events, row, 6, *search);
        std::optional<LoadedVersion> current;
        if (e.interaction != Interaction::kDelete) current = VersionAt(events, row, 7, *search);
        VersionView before = previous ? previous->view() : VersionView{};
        VersionView after = current ? current->view() : VersionView{};
        AnnouncedEvent* announcing = nullptr;
        TriggerResults triggers;  // each topic's trigger evaluated once for this event
        std::unordered_map<std::string_view, bool> verdicts;  // per match key, for this event
        for (std::size_t i : subs) {
          const SubscriptionSpec* s = &cache.subscriptions[i];
          auto [verdict, fresh] = verdicts.try_emplace(cache.match_keys[i], false);
          if (fresh) verdict->second = Notifies(*s, e, before, after, &triggers);
          if (!verdict->second) continue;
          auto last = changed.find(s->id);
          std::int64_t number;
          if (last != changed.end()) {
            number = ++last->second;
          } else {
            auto counted = cache.counters.find(s->id);
            number = (counted != cache.counters.end() ? counted->second : 0) + 1;
            changed.emplace(s->id, number);
          }
          row_subscriptions.push_back(s->id);
          rest_hook_numbered = rest_hook_numbered || s->channel == ChannelType::kRestHook;
          row_numbers.push_back(number);
          if (announcing == nullptr) {
            event_seqs.push_back(e.seq);
            event_types.push_back(e.type);
            event_ids.push_back(e.id);
            event_versions.push_back(e.version);
            event_interactions.emplace_back(events.Get(row, 4));
            event_ats.push_back(common::FormatInstantMicros(e.at));
            announcing = &announced.emplace_back();
            announcing->at = e.at;
            announcing->type = e.type;
            announcing->id = e.id;
            announcing->version = e.version;
            announcing->method = std::string(events.Get(row, 4));
            if (options_.recent_versions && !events.IsNull(row, 7)) {
              options_.recent_versions->Put(e.type, e.id, e.version, std::string(events.Get(row, 7)));
            }
          }
          row_events.push_back(static_cast<std::int64_t>(event_seqs.size()));
          announcing->numbers.emplace_back(s->id, number);
        }
      }
      // A change to a Subscription changes who is notified of what follows: end the batch.
      if (e.type == "Subscription") {
        written_subscription = e.id;
        break;
      }
    }
    // Counter rows and retention only for the subscriptions due (CrossesStep): the count is
    // kept exactly by the notification rows themselves.
    std::vector<std::string> maintained;
    std::vector<std::int64_t> maintained_counts;
    for (const auto& [id, number] : changed) {
      auto counted = cache.counters.find(id);
      std::int64_t before = counted != cache.counters.end() ? counted->second : 0;
      if (CrossesStep(id, before, number, options_.maintain_every)) {
        maintained.push_back(id);
        maintained_counts.push_back(number);
      }
    }
    std::vector<std::string> payloads;
    if (!changed.empty()) {
      payloads = AnnouncementPayloads(announced, kPayloadBytes, options_.announce_bytes);
      if (payloads.empty()) payloads.emplace_back();  // too many: "read the table"
    }
    using fhir::store::pg::PgTextArray;
    std::vector<fhir::store::pg::PgParam> record_params = {
        PgTextArray(row_subscriptions), BigintArray(row_numbers), BigintArray(row_events),
        PgTextArray(maintained), BigintArray(maintained_counts), std::to_string(options_.retain_events),
        std::to_string(options_.retain_for.count()), BigintArray(seqs), PgTextArray(payloads),
        BigintArray(event_seqs), PgTextArray(event_types), PgTextArray(event_ids), BigintArray(event_versions),
        PgTextArray(event_interactions), PgTextArray(event_ats), rest_hook_numbered ? "true" : "false"};
    FOVEA_ASSIGN_OR_RETURN(PgResult recorded, conn.Execute(kRecord, record_params));
    (void)recorded;
    return Batch{seqs.size(), written_subscription.has_value() ||
                                  events.rows() >= static_cast<int>(options_.batch_size)};
  };
  Result<Batch> result = body();
  if (!result.has_value()) {
    // Committed or not (the connection may have broken after kRecord was sent): read it all again.
    cache = Cache{};
    return result;
  }
  for (const auto& [id, number] : changed) cache.counters[id] = number;
  if (written_subscription) cache.stale_subscriptions.insert(*written_subscription);
  return result;
}

Status EventMatcher::ReadSubscriptions(PgConnection& conn, Cache& cache,
                                       const fhir::search::SearchParameterRegistry& search) {
  SpecContext context{topics_, search, options_.base_url};
  if (!cache.subscriptions_valid || cache.registry != &search) {
    FOVEA_ASSIGN_OR_RETURN(PgResult rows, conn.Execute(kSubscriptions, {}));
    cache.subscriptions = LiveSubscriptions(rows, context);
    cache.match_keys.clear();
    for (const SubscriptionSpec& s : cache.subscriptions) cache.match_keys.push_back(MatchKey(s));
  } else {
    // Only those written since: dropped, then added again if they still receive events.
    const std::set<std::string>& stale = cache.stale_subscriptions;
    FOVEA_ASSIGN_OR_RETURN(PgResult rows,
                           conn.Execute(kSubscriptionsById, {fhir::store::pg::PgTextArray({stale.begin(), stale.end()})}));
    std::size_t kept = 0;
    for (std::size_t i = 0; i < cache.subscriptions.size(); ++i) {
      if (stale.count(cache.subscriptions[i].id) != 0) continue;
      if (kept != i) {
        cache.subscriptions[kept] = std::move(cache.subscriptions[i]);
        cache.match_keys[kept] = std::move(cache.match_keys[i]);
      }
      ++kept;
    }
    cache.subscriptions.resize(kept);
    cache.match_keys.resize(kept);
    for (SubscriptionSpec& s : LiveSubscriptions(rows, context)) {
      cache.match_keys.push_back(MatchKey(s));
      cache.subscriptions.push_back(std::move(s));
    }
  }
  std::set<std::string> covered;
  for (const SubscriptionSpec& s : cache.subscriptions) {
    for (const TypeFilter& f : s.filters) covered.insert(f.type);
  }
  cache.covered_types = fhir::store::pg::PgTextArray({covered.begin(), covered.end()});
  cache.registry = &search;
  cache.subscriptions_valid = true;
  cache.stale_subscriptions.clear();
  return Status::Ok();
}

}  // namespace subscriptions::pg
