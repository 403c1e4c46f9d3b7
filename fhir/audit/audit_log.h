#ifndef FOVEA_FHIR_AUDIT_AUDIT_LOG_H_
#define FOVEA_FHIR_AUDIT_AUDIT_LOG_H_

// Storing the audit trail (docs/AUDIT.md), two ways:
//
//  * Writes: the caller stores the write's AuditEvent row (WriteAuditRowFor + AuditRowsJson) and its
//    Provenance (ProvenanceCompanion, a resource) through ResourceStore::WriteWith, so they
//    commit (or not) in the write's own statement.
//  * Everything else (reads, searches, failed requests, logins, deliveries): AuditLog::Record
//    queues the record's line (audit_lines.h) and returns; a background thread appends them in
//    batches, one AuditStore::AppendLines each. Flush waits for what was recorded before; Stop and the destructor
//    store everything still queued, so a clean shutdown loses nothing. A crash loses what was
//    queued and not yet stored (at most one linger period plus a full queue).
//
// Logs never carry audit content: only counts, status codes and request ids.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "fhir/audit/audit_event.h"
#include "fhir/audit/audit_store.h"
#include "fhir/audit/provenance.h"
#include "fhir/search/search_parameter.h"
#include "fhir/store/resource_store.h"

namespace fhir::audit {

// The Provenance of one write as a new resource (version 1, a fresh id, meta.versionId/
// lastUpdated = `now`; with `registry`, its search-index rows, without full-text rows) for
// ResourceStore::WriteWith. A record whose `recorded` is unset is stamped with `now`. kInternal
// only if the record cannot be turned into a valid resource (a bug).
//
//   FOVEA_ASSIGN_OR_RETURN(auto provenance, audit::ProvenanceCompanion(prov, now, registry));
//   audit_record.recorded = now;
//   Status st = store.WriteWith(version, expected, {provenance},
//                               audit::AuditRowsJson({audit::WriteAuditRowFor(audit_record)}));
//
// A write that fails writes neither; audit the failure through AuditLog::Record instead.
common::Result<store::ResourceVersion> ProvenanceCompanion(
    const ProvenanceRecord& provenance, common::TimePoint now,
    const search::SearchParameterRegistry* registry);

// Zero sizes and attempts are raised to 1.
struct AuditLogOptions {
  // Record blocks while this many records wait (backpressure: a record is never dropped).
  std::size_t queue_capacity = 10'000;
  std::size_t max_batch = 200;  // AuditEvents per AuditStore::AppendLines
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
  // `store` and `clock` must outlive the log.
  AuditLog(AuditStore& store, const common::Clock& clock, AuditLogOptions options = {});
  ~AuditLog();  // Stop()
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Turns `record` into its line (AppendAuditLine, in the caller's thread), queues it and
  // returns, unless the queue is full (then it waits for room). An unset `recorded` is stamped with the clock's now, here. After
  // Stop, stores it synchronously instead.
  void Record(AuditRecord record);
  // Returns when every record queued before the call has been stored or given up on.
  void Flush();
  // Stores everything queued, then ends the writer thread. Idempotent.
  void Stop();

  AuditLogStats stats() const;

 private:
  void Run();
  // Stores one batch of `count` lines, with retries; updates the counters.
  void Store(std::string_view lines, std::size_t count);
  // After a failed AppendLines that may have committed anyway (its answer lost): whether the
  // first of `lines` is stored. AppendLines is all or nothing, so that answers for the batch.
  common::Result<bool> Stored(std::string_view lines);

  AuditStore& store_;
  const common::Clock& clock_;
  const AuditLogOptions options_;

  std::mutex mu_;
  std::condition_variable work_cv_;      // the writer: records arrived, flush or stop asked
  std::condition_variable not_full_cv_;  // Record: room in the queue, or stopped
  std::condition_variable done_cv_;      // Flush: a batch finished
  // GUARDED_BY(mu_): the lines Run stores, and how many. Run takes the buffer whole (a swap)
  // when it holds at most a batch, so both buffers keep their capacity: no allocation per event.
  std::string pending_;
  std::size_t pending_count_ = 0;
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
