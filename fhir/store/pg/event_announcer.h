#ifndef FOVEA_FHIR_STORE_PG_EVENT_ANNOUNCER_H_
#define FOVEA_FHIR_STORE_PG_EVENT_ANNOUNCER_H_

// Wakes the subscription matcher (subscriptions/pg/event_matcher.h, LISTEN fovea_event) once
// change-log events have committed: NOTIFY fovea_event, sent from a thread of its own after the
// write's commit, never inside the write's transaction.
//
// Why not in the transaction (as migration 0005's trigger did until 0017): a transaction that
// NOTIFYs takes one database-wide lock at commit and holds it until the commit is on disk, so
// every write waited for every other write's fsync in turn. Measured with 8 concurrent creates,
// median latency 9.1 ms with the trigger and 5.4 ms without (docs/PERFORMANCE.md).
//
// When the matcher runs in this process and holds its lock, a write wakes it directly instead
// (SetLocalWake): no NOTIFY, no round trip to PostgreSQL on the way from commit to delivery.
//
// Announce() only sets a flag: announcements that arrive while one is being sent are coalesced
// into the next, so a burst of writes costs one NOTIFY, and a write never waits for one. An
// announcement that is lost (the database unreachable, the process killed) delays matching
// until the matcher's next poll (it polls every 250 ms). The destructor sends what is pending.
// Thread-safe.

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "fhir/store/pg/connection.h"

namespace fhir::store::pg {

class EventAnnouncer {
 public:
  // Connects to `dsn` on the first announcement (a connection of its own: a NOTIFY must not
  // wait for a pooled connection behind the requests it announces).
  explicit EventAnnouncer(std::string dsn);
  EventAnnouncer(const EventAnnouncer&) = delete;
  EventAnnouncer& operator=(const EventAnnouncer&) = delete;
  ~EventAnnouncer();

  // Some change-log event has committed: announce it soon. Never blocks on the database.
  void Announce();
  // A listener in this process: `wake` wakes it and returns true when it is the one that needs
  // to know (the matcher, while it holds the matcher lock); then no NOTIFY is sent. Empty: every
  // announcement is a NOTIFY. Set it before the listener can go away, clear it after.
  void SetLocalWake(std::function<bool()> wake);
  // NOTIFYs sent so far, and announcements handled by the local listener (tests, diagnostics).
  std::size_t sent() const;
  std::size_t woken_locally() const;

 private:
  void Run();
  // One NOTIFY; reconnects once when the connection has broken. False when it could not.
  bool Send();

  const std::string dsn_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;   // GUARDED_BY(mu_)
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::size_t sent_ = 0;   // GUARDED_BY(mu_)
  std::size_t woken_locally_ = 0;      // GUARDED_BY(mu_)
  std::function<bool()> local_wake_;   // GUARDED_BY(mu_)
  std::thread thread_;     // started by the first Announce
  std::unique_ptr<PgConnection> conn_;  // the thread's only
  bool failing_ = false;                // the thread's only: the last Send failed
};

}  // namespace fhir::store::pg

#endif  // FOVEA_FHIR_STORE_PG_EVENT_ANNOUNCER_H_
