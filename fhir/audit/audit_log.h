#ifndef FOVEA_FHIR_AUDIT_AUDIT_LOG_H_
#define FOVEA_FHIR_AUDIT_AUDIT_LOG_H_

// Storing audit records as FHIR resources, two ways (docs/AUDIT.md):
//
//  * Writes: WriteCompanions builds the AuditEvent and Provenance of a write as new resource
//    versions, which the caller passes to ResourceStore::WriteWith, so they commit (or not) in
//    the write's own transaction.
//  * Everything else (reads, searches, failed requests, logins, deliveries): AuditLog::Record
//    queues the record and returns; a background thread stores AuditEvents in batches, one
//    ResourceStore::CreateAll each. Flush waits for what was recorded before; Stop and the
//    destructor store everything still queued, so a clean shutdown loses nothing. A crash loses
//    what was queued and not yet stored (at most one linger period plus a full queue).
//
// Logs never carry audit content: only counts, status codes and request ids.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "fhir/audit/audit_event.h"
#include "fhir/audit/provenance.h"
#include "fhir/search/live_registry.h"
#include "fhir/search/search_parameter.h"
#include "fhir/store/resource_store.h"

namespace fhir::audit {

// The AuditEvent and Provenance of one write, as new resources (version 1, fresh ids,
// meta.versionId/lastUpdated = `now`, search-index rows when `registry` is given) for
// ResourceStore::WriteWith. Records whose `recorded` is unset are stamped with `now`.
// kInternal only if a record cannot be turned into a valid resource (a bug).
//
//   auto companions = audit::WriteCompanions(audit_record, provenance_record, now, registry);
//   Status st = store.WriteWith(version, expected, *companions);
//
// A write that fails writes no companion; audit the failure through AuditLog::Record instead.
common::Result<std::vector<store::ResourceVersion>> WriteCompanions(
    const AuditRecord& audit, const ProvenanceRecord& provenance, common::TimePoint now,
    const search::SearchParameterRegistry* registry);

// The AuditEvent alone, as a new resource (for writes that keep no Provenance).
common::Result<store::ResourceVersion> AuditEventVersion(
    const AuditRecord& audit, common::TimePoint now,
    const search::SearchParameterRegistry* registry);

// Zero sizes and attempts are raised to 1.
struct AuditLogOptions {
  // Record blocks while this many records wait (backpressure: a record is never dropped).
  std::size_t queue_capacity = 10'000;
  std::size_t max_batch = 200;  // AuditEvents per CreateAll
  // How long the writer waits for a batch to fill before storing what it has.
  std::chrono::milliseconds linger{20};
  // Store attempts per batch; between them the writer sleeps `first_backoff`, doubling.
  int max_attempts = 5;
  std::chrono::milliseconds first_backoff{50};
};

struct AuditLogStats {
  std::uint64_t recorded = 0;  // Record calls
  std::uint64_t written = 0;   // AuditEvents stored
  std::uint64_t failed = 0;    // AuditEvents given up on (logged, by request id)
  std::uint64_t retries = 0;   // store attempts repeated after a failure
};

// The asynchronous, batched AuditEvent writer. Thread-safe: Record, Flush and stats from any
// thread; Stop (or destruction) from the owner, once the callers of Record are done with it.
class AuditLog {
 public:
  // `store` and `clock` must outlive the log. `registry` (may be null: no index rows) is read
  // per batch, so SearchParameter changes apply to later batches.
  AuditLog(store::ResourceStore& store, const common::Clock& clock,
           std::shared_ptr<search::LiveRegistry> registry, AuditLogOptions options = {});
  ~AuditLog();  // Stop()
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Queues `record` and returns, unless the queue is full (then it waits for room). An unset
  // `recorded` is stamped with the clock's now. After Stop, stores it synchronously instead.
  void Record(AuditRecord record);
  // Returns when every record queued before the call has been stored or given up on.
  void Flush();
  // Stores everything queued, then ends the writer thread. Idempotent.
  void Stop();

  AuditLogStats stats() const;

 private:
  void Run();
  // Builds and stores one batch, with retries; updates the counters.
  void Store(std::vector<AuditRecord> batch);

  store::ResourceStore& store_;
  const common::Clock& clock_;
  const std::shared_ptr<search::LiveRegistry> registry_;
  const AuditLogOptions options_;

  std::mutex mu_;
  std::condition_variable work_cv_;      // the writer: records arrived, flush or stop asked
  std::condition_variable not_full_cv_;  // Record: room in the queue, or stopped
  std::condition_variable done_cv_;      // Flush: a batch finished
  std::deque<AuditRecord> queue_;        // GUARDED_BY(mu_)
  std::uint64_t enqueued_ = 0;           // GUARDED_BY(mu_): records ever queued
  std::uint64_t taken_ = 0;              // GUARDED_BY(mu_): records the writer took
  std::uint64_t finished_ = 0;           // GUARDED_BY(mu_): records stored or given up on
  std::uint64_t flush_until_ = 0;        // GUARDED_BY(mu_): Flush wants taken_ to reach this
  bool stopping_ = false;                // GUARDED_BY(mu_)
  bool stopped_ = false;                 // GUARDED_BY(mu_): the writer has exited

  std::atomic<std::uint64_t> recorded_{0};
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> retries_{0};

  std::once_flag stop_once_;
  std::thread writer_;  // last: started once everything above is initialised
};

}  // namespace fhir::audit

#endif  // FOVEA_FHIR_AUDIT_AUDIT_LOG_H_
