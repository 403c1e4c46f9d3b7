#include "fhir/store/in_memory_resource_store.h"

#include <algorithm>

namespace fhir::store {

using common::Result;
using common::Status;
using common::StatusCode;

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
  std::lock_guard lock(mu_);
  auto& list = versions_[{v.type, v.id}];
  int current = list.empty() ? 0 : list.back().version;
  if (current != expected_version || v.version != current + 1) {
    if (list.empty()) versions_.erase({v.type, v.id});
    return Status(StatusCode::kVersionConflict, "concurrent write");
  }
  ResourceVersion stored = v;
  stored.seq = next_seq_++;
  list.push_back(std::move(stored));
  return Status::Ok();
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

}  // namespace fhir::store
