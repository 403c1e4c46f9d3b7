#include "fhir/store/in_memory_resource_store.h"

#include <algorithm>
#include <set>

#include "common/json.h"

namespace fhir::store {

using common::Result;
using common::Status;
using common::StatusCode;

namespace {

// The objects of WriteWith's audit_rows_json, each as compact JSON. PostgreSQL rejects anything
// but an array of objects with the keys of the NOT NULL columns (queries.h); so does this.
Result<std::vector<std::string>> SplitAuditRows(const std::string& json) {
  std::vector<std::string> rows;
  if (json.empty()) return rows;
  auto parsed = common::ParseJson(json);
  if (!parsed.has_value() || !parsed->is_array()) {
    return common::InvalidError("the audit rows are not a JSON array");
  }
  for (const common::JsonValue& row : parsed->items()) {
    if (!row.is_object()) return common::InvalidError("an audit row is not a JSON object");
    for (const char* required : {"r", "s", "a", "o", "x"}) {
      if (row.Find(required) == nullptr) return common::InvalidError("an audit row lacks a value");
    }
    rows.push_back(common::ToJson(row));
  }
  return rows;
}

}  // namespace

Result<CurrentState> InMemoryResourceStore::Head(const std::string& type, const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = versions_.find({type, id});
  if (it == versions_.end()) return Status(StatusCode::kNotFound, "not found");
  return CurrentState{it->second.back().version, it->second.back().deleted};
}

Result<ResourceVersion> InMemoryResourceStore::Read(const std::string& type, const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = versions_.find({type, id});
  if (it == versions_.end()) return Status(StatusCode::kNotFound, "not found");
  return it->second.back();
}

Result<ResourceVersion> InMemoryResourceStore::ReadVersion(const std::string& type,
                                                           const std::string& id, int version) {
  std::lock_guard lock(mu_);
  auto it = versions_.find({type, id});
  if (it == versions_.end() || version < 1 || version > static_cast<int>(it->second.size())) {
    return Status(StatusCode::kNotFound, "not found");
  }
  return it->second[static_cast<std::size_t>(version - 1)];
}

Status InMemoryResourceStore::Write(const ResourceVersion& v, int expected_version) {
  return WriteWith(v, expected_version, {}, {});
}

Status InMemoryResourceStore::WriteWith(const ResourceVersion& v, int expected_version,
                                        const std::vector<ResourceVersion>& companions,
                                        const std::string& audit_rows_json) {
  FOVEA_RETURN_IF_ERROR(CheckNewResources(companions));
  FOVEA_ASSIGN_OR_RETURN(std::vector<std::string> audit_rows, SplitAuditRows(audit_rows_json));
  std::lock_guard lock(mu_);
  auto it = versions_.find({v.type, v.id});
  int current = it == versions_.end() ? 0 : it->second.back().version;
  if (current != expected_version || v.version != current + 1) {
    return Status(StatusCode::kVersionConflict, "concurrent write");
  }
  FOVEA_RETURN_IF_ERROR(CheckAbsentLocked(companions));
  for (const auto& c : companions) {
    if (c.type == v.type && c.id == v.id) {
      return Status(StatusCode::kVersionConflict, "a companion names the written resource");
    }
  }
  AppendLocked(v);
  for (const auto& c : companions) AppendLocked(c);
  for (auto& row : audit_rows) audit_rows_.push_back(std::move(row));
  return Status::Ok();
}

std::vector<std::string> InMemoryResourceStore::AuditRowsForTesting() const {
  std::lock_guard lock(mu_);
  return audit_rows_;
}

Status InMemoryResourceStore::CreateAll(const std::vector<ResourceVersion>& batch) {
  FOVEA_RETURN_IF_ERROR(CheckNewResources(batch));
  std::lock_guard lock(mu_);
  FOVEA_RETURN_IF_ERROR(CheckAbsentLocked(batch));
  for (const auto& v : batch) AppendLocked(v);
  return Status::Ok();
}

Status InMemoryResourceStore::CheckAbsentLocked(const std::vector<ResourceVersion>& created) const {
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& c : created) {
    if (versions_.count({c.type, c.id}) != 0 || !seen.insert({c.type, c.id}).second) {
      // What PostgreSQL reports for the duplicate key (connection.cpp maps 23505 so).
      return Status(StatusCode::kVersionConflict, "A concurrent write conflicted; retry");
    }
  }
  return Status::Ok();
}

void InMemoryResourceStore::AppendLocked(const ResourceVersion& v) {
  ResourceVersion stored = v;
  stored.seq = next_seq_++;
  versions_[{v.type, v.id}].push_back(std::move(stored));
}

Result<HistoryPage> InMemoryResourceStore::History(const HistoryQuery& q) {
  std::lock_guard lock(mu_);
  std::vector<ResourceVersion> matches;
  for (const auto& [key, list] : versions_) {
    if (q.type && key.first != *q.type) continue;
    if (q.id && key.second != *q.id) continue;
    for (const auto& v : list) {
      if (q.since && v.last_updated < *q.since) continue;
      if (q.before_seq && v.seq >= *q.before_seq) continue;
      matches.push_back(v);
    }
  }
  std::sort(matches.begin(), matches.end(),
            [](const ResourceVersion& a, const ResourceVersion& b) { return a.seq > b.seq; });
  HistoryPage page;
  if (static_cast<int>(matches.size()) > q.count) {
    matches.resize(static_cast<std::size_t>(q.count));
    page.next_before_seq = matches.back().seq;
  }
  page.entries = std::move(matches);
  return page;
}

namespace {

class StripeGuard final : public ResourceStore::Guard {
 public:
  explicit StripeGuard(std::unique_lock<std::mutex> lock) : lock_(std::move(lock)) {}

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace

common::Result<std::unique_ptr<ResourceStore::Guard>> InMemoryResourceStore::LockCriteria(
    std::int64_t key) {
  return std::unique_ptr<Guard>(new StripeGuard(criteria_.Lock(std::to_string(key))));
}

}  // namespace fhir::store
