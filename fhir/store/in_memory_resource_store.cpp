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

Status InMemoryResourceStore::WriteAll(const std::vector<PlannedWrite>& writes,
                                       const std::vector<ResourceVersion>& companions,
                                       const std::string& audit_rows_json,
                                       std::size_t* conflict_index) {
  FOVEA_RETURN_IF_ERROR(CheckPlannedWrites(writes));
  FOVEA_RETURN_IF_ERROR(CheckNewResources(companions));
  FOVEA_ASSIGN_OR_RETURN(std::vector<std::string> audit_rows, SplitAuditRows(audit_rows_json));
  std::lock_guard lock(mu_);
  std::set<std::pair<std::string, std::string>> written;
  for (std::size_t i = 0; i < writes.size(); ++i) {
    const PlannedWrite& w = writes[i];
    auto it = versions_.find({w.version.type, w.version.id});
    int current = it == versions_.end() ? 0 : it->second.back().version;
    if (current != w.expected_version || !written.insert({w.version.type, w.version.id}).second) {
      if (conflict_index != nullptr) *conflict_index = i;
      return Status(StatusCode::kVersionConflict, "A concurrent write conflicted; retry");
    }
  }
  for (const ResourceVersion& c : companions) {
    if (versions_.count({c.type, c.id}) != 0 || !written.insert({c.type, c.id}).second) {
      if (conflict_index != nullptr) *conflict_index = writes.size();
      return Status(StatusCode::kVersionConflict, "A concurrent write conflicted; retry");
    }
  }
  for (const PlannedWrite& w : writes) AppendLocked(w.version);
  for (const ResourceVersion& c : companions) AppendLocked(c);
  for (auto& row : audit_rows) audit_rows_.push_back(std::move(row));
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
  explicit StripeGuard(std::vector<std::unique_lock<std::mutex>> locks)
      : locks_(std::move(locks)) {}

 private:
  std::vector<std::unique_lock<std::mutex>> locks_;
};

}  // namespace

common::Result<std::unique_ptr<ResourceStore::Guard>> InMemoryResourceStore::LockCriteria(
    const std::vector<std::int64_t>& keys) {
  std::vector<std::string> names;
  names.reserve(keys.size());
  for (std::int64_t key : keys) names.push_back(std::to_string(key));
  return std::unique_ptr<Guard>(new StripeGuard(criteria_.LockEach(names)));
}

}  // namespace fhir::store
