#ifndef FOVEA_FHIR_AUDIT_PG_KEY_BLOOM_H_
#define FOVEA_FHIR_AUDIT_PG_KEY_BLOOM_H_

// A Bloom filter of strings that PostgreSQL can test as well as C++: the bytes are a bytea, and
// migration 0021's SQL function audit_bloom_may_contain(bloom, h1, h2) answers what
// BloomMayContain answers, from the probe's two numbers. An audit block keeps the resources its
// events concern this way (audit_block.h): one GIN entry per resource read cost PostgreSQL
// more than the rest of the block's insert (docs/PERFORMANCE.md, security).
//
// The format is stored, so it never changes: the key's 64-bit hash is FNV-1a followed by the
// splitmix64 finaliser; h1 is its low 32 bits, h2 its high 32 bits with the lowest bit set; the
// key's bits are (h1 + i * h2) mod m for i in [0, kBloomHashes), m the filter's size in bits;
// bit n is bit n % 8 (least significant first) of byte n / 8, as PostgreSQL's get_bit numbers
// them. At kBloomBitsPerKey bits per key, about one key in a hundred that is not there is
// reported as maybe there; a key that is there always is.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fhir::audit::pg {

inline constexpr int kBloomHashes = 7;
inline constexpr std::size_t kBloomBitsPerKey = 10;
inline constexpr std::size_t kMinBloomBytes = 16;  // smaller: a few keys fill it unevenly

// What a membership test needs of a key: its two hashes, each below 2^32 (so that
// h1 + 6 * h2 fits PostgreSQL's bigint).
struct BloomProbe {
  std::int64_t h1 = 0;
  std::int64_t h2 = 0;
};

BloomProbe ProbeOf(std::string_view key);

// The filter of `keys` (duplicates count once): max(kMinBloomBytes, ceil(distinct *
// kBloomBitsPerKey / 8)) bytes.
std::string MakeBloom(std::vector<std::string_view> keys);

// False only when the key whose probe this is was not among the filter's keys. An empty
// `bloom` holds nothing.
bool BloomMayContain(std::string_view bloom, const BloomProbe& probe);

}  // namespace fhir::audit::pg

#endif  // FOVEA_FHIR_AUDIT_PG_KEY_BLOOM_H_
