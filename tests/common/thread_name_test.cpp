// common/thread_name: the name the kernel shows for the calling thread, cut to Linux's 15 bytes.

#include "common/thread_name.h"

#include <pthread.h>

#include <boost/test/unit_test.hpp>
#include <string>
#include <thread>

namespace {

// The name as ps, top and perf read it.
std::string NameOf(pthread_t thread) {
  char name[16] = {};
  pthread_getname_np(thread, name, sizeof name);
  return name;
}

// The name a new thread has after naming itself `name`.
std::string NameSeenInside(const char* name) {
  std::string inside;
  std::thread worker([&] {
    common::NameThisThread(name);
    inside = NameOf(pthread_self());
  });
  worker.join();
  return inside;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ThreadName)

BOOST_AUTO_TEST_CASE(NamesTheCallingThreadOnly) {
  const std::string before = NameOf(pthread_self());
  BOOST_TEST(NameSeenInside("fovea-audit") == "fovea-audit");
  BOOST_TEST(NameOf(pthread_self()) == before);
}

BOOST_AUTO_TEST_CASE(LongNamesAreCutToFifteenBytes) {
  BOOST_TEST(NameSeenInside("fovea-a-name-longer-than-linux-keeps") == "fovea-a-name-lo");
}

BOOST_AUTO_TEST_SUITE_END()
