#ifndef FOVEA_FHIR_AUTH_CRYPTO_JOSE_H_
#define FOVEA_FHIR_AUTH_CRYPTO_JOSE_H_

// JSON Web Signatures as SMART on FHIR uses them (RFC 7515/7517/7518/7519), on OpenSSL 3:
// compact JWTs signed with RS256/RS384/ES256/ES384, JWK and JWKS import/export, and key
// generation. Never accepts "none", HMAC algorithms, or a key whose type does not match the
// token's alg (no algorithm confusion). Thread-safe: keys are immutable once built.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace fhir::auth {

enum class JwsAlgorithm { kRS256, kRS384, kES256, kES384 };

std::string_view JwsAlgorithmName(JwsAlgorithm alg);                // "RS384"
std::optional<JwsAlgorithm> ParseJwsAlgorithm(std::string_view name);  // nullopt for none/HS*/...

// An asymmetric key (public, or private with its public half) bound to one algorithm and kid.
class JwsKey {
 public:
  // Generates a fresh key: RSA 3072 for RS*, P-256 for ES256, P-384 for ES384.
  static common::Result<JwsKey> Generate(JwsAlgorithm alg, std::string kid);
  // PKCS#8 / traditional PEM private key (as written by PrivateKeyPem), or an SPKI public key.
  static common::Result<JwsKey> FromPem(std::string_view pem, JwsAlgorithm alg, std::string kid);
  // One JWK object (RFC 7517): kty RSA (n, e) or EC (crv P-256/P-384, x, y). `alg` in the JWK
  // decides the algorithm; without it RSA means RS384 and EC follows the curve. Private members
  // (d, p, q, ...) are ignored: only public keys are imported.
  static common::Result<JwsKey> FromJwk(const common::JsonValue& jwk);

  JwsAlgorithm alg() const { return alg_; }
  const std::string& kid() const { return kid_; }
  bool has_private() const { return has_private_; }
  EVP_PKEY* pkey() const { return pkey_.get(); }

  std::string PrivateKeyPem() const;  // PKCS#8 PEM; empty for a public-only key
  // The public JWK: {"kty":..,"kid":..,"use":"sig","alg":..,"n","e" | "crv","x","y"}.
  common::JsonValue PublicJwk() const;

 private:
  JwsKey(std::shared_ptr<EVP_PKEY> pkey, JwsAlgorithm alg, std::string kid, bool has_private)
      : pkey_(std::move(pkey)), alg_(alg), kid_(std::move(kid)), has_private_(has_private) {}
  std::shared_ptr<EVP_PKEY> pkey_;
  JwsAlgorithm alg_;
  std::string kid_;
  bool has_private_;
};

// Every usable signature key of a JWKS document ({"keys":[...]}); keys with unsupported kty,
// curve or alg, or with "use" other than "sig", are skipped. Invalid JSON shape -> kInvalid.
common::Result<std::vector<JwsKey>> ParseJwks(const common::JsonValue& jwks);
// {"keys":[public jwk, ...]}
std::string JwksJson(const std::vector<JwsKey>& keys);

// A compact JWS split and decoded, not yet verified.
struct DecodedJwt {
  common::JsonValue header;
  common::JsonValue claims;
  JwsAlgorithm alg;
  std::string kid;            // empty when the header has none
  std::string signing_input;  // "base64url(header).base64url(claims)"
  std::string signature;      // raw bytes (for ES*: R||S as JWS requires)
};

// Splits and decodes a compact JWT. kUnauthenticated with a short reason (safe to show) when it
// is longer than `max_bytes`, not three base64url parts, not JSON objects, has "crit", or names
// an algorithm other than RS256/RS384/ES256/ES384 (including "none").
common::Result<DecodedJwt> DecodeJwt(std::string_view compact, std::size_t max_bytes = 8192);

// Checks the signature with `key`. kUnauthenticated when the key's alg differs from the token's
// or the signature does not verify.
common::Status VerifyJwtSignature(const DecodedJwt& jwt, const JwsKey& key);

// Signs `claims` (a JSON object) with a private key: header {"alg","typ":"JWT","kid"}.
common::Result<std::string> SignJwt(const JwsKey& key, const common::JsonValue& claims);

}  // namespace fhir::auth

#endif  // FOVEA_FHIR_AUTH_CRYPTO_JOSE_H_
