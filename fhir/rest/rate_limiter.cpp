#include "fhir/rest/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace fhir::rest {

int RateLimiter::Acquire(std::string_view key, Clock::time_point now) {
  if (!enabled()) return 0;
  Shard& shard = shards_[std::hash<std::string_view>{}(key) % kShards];
  std::lock_guard lock(shard.mu);
  auto it = shard.buckets.find(std::string(key));
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= kMaxBucketsPerShard) {
      // Drop the buckets that have refilled completely: they hold no state worth keeping.
      std::erase_if(shard.buckets, [&](const auto& kv) {
        double elapsed = std::chrono::duration<double>(now - kv.second.updated).count();
        return kv.second.tokens + elapsed * limit_.per_second >= limit_.burst;
      });
      // Under a flood of distinct keys, forget everything rather than grow without bound.
      if (shard.buckets.size() >= kMaxBucketsPerShard) shard.buckets.clear();
    }
    it = shard.buckets.emplace(std::string(key), Bucket{limit_.burst, now}).first;
  }
  Bucket& b = it->second;
  double elapsed = std::chrono::duration<double>(now - b.updated).count();
  b.tokens = std::min(limit_.burst, b.tokens + std::max(0.0, elapsed) * limit_.per_second);
  b.updated = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return std::max(1, static_cast<int>(std::ceil((1.0 - b.tokens) / limit_.per_second)));
}

}  // namespace fhir::rest
