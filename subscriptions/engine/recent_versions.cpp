#include "subscriptions/engine/recent_versions.h"

#include <utility>

namespace subscriptions {

void RecentVersions::Put(const std::string& type, const std::string& id, int version, std::string content) {
  if (capacity_ == 0) return;
  std::lock_guard lock(mu_);
  Key key{type, id, version};
  auto [it, fresh] = contents_.try_emplace(key, std::move(content));
  if (!fresh) return;  // the same version again (a batch matched anew): same content
  order_.push_back(std::move(key));
  while (order_.size() > capacity_) {
    contents_.erase(order_.front());
    order_.pop_front();
  }
}

std::optional<std::string> RecentVersions::Get(const std::string& type, const std::string& id,
                                               int version) const {
  std::lock_guard lock(mu_);
  auto it = contents_.find(Key{type, id, version});
  if (it == contents_.end()) return std::nullopt;
  return it->second;
}

std::size_t RecentVersions::size() const {
  std::lock_guard lock(mu_);
  return contents_.size();
}

}  // namespace subscriptions
