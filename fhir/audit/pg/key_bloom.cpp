#include "fhir/audit/pg/key_bloom.h"

#include <algorithm>

namespace fhir::audit::pg {

namespace {

std::uint64_t Hash(std::string_view key) {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  // splitmix64's finaliser: FNV alone leaves the high bits of similar keys correlated.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

// The filter's i-th bit for `probe`, of `bits` bits.
std::uint64_t BitOf(const BloomProbe& probe, int i, std::uint64_t bits) {
  return (static_cast<std::uint64_t>(probe.h1) + static_cast<std::uint64_t>(i) *
                                                      static_cast<std::uint64_t>(probe.h2)) %
         bits;
}

}  // namespace

BloomProbe ProbeOf(std::string_view key) {
  const std::uint64_t h = Hash(key);
  return {static_cast<std::int64_t>(h & 0xffffffffULL),
          static_cast<std::int64_t>((h >> 32) | 1ULL)};
}

std::string MakeBloom(std::vector<std::string_view> keys) {
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  const std::size_t bytes =
      std::max(kMinBloomBytes, (keys.size() * kBloomBitsPerKey + 7) / 8);
  std::string bloom(bytes, '\0');
  const std::uint64_t bits = bytes * 8;
  for (std::string_view key : keys) {
    const BloomProbe probe = ProbeOf(key);
    for (int i = 0; i < kBloomHashes; ++i) {
      const std::uint64_t bit = BitOf(probe, i, bits);
      bloom[bit / 8] = static_cast<char>(static_cast<unsigned char>(bloom[bit / 8]) | (1u << (bit % 8)));
    }
  }
  return bloom;
}

bool BloomMayContain(std::string_view bloom, const BloomProbe& probe) {
  if (bloom.empty()) return false;
  const std::uint64_t bits = bloom.size() * 8;
  for (int i = 0; i < kBloomHashes; ++i) {
    const std::uint64_t bit = BitOf(probe, i, bits);
    if ((static_cast<unsigned char>(bloom[bit / 8]) & (1u << (bit % 8))) == 0) return false;
  }
  return true;
}

}  // namespace fhir::audit::pg
