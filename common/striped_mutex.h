#ifndef FOVEA_COMMON_STRIPED_MUTEX_H_
#define FOVEA_COMMON_STRIPED_MUTEX_H_

// A fixed set of mutexes picked by key hash: serialises work on one key (e.g. one resource)
// without a map of locks. Unrelated keys may share a stripe, which only costs a little
// waiting. Thread-safe.

#include <array>
#include <functional>
#include <mutex>
#include <string_view>

namespace common {

template <std::size_t kStripes = 64>
class StripedMutex {
 public:
  std::unique_lock<std::mutex> Lock(std::string_view key) {
    return std::unique_lock<std::mutex>(stripes_[std::hash<std::string_view>{}(key) % kStripes]);
  }

 private:
  std::array<std::mutex, kStripes> stripes_;
};

}  // namespace common

#endif  // FOVEA_COMMON_STRIPED_MUTEX_H_
