// subscriptions/engine/recent_versions: what the matcher keeps for the dispatchers.

#include <boost/test/unit_test.hpp>

#include <string>
#include <thread>
#include <vector>

#include "subscriptions/engine/recent_versions.h"

namespace {

using subscriptions::RecentVersions;

BOOST_AUTO_TEST_CASE(AVersionIsFoundByTypeIdAndVersion) {
  RecentVersions recent(8);
  recent.Put("Task", "t1", 2, R"({"resourceType":"Task","id":"t1"})");
  BOOST_TEST(recent.Get("Task", "t1", 2).value_or("") == R"({"resourceType":"Task","id":"t1"})");
  BOOST_TEST(!recent.Get("Task", "t1", 1).has_value());
  BOOST_TEST(!recent.Get("Task", "t2", 2).has_value());
  BOOST_TEST(!recent.Get("Observation", "t1", 2).has_value());
}

BOOST_AUTO_TEST_CASE(TheOldestGoFirstWhenFull) {
  RecentVersions recent(3);
  for (int v = 1; v <= 5; ++v) recent.Put("Task", "t1", v, "v" + std::to_string(v));
  BOOST_TEST(recent.size() == 3u);
  BOOST_TEST(!recent.Get("Task", "t1", 1).has_value());
  BOOST_TEST(!recent.Get("Task", "t1", 2).has_value());
  for (int v = 3; v <= 5; ++v) BOOST_TEST(recent.Get("Task", "t1", v).value_or("") == "v" + std::to_string(v));
  // Putting a version it holds (a batch matched again) neither duplicates nor reorders it.
  recent.Put("Task", "t1", 3, "v3");
  recent.Put("Task", "t1", 6, "v6");
  BOOST_TEST(!recent.Get("Task", "t1", 3).has_value());
  BOOST_TEST(recent.size() == 3u);
}

BOOST_AUTO_TEST_CASE(NoCapacityKeepsNothing) {
  RecentVersions none(0);
  none.Put("Task", "t1", 1, "x");
  BOOST_TEST(!none.Get("Task", "t1", 1).has_value());
}

BOOST_AUTO_TEST_CASE(ConcurrentWritersAndReadersSeeWholeEntries) {
  RecentVersions recent(64);
  std::thread writer([&] {
    for (int v = 1; v <= 2000; ++v) recent.Put("Task", "t", v, std::string(100, static_cast<char>('a' + v % 26)));
  });
  for (int i = 0; i < 2000; ++i) {
    for (int v = 1; v <= 2000; v += 97) {
      auto c = recent.Get("Task", "t", v);
      if (!c) continue;
      BOOST_REQUIRE(*c == std::string(100, static_cast<char>('a' + v % 26)));
    }
  }
  writer.join();
  BOOST_TEST(recent.size() == 64u);
}

}  // namespace
