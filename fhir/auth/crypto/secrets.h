#ifndef FOVEA_FHIR_AUTH_CRYPTO_SECRETS_H_
#define FOVEA_FHIR_AUTH_CRYPTO_SECRETS_H_

// Small cryptographic helpers on OpenSSL 3: base64url, random tokens, SHA-256, constant-time
// comparison, and password hashing with scrypt (memory-hard; RFC 7914).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace fhir::auth {

std::string Base64UrlEncode(std::string_view bytes);  // no padding
// Strict: the URL-safe alphabet, no padding, no whitespace; nullopt otherwise.
std::optional<std::string> Base64UrlDecode(std::string_view text);

// `bytes` random bytes from the OS CSPRNG, base64url-encoded (32 -> 43 characters).
std::string RandomToken(std::size_t bytes = 32);
std::string Sha256(std::string_view data);  // raw 32 bytes
bool ConstantTimeEquals(std::string_view a, std::string_view b);

struct ScryptParams {
  int log2_n = 15;  // N = 32768: 32 MiB with r = 8
  int r = 8;
  int p = 1;
};

// "$scrypt$ln=15,r=8,p=1$<salt b64url>$<hash b64url>" with a 16-byte random salt and a 32-byte
// hash. Takes ~50-100 ms by design.
std::string HashPassword(std::string_view password, const ScryptParams& params = {});
// False for a wrong password or a malformed/unsupported encoding (never throws). Rejects
// encodings whose parameters would ask for more than 256 MiB.
bool VerifyPassword(std::string_view password, std::string_view encoded);

}  // namespace fhir::auth

#endif  // FOVEA_FHIR_AUTH_CRYPTO_SECRETS_H_
