#include "fhir/auth/crypto/secrets.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <stdexcept>

namespace fhir::auth {
namespace {

constexpr char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int DecodeChar(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

constexpr std::string_view kScryptPrefix = "$scrypt$";
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;
// Accepted when verifying: generous enough for stronger future settings, small enough that a
// tampered or hostile encoding cannot make one login allocate gigabytes or run for minutes.
constexpr int kMaxLog2N = 20;
constexpr int kMaxR = 16;
constexpr int kMaxP = 4;
constexpr std::uint64_t kMaxScryptMemory = 256ull * 1024 * 1024;
constexpr std::size_t kMinStoredSaltBytes = 16;
constexpr std::size_t kMaxStoredSaltBytes = 64;

bool ParamsAllowed(const ScryptParams& params) {
  if (params.log2_n < 1 || params.log2_n > kMaxLog2N) return false;
  if (params.r < 1 || params.r > kMaxR) return false;
  if (params.p < 1 || params.p > kMaxP) return false;
  // scrypt's working set is 128 * r * N bytes (the V array); the bounds above keep this product
  // far below 2^64.
  const std::uint64_t memory = (std::uint64_t{128} * static_cast<std::uint64_t>(params.r))
                               << static_cast<unsigned>(params.log2_n);
  return memory <= kMaxScryptMemory;
}

// Derives kHashBytes with scrypt. False only when OpenSSL refuses (e.g. out of memory).
bool Scrypt(std::string_view password, std::string_view salt, const ScryptParams& params,
            unsigned char* out) {
  const std::uint64_t n = std::uint64_t{1} << params.log2_n;
  const auto r = static_cast<std::uint64_t>(params.r);
  const auto p = static_cast<std::uint64_t>(params.p);
  // OpenSSL's maxmem is a ceiling, not an allocation; its default (32 MiB) is below what the
  // default parameters need. Allow exactly what these parameters use, plus OpenSSL's B buffer.
  const std::uint64_t max_mem = 128 * r * (n + 2) + 128 * r * p + 4096;
  return EVP_PBE_scrypt(password.data(), password.size(),
                        reinterpret_cast<const unsigned char*>(salt.data()), salt.size(), n, r,
                        p, max_mem, out, kHashBytes) == 1;
}

// Parses a canonical decimal integer of one or two digits (no sign, no leading zero): every
// accepted parameter is below 100.
bool ParseSmallInt(std::string_view text, int& out) {
  if (text.empty() || text.size() > 2) return false;
  if (text.size() > 1 && text[0] == '0') return false;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  out = value;
  return true;
}

// Consumes "name=<int>" followed by `terminator` from the front of `text`.
bool TakeParam(std::string_view& text, std::string_view name, char terminator, int& out) {
  if (text.substr(0, name.size()) != name || text.size() <= name.size() ||
      text[name.size()] != '=') {
    return false;
  }
  text.remove_prefix(name.size() + 1);
  const std::size_t end = text.find(terminator);
  if (end == std::string_view::npos) return false;
  if (!ParseSmallInt(text.substr(0, end), out)) return false;
  text.remove_prefix(end + 1);
  return true;
}

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                            (std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                            std::uint32_t{static_cast<unsigned char>(bytes[i + 2])};
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t v = std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
  } else if (rest == 2) {
    const std::uint32_t v = (std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                            (std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  // One leftover character carries only 6 bits: no encoder produces it.
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = DecodeChar(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
      acc &= (1u << bits) - 1;
    }
  }
  // The unused low bits of the last character must be zero. Accepting them would give every
  // value several spellings (e.g. "Zg" and "Zh" both meaning "f"), which makes tokens and
  // signatures malleable, so only the canonical encoding is accepted.
  if (acc != 0) return std::nullopt;
  return out;
}

std::string RandomToken(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (bytes > 0 &&
      RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    // No safe fallback exists for a broken CSPRNG: fail loudly rather than hand out a weak token.
    throw std::runtime_error("random number generator failed");
  }
  return Base64UrlEncode(raw);
}

std::string Sha256(std::string_view data) {
  std::array<unsigned char, 32> digest{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != digest.size()) {
    throw std::runtime_error("SHA-256 failed");
  }
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // The length is not secret (tokens and hashes have fixed sizes); the contents are.
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string HashPassword(std::string_view password, const ScryptParams& params) {
  if (!ParamsAllowed(params)) {
    // A hash VerifyPassword would refuse is a configuration error, not a request error.
    throw std::invalid_argument("scrypt parameters out of range");
  }
  std::array<unsigned char, kSaltBytes> salt{};
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    throw std::runtime_error("random number generator failed");
  }
  const std::string_view salt_view(reinterpret_cast<const char*>(salt.data()), salt.size());
  std::array<unsigned char, kHashBytes> hash{};
  if (!Scrypt(password, salt_view, params, hash.data())) {
    throw std::runtime_error("scrypt failed");
  }
  std::string out(kScryptPrefix);
  out += "ln=" + std::to_string(params.log2_n) + ",r=" + std::to_string(params.r) +
         ",p=" + std::to_string(params.p) + "$";
  out += Base64UrlEncode(salt_view);
  out += '$';
  out += Base64UrlEncode(
      std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
  OPENSSL_cleanse(hash.data(), hash.size());
  return out;
}

bool VerifyPassword(std::string_view password, std::string_view encoded) {
  try {
    if (encoded.substr(0, kScryptPrefix.size()) != kScryptPrefix) return false;
    std::string_view rest = encoded.substr(kScryptPrefix.size());
    ScryptParams params;
    if (!TakeParam(rest, "ln", ',', params.log2_n) || !TakeParam(rest, "r", ',', params.r) ||
        !TakeParam(rest, "p", '$', params.p)) {
      return false;
    }
    if (!ParamsAllowed(params)) return false;
    const std::size_t dollar = rest.find('$');
    if (dollar == std::string_view::npos) return false;
    const std::optional<std::string> salt = Base64UrlDecode(rest.substr(0, dollar));
    const std::optional<std::string> expected = Base64UrlDecode(rest.substr(dollar + 1));
    if (!salt || !expected) return false;
    if (salt->size() < kMinStoredSaltBytes || salt->size() > kMaxStoredSaltBytes) return false;
    if (expected->size() != kHashBytes) return false;
    std::array<unsigned char, kHashBytes> actual{};
    if (!Scrypt(password, *salt, params, actual.data())) return false;
    const bool match = CRYPTO_memcmp(actual.data(), expected->data(), kHashBytes) == 0;
    OPENSSL_cleanse(actual.data(), actual.size());
    return match;
  } catch (...) {
    // Contract: never throws (e.g. std::bad_alloc); an unverifiable password is a wrong one.
    return false;
  }
}

}  // namespace fhir::auth
