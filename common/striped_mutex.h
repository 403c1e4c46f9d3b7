#ifndef FOVEA_COMMON_STRIPED_MUTEX_H_
#define FOVEA_COMMON_STRIPED_MUTEX_H_

// A fixed set of mutexes picked by key hash: serialises work on one key (e.g. one resource)
// without a map of locks. Unrelated keys may share a stripe, which only costs a little
// waiting. Thread-safe.

#include <algorithm>
#include <array>
#include <functional>
#include <mutex>
#include <string_view>
#include <vector>

namespace common {

template <std::size_t kStripes = 64>
class StripedMutex {
 public:
  std::unique_lock<std::mutex> Lock(std::string_view key) {
    return std::unique_lock<std::mutex>(stripes_[StripeOf(key)]);
  }

  // The stripes of all `keys`, each once, taken in stripe order: two callers locking
  // overlapping sets never deadlock.
  template <class Keys>
  std::vector<std::unique_lock<std::mutex>> LockEach(const Keys& keys) {
    std::vector<std::size_t> stripes;
    for (const auto& key : keys) stripes.push_back(StripeOf(key));
    std::sort(stripes.begin(), stripes.end());
    stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
    std::vector<std::unique_lock<std::mutex>> locks;
    locks.reserve(stripes.size());
    for (std::size_t s : stripes) locks.emplace_back(stripes_[s]);
    return locks;
  }

 private:
  static std::size_t StripeOf(std::string_view key) {
    return std::hash<std::string_view>{}(key) % kStripes;
  }

  std::array<std::mutex, kStripes> stripes_;
};

}  // namespace common

#endif  // FOVEA_COMMON_STRIPED_MUTEX_H_
