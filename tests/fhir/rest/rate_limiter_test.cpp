// fhir/rest RateLimiter: token buckets per key, refill, Retry-After, bounded memory.

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>

#include "fhir/rest/rate_limiter.h"

namespace {

using fhir::rest::RateLimiter;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(RateLimiterTest)

BOOST_AUTO_TEST_CASE(AllowsTheBurstThenRefusesWithRetryAfter) {
  RateLimiter limiter({.per_second = 2, .burst = 3});
  auto t = RateLimiter::Clock::now();
  for (int i = 0; i < 3; ++i) BOOST_TEST(limiter.Acquire("ehr", t) == 0);
  BOOST_TEST(limiter.Acquire("ehr", t) == 1);
  // Another client has its own bucket.
  BOOST_TEST(limiter.Acquire("console", t) == 0);
}

BOOST_AUTO_TEST_CASE(RefillsOverTime) {
  RateLimiter limiter({.per_second = 1, .burst = 1});
  auto t = RateLimiter::Clock::now();
  BOOST_TEST(limiter.Acquire("a", t) == 0);
  BOOST_TEST(limiter.Acquire("a", t + 500ms) == 1);
  BOOST_TEST(limiter.Acquire("a", t + 1600ms) == 0);
  // Never more than the burst, however long the pause.
  BOOST_TEST(limiter.Acquire("a", t + 1h) == 0);
  BOOST_TEST(limiter.Acquire("a", t + 1h) == 1);
}

BOOST_AUTO_TEST_CASE(RetryAfterReflectsTheRate) {
  RateLimiter limiter({.per_second = 0.1, .burst = 1});
  auto t = RateLimiter::Clock::now();
  BOOST_TEST(limiter.Acquire("slow", t) == 0);
  BOOST_TEST(limiter.Acquire("slow", t) == 10);
}

BOOST_AUTO_TEST_CASE(UnlimitedWhenDisabled) {
  RateLimiter limiter({});
  for (int i = 0; i < 1000; ++i) BOOST_TEST_REQUIRE(limiter.Acquire("x") == 0);
}

BOOST_AUTO_TEST_CASE(ManyDistinctKeysDoNotBreakIt) {
  RateLimiter limiter({.per_second = 1, .burst = 1});
  auto t = RateLimiter::Clock::now();
  for (int i = 0; i < 200000; ++i) limiter.Acquire("k" + std::to_string(i), t);
  BOOST_TEST(limiter.Acquire("fresh", t) == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
