#ifndef FOVEA_FHIR_REST_RATE_LIMITER_H_
#define FOVEA_FHIR_REST_RATE_LIMITER_H_

// Per-client request rate limits: one token bucket per key (a client id, a user, or a network
// address for unauthenticated calls such as the token endpoint). A bucket holds `burst`
// requests and refills at `per_second`; an empty bucket means 429 with Retry-After. Memory is
// bounded: idle buckets are dropped. Thread-safe; sharded so that clients rarely contend.

#include <array>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace fhir::rest {

struct RateLimit {
  double per_second = 0;  // 0: unlimited
  double burst = 0;
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RateLimiter(RateLimit limit) : limit_(limit) {}

  // Takes one request from `key`'s bucket. 0 when allowed; otherwise the whole seconds until
  // a request would be allowed again (for Retry-After).
  int Acquire(std::string_view key, Clock::time_point now = Clock::now());
  bool enabled() const { return limit_.per_second > 0; }

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets;  // GUARDED_BY(mu)
  };
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kMaxBucketsPerShard = 4096;

  RateLimit limit_;
  std::array<Shard, kShards> shards_;
};

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_RATE_LIMITER_H_
