// fhir/audit/pg/key_bloom: every key put in a filter is found; keys that were not are rarely
// reported (about 1%, the rate the size is chosen for); the size follows the distinct keys;
// and the hash is the one stored filters were made with. (audit_store_pgtest.cpp checks that
// PostgreSQL's audit_bloom_may_contain answers as BloomMayContain does.)

#include "fhir/audit/pg/key_bloom.h"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace bloom = fhir::audit::pg;

std::vector<std::string> Keys(const std::string& prefix, int count) {
  std::vector<std::string> keys;
  for (int n = 0; n < count; ++n) keys.push_back(prefix + std::to_string(n));
  return keys;
}

std::string BloomOf(const std::vector<std::string>& keys) {
  return bloom::MakeBloom(std::vector<std::string_view>(keys.begin(), keys.end()));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(KeyBloom)

BOOST_AUTO_TEST_CASE(EveryKeyPutInIsFoundAndFewOthersAre) {
  for (int count : {1, 7, 200, 1000}) {
    BOOST_TEST_CONTEXT(count << " keys") {
      const std::vector<std::string> in = Keys("Observation/", count);
      const std::string filter = BloomOf(in);
      for (const std::string& key : in) {
        BOOST_TEST(bloom::BloomMayContain(filter, bloom::ProbeOf(key)), key);
      }
      int false_positives = 0;
      constexpr int kProbes = 20'000;
      for (const std::string& key : Keys("Observation/x", kProbes)) {
        if (bloom::BloomMayContain(filter, bloom::ProbeOf(key))) ++false_positives;
      }
      // ~0.8% expected at 10 bits and 7 hashes per key; a broken hash or bit order is far off.
      BOOST_TEST(false_positives < kProbes * 3 / 100, false_positives << " of " << kProbes);
    }
  }
}

BOOST_AUTO_TEST_CASE(SizeFollowsTheDistinctKeys) {
  BOOST_TEST(BloomOf({}).size() == bloom::kMinBloomBytes);
  BOOST_TEST(BloomOf(Keys("Patient/", 12)).size() == bloom::kMinBloomBytes);
  BOOST_TEST(BloomOf(Keys("Patient/", 13)).size() == 17u);  // 130 bits
  BOOST_TEST(BloomOf(Keys("Patient/", 200)).size() == 250u);  // 200 * 10 bits
  std::vector<std::string> repeated(500, "Observation/1");
  BOOST_TEST(BloomOf(repeated).size() == bloom::kMinBloomBytes);
  BOOST_TEST(BloomOf(repeated) == BloomOf({"Observation/1"}));
  // Nothing is in an empty filter, nor in one that was never made.
  BOOST_TEST(!bloom::BloomMayContain(BloomOf({}), bloom::ProbeOf("Observation/1")));
  BOOST_TEST(!bloom::BloomMayContain("", bloom::ProbeOf("Observation/1")));
}

// Filters are stored: a change of hash would make every stored block unfindable by resource.
// The values are FNV-1a 64 of the key, then splitmix64's finaliser, split in two halves.
BOOST_AUTO_TEST_CASE(TheHashIsTheStoredFormats) {
  // Computed apart from the code under test (a few lines of Python over the same definition).
  const bloom::BloomProbe empty = bloom::ProbeOf("");
  BOOST_TEST(empty.h1 == 0xa9b5e89bLL);
  BOOST_TEST(empty.h2 == 0xf52a15e9LL);
  const bloom::BloomProbe obs = bloom::ProbeOf("Observation/1");
  BOOST_TEST(obs.h1 == 0xe172840eLL);
  BOOST_TEST(obs.h2 == 0x7e077103LL);  // odd: h2 is never 0 mod a filter's size
  // One bit of the key changes about half the hash's.
  const bloom::BloomProbe other = bloom::ProbeOf("Observation/0");
  const std::uint64_t diff = static_cast<std::uint64_t>(obs.h1 ^ other.h1);
  BOOST_TEST(__builtin_popcountll(diff) > 6);
}

BOOST_AUTO_TEST_SUITE_END()
