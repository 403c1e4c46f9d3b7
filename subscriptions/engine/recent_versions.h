#ifndef FOVEA_SUBSCRIPTIONS_ENGINE_RECENT_VERSIONS_H_
#define FOVEA_SUBSCRIPTIONS_ENGINE_RECENT_VERSIONS_H_

// The stored content of the versions the matcher just numbered, for the dispatchers in the same
// process: a notification that needs the version (full-resource, or to find what the topic's
// notification shape includes) takes it from here instead of reading it back from PostgreSQL.
// A stored version never changes, so an entry can never be stale; a miss (another node's
// matcher, an older event) reads the store as before. Bounded: the oldest entries go first.
// Thread-safe.

#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>

namespace subscriptions {

class RecentVersions {
 public:
  explicit RecentVersions(std::size_t capacity = 256) : capacity_(capacity) {}
  RecentVersions(const RecentVersions&) = delete;
  RecentVersions& operator=(const RecentVersions&) = delete;

  void Put(const std::string& type, const std::string& id, int version, std::string content);
  std::optional<std::string> Get(const std::string& type, const std::string& id, int version) const;
  std::size_t size() const;

 private:
  using Key = std::tuple<std::string, std::string, int>;
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::map<Key, std::string> contents_;  // GUARDED_BY(mu_)
  std::deque<Key> order_;                // GUARDED_BY(mu_): oldest first
};

}  // namespace subscriptions

#endif  // FOVEA_SUBSCRIPTIONS_ENGINE_RECENT_VERSIONS_H_
