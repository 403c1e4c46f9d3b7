#include "fhir/audit/audit_log.h"

#include <algorithm>
#include <string>
#include <thread>
#include <utility>

#include "common/log.h"
#include "fhir/audit/detail/resources.h"

namespace fhir::audit {

using common::Result;
using common::Status;
using common::StatusCode;

namespace {

// At most this many request ids in one log line.
constexpr std::size_t kMaxLoggedRequestIds = 20;

std::string RequestIds(const std::vector<AuditRecord>& batch) {
  std::string ids;
  std::size_t n = 0;
  for (const AuditRecord& r : batch) {
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

Result<store::ResourceVersion> ProvenanceVersion(const ProvenanceRecord& provenance,
                                                 common::TimePoint now,
                                                 const search::SearchParameterRegistry* registry) {
  if (provenance.recorded != common::TimePoint{}) {
    return detail::NewResource(detail::ProvenanceValue(provenance), now, registry);
  }
  ProvenanceRecord stamped = provenance;
  stamped.recorded = now;
  return detail::NewResource(detail::ProvenanceValue(stamped), now, registry);
}

// Zero sizes would stall the writer or every caller: at least one of each.
AuditLogOptions Sanitized(AuditLogOptions o) {
  o.queue_capacity = std::max<std::size_t>(o.queue_capacity, 1);
  o.max_batch = std::max<std::size_t>(o.max_batch, 1);
  o.max_attempts = std::max(o.max_attempts, 1);
  return o;
}

}  // namespace

Result<store::ResourceVersion> AuditEventVersion(const AuditRecord& audit, common::TimePoint now,
                                                 const search::SearchParameterRegistry* registry) {
  if (audit.recorded != common::TimePoint{}) {
    return detail::NewResource(detail::AuditEventValue(audit), now, registry);
  }
  AuditRecord stamped = audit;
  stamped.recorded = now;
  return detail::NewResource(detail::AuditEventValue(stamped), now, registry);
}

Result<std::vector<store::ResourceVersion>> WriteCompanions(
    const AuditRecord& audit, const ProvenanceRecord& provenance, common::TimePoint now,
    const search::SearchParameterRegistry* registry) {
  std::vector<store::ResourceVersion> out;
  FOVEA_ASSIGN_OR_RETURN(auto event, AuditEventVersion(audit, now, registry));
  out.push_back(std::move(event));
  FOVEA_ASSIGN_OR_RETURN(auto prov, ProvenanceVersion(provenance, now, registry));
  out.push_back(std::move(prov));
  return out;
}

AuditLog::AuditLog(store::ResourceStore& store, const common::Clock& clock,
                   std::shared_ptr<search::LiveRegistry> registry, AuditLogOptions options)
    : store_(store), clock_(clock), registry_(std::move(registry)),
      options_(Sanitized(options)) {
  writer_ = std::thread([this] { Run(); });
}

AuditLog::~AuditLog() { Stop(); }

void AuditLog::Record(AuditRecord record) {
  if (record.recorded == common::TimePoint{}) record.recorded = clock_.Now();
  ++recorded_;
  {
    std::unique_lock lock(mu_);
    not_full_cv_.wait(lock, [&] { return queue_.size() < options_.queue_capacity || stopped_; });
    if (!stopped_) {
      queue_.push_back(std::move(record));
      ++enqueued_;
      // Wake the writer when it may be idle (first record) or lingering for a full batch.
      if (queue_.size() == 1 || queue_.size() >= options_.max_batch) work_cv_.notify_one();
      return;
    }
  }
  // The writer is gone (after Stop): store it here rather than lose it.
  std::vector<AuditRecord> one;
  one.push_back(std::move(record));
  Store(std::move(one));
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
  std::unique_lock lock(mu_);
  while (true) {
    work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) break;  // stopping, and nothing left
    // Let the batch fill, unless someone waits for it.
    const auto deadline = std::chrono::steady_clock::now() + options_.linger;
    work_cv_.wait_until(lock, deadline, [&] {
      return stopping_ || queue_.size() >= options_.max_batch || flush_until_ > taken_;
    });
    const std::size_t n = std::min(queue_.size(), options_.max_batch);
    std::vector<AuditRecord> batch;
    batch.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    taken_ += n;
    not_full_cv_.notify_all();
    lock.unlock();
    Store(std::move(batch));
    lock.lock();
    finished_ += n;
    done_cv_.notify_all();
  }
  stopped_ = true;
  not_full_cv_.notify_all();
  done_cv_.notify_all();
}

void AuditLog::Store(std::vector<AuditRecord> batch) {
  const common::TimePoint now = clock_.Now();
  std::shared_ptr<const search::SearchParameterRegistry> registry;
  if (registry_ != nullptr) registry = registry_->Get();
  std::vector<store::ResourceVersion> versions;
  versions.reserve(batch.size());
  std::uint64_t unbuildable = 0;
  for (const AuditRecord& record : batch) {
    auto v = AuditEventVersion(record, now, registry.get());
    if (v.has_value()) {
      versions.push_back(std::move(v).value());
    } else {
      ++unbuildable;
      common::LogError("audit: an AuditEvent could not be built (request " +
                       (record.request_id.empty() ? std::string("-") : record.request_id) + ")");
    }
  }
  failed_ += unbuildable;
  if (versions.empty()) return;

  Status st;
  std::chrono::milliseconds backoff = options_.first_backoff;
  const int attempts = options_.max_attempts;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    st = store_.CreateAll(versions);
    if (st.ok()) break;
    // A conflict on a retry most likely means an earlier attempt committed after all (its
    // answer was lost); the ids are random, so a real collision is not a concern.
    if (attempt > 1 && st.code() == StatusCode::kVersionConflict &&
        store_.Head(versions.front().type, versions.front().id).has_value()) {
      st = Status::Ok();
      break;
    }
    if (st.code() == StatusCode::kInvalid || attempt == attempts) break;
    ++retries_;
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
  if (st.ok()) {
    written_ += versions.size();
    return;
  }
  failed_ += versions.size();
  common::LogError("audit: " + std::to_string(versions.size()) +
                   " AuditEvents could not be stored (" +
                   std::string(common::StatusCodeName(st.code())) + "); requests: " +
                   RequestIds(batch));
}

}  // namespace fhir::audit
