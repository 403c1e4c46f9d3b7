#ifndef FOVEA_SUBSCRIPTIONS_PG_EVENT_MATCHER_H_
#define FOVEA_SUBSCRIPTIONS_PG_EVENT_MATCHER_H_

// The matcher (ARCHITECTURE.md §5): reads the change log (`event`) in order and gives every
// subscription each event that notifies it the next number of its own sequence, in one
// transaction per batch with marking the events matched: nothing is skipped or numbered twice,
// whatever crashes when. Exactly one node runs it at a time: every node's EventMatcher tries a
// PostgreSQL advisory lock on a connection of its own; the one that holds it matches, the
// others wait and take over within `retry` when its session ends. Events are found by a flag,
// not a cursor, so a transaction that commits after a later one is still matched.
//
// A batch is two round trips: one read (the pending events with the stored versions matching
// needs) and one statement, its own transaction, that inserts the notification rows, marks the
// events matched and NOTIFYs fovea_notification with the new numbers as the payload
// (subscriptions/engine/announcement.h), so that the WebSocket dispatchers need no query for
// them. A subscription's count is its highest notification row; its subscription_counter row
// is brought up to date, and its retention applied, only every `maintain_every` numbers. The
// matcher's commits do not wait for the disk: what they write is derived from durably committed
// data and is derived again, with the same numbers, if a database crash loses it (kSessionSettings).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "fhir/search/live_registry.h"
#include "subscriptions/engine/recent_versions.h"
#include "subscriptions/engine/subscription_spec.h"
#include "subscriptions/engine/topics.h"

namespace fhir::store::pg {
class PgConnection;
}  // namespace fhir::store::pg

namespace subscriptions::pg {

struct MatcherOptions {
  std::size_t batch_size = 500;
  std::chrono::milliseconds retry{2000};  // a standby's lock attempts; the holder's idle wake-up
  std::string base_url;                   // absolute references to this server
  // Retention: a subscription's notification rows are kept while among its last
  // `retain_events` or younger than `retain_for`; older ones go as new ones arrive (at its
  // maintenance steps, below: "at least", never fewer).
  std::int64_t retain_events = 10000;
  std::chrono::seconds retain_for{7 * 24 * 3600};
  // A subscription's counter row is written, and its retention applied, once every this many
  // of its numbers (at an offset per subscription); in between its count is its highest
  // notification row. 1: every batch.
  std::int64_t maintain_every = 64;
  // The NOTIFY payloads that announce a batch's numbers to the dispatchers take at most this
  // many bytes together; a larger batch is announced empty (the dispatchers read the table).
  std::size_t announce_bytes = 64 * 1024;
  // Where the stored versions of announced events go for this process's dispatchers (may be
  // null): they need not read back what the matcher has just read.
  std::shared_ptr<RecentVersions> recent_versions;
};

class EventMatcher {
 public:
  EventMatcher(std::string dsn, std::shared_ptr<fhir::search::LiveRegistry> registry,
               const TopicRegistry& topics, MatcherOptions options);
  ~EventMatcher();  // Stop()

  // Starts the background thread (take the lock, then match as events arrive).
  void Start();
  void Stop();

  // Matches everything pending now on a connection of its own, if this process can take the
  // matcher lock (tests, and `fovea` commands); returns the number of events matched, or
  // kUnavailable when another node holds the lock.
  common::Result<std::size_t> MatchPending();

  bool active() const { return active_.load(); }  // holds the lock right now
  // A write in this process has committed change-log events: if this matcher holds the lock,
  // it reads them at once (as a NOTIFY fovea_event would make it) and this returns true.
  // False when another node matches: the writer must NOTIFY. Non-blocking; thread-safe.
  bool WakeIfActive();
  // Waits until this matcher holds the lock, at most `limit`; whether it does.
  bool WaitUntilActive(std::chrono::milliseconds limit);

 private:
  // What a matcher keeps between batches while it holds the lock, so that a batch does not
  // read and parse every Subscription and every counter again: the subscriptions that receive
  // events (parsed; their `end` is checked at each batch) and the counters, which only the lock
  // holder writes. The subscriptions are read again after a batch that saw a change to a
  // Subscription (a batch ends at one) or when the search registry changed; everything is
  // read again when the lock is taken again (a new Cache) and after a failed batch (its
  // numbers were rolled back). Counters change only after a commit.
  struct Cache {
    bool subscriptions_valid = false;
    // Subscriptions written since they were read: read again, alone, before the next batch
    // (re-reading all of them after every change made a burst of N new ones cost N^2 parses).
    std::set<std::string> stale_subscriptions;
    const void* registry = nullptr;  // the search registry the specs were parsed with
    std::vector<SubscriptionSpec> subscriptions;
    // Per subscription (same order): its topic and criteria as one string. Subscriptions with
    // the same key get the same answer for every event (a van's tablets watching one session),
    // so an event is matched once per key, not once per subscription.
    std::vector<std::string> match_keys;
    // The resource types some subscription filters on, as a PostgreSQL array: the pending
    // events of these types come with their stored versions.
    std::string covered_types = "{}";
    bool counters_valid = false;
    std::unordered_map<std::string, std::int64_t> counters;
  };

  void Run();
  struct Batch {
    std::size_t matched = 0;  // events matched (0: nothing was pending)
    // Events may be pending still: the batch was full, or a Subscription write ended it. Else
    // whatever commits later announces itself (NOTIFY fovea_event), and no read is needed.
    bool more = false;
  };
  // One batch, committed by one statement.
  common::Result<Batch> MatchBatch(fhir::store::pg::PgConnection& conn, Cache& cache);
  // Brings cache.subscriptions up to date: all of them on a new lock session or a changed
  // search registry, else only cache.stale_subscriptions.
  common::Status ReadSubscriptions(fhir::store::pg::PgConnection& conn, Cache& cache,
                                   const fhir::search::SearchParameterRegistry& search);

  const std::string dsn_;
  const std::shared_ptr<fhir::search::LiveRegistry> registry_;
  const TopicRegistry& topics_;
  const MatcherOptions options_;
  void SetActive(bool active);

  std::atomic<bool> active_{false};
  std::mutex mu_;
  std::condition_variable active_changed_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  // Written by WakeIfActive; the matcher's wait returns when it is readable (an eventfd).
  const int wake_fd_;
};

}  // namespace subscriptions::pg

#endif  // FOVEA_SUBSCRIPTIONS_PG_EVENT_MATCHER_H_
