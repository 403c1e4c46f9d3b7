#include "fhir/audit/audit_log.h"

#include <algorithm>
#include <string>
#include <thread>
#include <utility>

#include "common/log.h"
#include "common/thread_name.h"
#include "fhir/audit/audit_lines.h"
#include "fhir/audit/detail/resources.h"

namespace fhir::audit {

using common::Result;
using common::Status;
using common::StatusCode;

namespace {

// At most this many request ids in one log line.
constexpr std::size_t kMaxLoggedRequestIds = 20;

// The request ids of a batch that could not be stored, for the log line (never its content).
std::string RequestIds(std::string_view lines) {
  Result<std::vector<AuditRow>> batch = ParseAuditLines(lines);
  if (!batch.has_value()) return "-";
  std::string ids;
  std::size_t n = 0;
  for (const AuditRow& r : *batch) {
    if (r.request_id.empty()) continue;
    if (n == kMaxLoggedRequestIds) {
      ids += " ...";
      break;
    }
    if (n++ > 0) ids += ' ';
    ids += r.request_id;
  }
  return ids.empty() ? "-" : ids;
}

// The offset just past the `n`th line of `lines` (which has more than n).
std::size_t EndOfLines(std::string_view lines, std::size_t n) {
  std::size_t end = 0;
  for (std::size_t i = 0; i < n; ++i) end = lines.find('\n', end) + 1;
  return end;
}

// Zero sizes would stall the writer or every caller: at least one of each.
AuditLogOptions Sanitized(AuditLogOptions o) {
  o.queue_capacity = std::max<std::size_t>(o.queue_capacity, 1);
  o.max_batch = std::max<std::size_t>(o.max_batch, 1);
  o.max_attempts = std::max(o.max_attempts, 1);
  return o;
}

}  // namespace

Result<store::ResourceVersion> ProvenanceCompanion(const ProvenanceRecord& provenance,
                                                   common::TimePoint now,
                                                   const search::SearchParameterRegistry* registry) {
  if (provenance.recorded != common::TimePoint{}) {
    return detail::NewResource(detail::ProvenanceValue(provenance), now, registry);
  }
  ProvenanceRecord stamped = provenance;
  stamped.recorded = now;
  return detail::NewResource(detail::ProvenanceValue(stamped), now, registry);
}

AuditLog::AuditLog(AuditStore& store, const common::Clock& clock, AuditLogOptions options)
    : store_(store), clock_(clock), options_(Sanitized(options)) {
  writer_ = std::thread([this] {
    common::NameThisThread("fovea-audit");
    Run();
  });
}

AuditLog::~AuditLog() { Stop(); }

void AuditLog::Record(AuditRecord record) {
  if (record.recorded == common::TimePoint{}) record.recorded = clock_.Now();
  ++recorded_;
  // The line is made here, in the request's thread, into a buffer of its own that is reused,
  // and copied into the queue's: no string made here is freed by the writer. Handing over
  // strings (the record's, then a row's) left the request threads allocating without ever
  // getting memory back in their own caches, which sends glibc's malloc down its slow path
  // (arena lock, consolidation; docs/PERFORMANCE.md, security).
  thread_local std::string line;
  line.clear();
  AppendAuditLine(line, record);
  {
    std::unique_lock lock(mu_);
    not_full_cv_.wait(lock, [&] { return pending_count_ < options_.queue_capacity || stopped_; });
    if (!stopped_) {
      pending_ += line;
      ++pending_count_;
      ++enqueued_;
      // Wake the writer when it may be idle (first record) or lingering for a full batch.
      if (pending_count_ == 1 || pending_count_ >= options_.max_batch) work_cv_.notify_one();
      return;
    }
  }
  // The writer is gone (after Stop): store it here rather than lose it.
  Store(line, 1);
}

void AuditLog::Flush() {
  std::unique_lock lock(mu_);
  const std::uint64_t target = enqueued_;
  if (finished_ >= target || stopped_) return;
  flush_until_ = std::max(flush_until_, target);
  work_cv_.notify_one();
  done_cv_.wait(lock, [&] { return finished_ >= target || stopped_; });
}

void AuditLog::Stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    work_cv_.notify_all();
    if (writer_.joinable()) writer_.join();
  });
}

AuditLogStats AuditLog::stats() const {
  AuditLogStats s;
  s.recorded = recorded_.load();
  s.written = written_.load();
  s.failed = failed_.load();
  s.retries = retries_.load();
  return s;
}

void AuditLog::Run() {
  std::string batch;
  std::unique_lock lock(mu_);
  while (true) {
    work_cv_.wait(lock, [&] { return stopping_ || pending_count_ > 0; });
    if (pending_count_ == 0) break;  // stopping, and nothing left
    // Let the batch fill, unless someone waits for it.
    const auto deadline = std::chrono::steady_clock::now() + options_.linger;
    work_cv_.wait_until(lock, deadline, [&] {
      return stopping_ || pending_count_ >= options_.max_batch || flush_until_ > taken_;
    });
    const std::size_t n = std::min(pending_count_, options_.max_batch);
    batch.clear();
    if (n == pending_count_) {
      batch.swap(pending_);
    } else {
      const std::size_t end = EndOfLines(pending_, n);
      batch.assign(pending_, 0, end);
      pending_.erase(0, end);
    }
    pending_count_ -= n;
    taken_ += n;
    not_full_cv_.notify_all();
    lock.unlock();
    Store(batch, n);
    lock.lock();
    finished_ += n;
    done_cv_.notify_all();
  }
  stopped_ = true;
  not_full_cv_.notify_all();
  done_cv_.notify_all();
}

void AuditLog::Store(std::string_view lines, std::size_t count) {
  if (count == 0) return;
  Status st;
  // Set once an attempt failed in a way that may hide a commit (the connection dropped after
  // COMMIT, say): from then on each attempt first checks whether the batch is there already,
  // so a lost answer does not store the batch twice. Costs one indexed lookup, on retries only.
  bool maybe_committed = false;
  std::chrono::milliseconds backoff = options_.first_backoff;
  const int attempts = options_.max_attempts;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    if (maybe_committed) {
      Result<bool> stored = Stored(lines);
      if (stored.has_value() && *stored) {
        st = Status::Ok();
        break;
      }
      st = stored.has_value() ? store_.AppendLines(lines) : stored.error();
    } else {
      st = store_.AppendLines(lines);
    }
    if (st.ok()) break;
    // kInvalid: the statement was refused as it stands (nothing committed; retrying is futile).
    if (st.code() == StatusCode::kInvalid || attempt == attempts) break;
    maybe_committed = true;
    ++retries_;
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
  if (st.ok()) {
    written_ += count;
    return;
  }
  failed_ += count;
  common::LogError("audit: " + std::to_string(count) + " AuditEvents could not be stored (" +
                   std::string(common::StatusCodeName(st.code())) + "); requests: " +
                   RequestIds(lines));
}

Result<bool> AuditLog::Stored(std::string_view lines) {
  FOVEA_ASSIGN_OR_RETURN(std::vector<AuditRow> rows,
                         ParseAuditLines(lines.substr(0, EndOfLines(lines, 1))));
  if (rows.empty()) return false;
  const AuditRow& first = rows.front();
  // The same microsecond, subtype and agent: a handful of rows at most; the content decides.
  AuditQuery q;
  q.recorded_from = first.recorded;
  q.recorded_until = first.recorded + std::chrono::microseconds(1);
  q.subtype = first.subtype;
  q.agent = first.agent;
  q.patient = first.patient;
  q.entity = first.entity;
  q.oldest_first = true;
  q.count = 100;
  while (true) {
    FOVEA_ASSIGN_OR_RETURN(AuditPage page, store_.Search(q));
    for (const AuditRow& row : page.rows) {
      if (row.content == first.content && row.client_id == first.client_id &&
          row.address == first.address && row.request_id == first.request_id) {
        return true;
      }
    }
    if (!page.next_after_seq) return false;
    q.after_seq = page.next_after_seq;
  }
}

}  // namespace fhir::audit
