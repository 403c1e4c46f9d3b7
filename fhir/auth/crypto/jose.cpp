#include "fhir/auth/crypto/jose.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fhir/auth/crypto/secrets.h"

namespace fhir::auth {
namespace {

using common::JsonValue;
using common::Result;
using common::Status;
using common::StatusCode;

// RAII for the OpenSSL handles used here (STYLE.md convention 11).
struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const noexcept { BN_free(p); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* p) const noexcept { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* p) const noexcept { ECDSA_SIG_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, ParamFree>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;

constexpr int kMinRsaBits = 2048;
// Larger moduli buy nothing and make every verification (and the import check) slow.
constexpr int kMaxRsaBits = 8192;
constexpr int kGeneratedRsaBits = 3072;
constexpr std::size_t kMaxPemBytes = 64 * 1024;
constexpr std::size_t kMaxRsaExponentBytes = 8;

std::shared_ptr<EVP_PKEY> Share(PkeyPtr pkey) {
  return std::shared_ptr<EVP_PKEY>(pkey.release(), PkeyFree());
}

// OpenSSL keeps a per-thread error queue; drop what a failed call left behind so it cannot be
// mistaken for the cause of a later, unrelated failure (e.g. in a TLS library on this thread).
Status Fail(StatusCode code, std::string message) {
  ERR_clear_error();
  return Status(code, std::move(message));
}
Status Invalid(std::string message) { return Fail(StatusCode::kInvalid, std::move(message)); }
Status Unauthenticated(std::string message) {
  return Fail(StatusCode::kUnauthenticated, std::move(message));
}

bool IsRsa(JwsAlgorithm alg) { return alg == JwsAlgorithm::kRS256 || alg == JwsAlgorithm::kRS384; }

const EVP_MD* Digest(JwsAlgorithm alg) {
  return alg == JwsAlgorithm::kRS256 || alg == JwsAlgorithm::kES256 ? EVP_sha256()
                                                                    : EVP_sha384();
}

// Bytes per ECDSA coordinate / signature half: 32 for P-256, 48 for P-384.
std::size_t EcFieldBytes(JwsAlgorithm alg) { return alg == JwsAlgorithm::kES256 ? 32 : 48; }
const char* EcCurveName(JwsAlgorithm alg) {
  return alg == JwsAlgorithm::kES256 ? "P-256" : "P-384";
}
int EcCurveNid(JwsAlgorithm alg) {
  return alg == JwsAlgorithm::kES256 ? NID_X9_62_prime256v1 : NID_secp384r1;
}

// Checks that `pkey` is the key type `alg` needs: RSA (not RSA-PSS) of 2048-8192 bits, or EC on
// the curve the alg names. This is what stops algorithm confusion at key-construction time.
Status CheckKeyFitsAlg(EVP_PKEY* pkey, JwsAlgorithm alg) {
  if (IsRsa(alg)) {
    if (!EVP_PKEY_is_a(pkey, "RSA")) return Invalid("key is not an RSA key");
    const int bits = EVP_PKEY_get_bits(pkey);
    if (bits < kMinRsaBits) return Invalid("RSA key shorter than 2048 bits");
    if (bits > kMaxRsaBits) return Invalid("RSA key longer than 8192 bits");
    return Status::Ok();
  }
  if (!EVP_PKEY_is_a(pkey, "EC")) return Invalid("key is not an EC key");
  char group[64] = {};
  std::size_t group_len = 0;
  if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &group_len) != 1) {
    return Invalid("EC key has no named curve");
  }
  int nid = OBJ_sn2nid(group);
  if (nid == NID_undef) nid = EC_curve_nist2nid(group);
  if (nid != EcCurveNid(alg)) return Invalid("EC key curve does not match alg");
  return Status::Ok();
}

// Imports a public key from OSSL_PARAMs and runs OpenSSL's public-key check (RSA: odd composite
// modulus, sane exponent; EC: point on the curve).
Result<PkeyPtr> PublicKeyFromParams(const char* type, OSSL_PARAM_BLD* bld) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!params || !ctx) return Fail(StatusCode::kInternal, "key import failed");
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return Invalid("JWK is not a valid public key");
  }
  PkeyPtr pkey(raw);
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return Invalid("JWK is not a valid public key");
  }
  return pkey;
}

// A JWK member that must be a base64url string.
Result<std::string> JwkBytes(const JsonValue& jwk, std::string_view name) {
  const JsonValue* member = jwk.Find(name);
  if (member == nullptr || !member->is_string()) {
    return Invalid("JWK member " + std::string(name) + " missing");
  }
  std::optional<std::string> bytes = Base64UrlDecode(member->scalar());
  if (!bytes || bytes->empty()) {
    return Invalid("JWK member " + std::string(name) + " is not base64url");
  }
  return std::move(*bytes);
}

Result<PkeyPtr> RsaFromJwk(const JsonValue& jwk) {
  FOVEA_ASSIGN_OR_RETURN(std::string n, JwkBytes(jwk, "n"));
  FOVEA_ASSIGN_OR_RETURN(std::string e, JwkBytes(jwk, "e"));
  // Checked before any big-number work so a hostile JWKS cannot make us test a huge modulus.
  if (n.size() > kMaxRsaBits / 8 + 1) return Invalid("RSA key longer than 8192 bits");
  if (e.size() > kMaxRsaExponentBytes) return Invalid("RSA exponent too large");
  BnPtr n_bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()),
                       static_cast<int>(n.size()), nullptr));
  BnPtr e_bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()),
                       static_cast<int>(e.size()), nullptr));
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!n_bn || !e_bn || !bld ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n_bn.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e_bn.get()) != 1) {
    return Fail(StatusCode::kInternal, "key import failed");
  }
  // The size bound comes first: the public check below runs a primality test on the modulus.
  if (BN_num_bits(n_bn.get()) < kMinRsaBits) return Invalid("RSA key shorter than 2048 bits");
  if (BN_num_bits(n_bn.get()) > kMaxRsaBits) return Invalid("RSA key longer than 8192 bits");
  // SP 800-56B / RFC 8017 practice: an odd e above 2^16. OpenSSL 3.0's public check accepts
  // e = 3, which only ever appears in old or hand-made keys.
  if (!BN_is_odd(e_bn.get()) || BN_num_bits(e_bn.get()) <= 16) {
    return Invalid("RSA exponent not supported");
  }
  return PublicKeyFromParams("RSA", bld.get());
}

Result<PkeyPtr> EcFromJwk(const JsonValue& jwk, JwsAlgorithm alg) {
  FOVEA_ASSIGN_OR_RETURN(std::string x, JwkBytes(jwk, "x"));
  FOVEA_ASSIGN_OR_RETURN(std::string y, JwkBytes(jwk, "y"));
  // RFC 7518 section 6.2.1.2: coordinates are full-length, left-padded octet strings.
  if (x.size() != EcFieldBytes(alg) || y.size() != EcFieldBytes(alg)) {
    return Invalid("JWK EC coordinates have the wrong length");
  }
  const std::string point = '\x04' + x + y;  // uncompressed SEC1 point
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, EcCurveName(alg),
                                      0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return Fail(StatusCode::kInternal, "key import failed");
  }
  return PublicKeyFromParams("EC", bld.get());
}

// Big-endian magnitude of a BIGNUM key parameter; empty on failure.
std::string BnParam(EVP_PKEY* pkey, const char* name, int pad_to = 0) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) return {};
  BnPtr bn(raw);
  const int len = pad_to > 0 ? pad_to : BN_num_bytes(bn.get());
  if (BN_num_bytes(bn.get()) > len) return {};
  std::string out(static_cast<std::size_t>(len), '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), len) != len) {
    return {};
  }
  return out;
}

// JWS carries ECDSA signatures as R||S (RFC 7518 section 3.4); OpenSSL speaks DER.
std::optional<std::string> RawEcdsaToDer(std::string_view raw, std::size_t half) {
  if (raw.size() != 2 * half) return std::nullopt;
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  BnPtr r(BN_bin2bn(bytes, static_cast<int>(half), nullptr));
  BnPtr s(BN_bin2bn(bytes + half, static_cast<int>(half), nullptr));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
  r.release();  // owned by sig now
  s.release();
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return std::nullopt;
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != len) return std::nullopt;
  return der;
}

std::optional<std::string> DerEcdsaToRaw(std::string_view der, std::size_t half) {
  const auto* in = reinterpret_cast<const unsigned char*>(der.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &in, static_cast<long>(der.size())));
  if (!sig) return std::nullopt;
  const BIGNUM* r = ECDSA_SIG_get0_r(sig.get());
  const BIGNUM* s = ECDSA_SIG_get0_s(sig.get());
  std::string raw(2 * half, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  const int n = static_cast<int>(half);
  if (BN_bn2binpad(r, out, n) != n || BN_bn2binpad(s, out + half, n) != n) return std::nullopt;
  return raw;
}

// Never prompt on a terminal for the passphrase of an encrypted PEM: such keys are refused.
int NoPassphrase(char*, int, int, void*) { return -1; }

Result<JsonValue> ParseJwtPart(std::string_view encoded) {
  std::optional<std::string> json = Base64UrlDecode(encoded);
  if (!json) return Unauthenticated("malformed token");
  common::JsonLimits limits;
  limits.max_depth = 16;
  Result<JsonValue> value = common::ParseJson(*json, limits);
  if (!value.has_value() || !value->is_object()) return Unauthenticated("malformed token");
  return value;
}

}  // namespace

std::string_view JwsAlgorithmName(JwsAlgorithm alg) {
  switch (alg) {
    case JwsAlgorithm::kRS256: return "RS256";
    case JwsAlgorithm::kRS384: return "RS384";
    case JwsAlgorithm::kES256: return "ES256";
    case JwsAlgorithm::kES384: return "ES384";
  }
  return "";
}

std::optional<JwsAlgorithm> ParseJwsAlgorithm(std::string_view name) {
  // Exact, case-sensitive names (RFC 7515 section 4.1.1): "none", "HS256", "rs256" all fail.
  if (name == "RS256") return JwsAlgorithm::kRS256;
  if (name == "RS384") return JwsAlgorithm::kRS384;
  if (name == "ES256") return JwsAlgorithm::kES256;
  if (name == "ES384") return JwsAlgorithm::kES384;
  return std::nullopt;
}

Result<JwsKey> JwsKey::Generate(JwsAlgorithm alg, std::string kid) {
  EVP_PKEY* raw = IsRsa(alg) ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA",
                                                 static_cast<std::size_t>(kGeneratedRsaBits))
                             : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", EcCurveName(alg));
  if (raw == nullptr) return Fail(StatusCode::kInternal, "key generation failed");
  return JwsKey(Share(PkeyPtr(raw)), alg, std::move(kid), /*has_private=*/true);
}

Result<JwsKey> JwsKey::FromPem(std::string_view pem, JwsAlgorithm alg, std::string kid) {
  if (pem.empty() || pem.size() > kMaxPemBytes) return Invalid("not a PEM key");
  const int len = static_cast<int>(pem.size());
  bool has_private = true;
  BioPtr bio(BIO_new_mem_buf(pem.data(), len));
  if (!bio) return Fail(StatusCode::kInternal, "key import failed");
  PkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (!pkey) {
    // Not a private key: try an SPKI public key, reading from the start again.
    has_private = false;
    bio.reset(BIO_new_mem_buf(pem.data(), len));
    if (!bio) return Fail(StatusCode::kInternal, "key import failed");
    pkey.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr));
  }
  if (!pkey) return Invalid("not a PEM key");
  FOVEA_RETURN_IF_ERROR(CheckKeyFitsAlg(pkey.get(), alg));
  ERR_clear_error();  // the failed private-key attempt may have queued errors
  return JwsKey(Share(std::move(pkey)), alg, std::move(kid), has_private);
}

Result<JwsKey> JwsKey::FromJwk(const JsonValue& jwk) {
  if (!jwk.is_object()) return Invalid("JWK is not an object");
  const JsonValue* kty = jwk.Find("kty");
  if (kty == nullptr || !kty->is_string()) return Invalid("JWK kty missing");
  if (const JsonValue* use = jwk.Find("use"); use != nullptr) {
    if (!use->is_string() || use->scalar() != "sig") return Invalid("JWK is not a signature key");
  }
  std::string kid;
  if (const JsonValue* k = jwk.Find("kid"); k != nullptr) {
    if (!k->is_string()) return Invalid("JWK kid is not a string");
    kid = k->scalar();
  }
  std::optional<JwsAlgorithm> alg;
  if (const JsonValue* a = jwk.Find("alg"); a != nullptr) {
    if (!a->is_string()) return Invalid("JWK alg is not a string");
    alg = ParseJwsAlgorithm(a->scalar());
    if (!alg) return Invalid("JWK alg not supported");
  }

  PkeyPtr pkey;
  if (kty->scalar() == "RSA") {
    if (!alg) alg = JwsAlgorithm::kRS384;  // SMART Backend Services' RSA choice
    if (!IsRsa(*alg)) return Invalid("JWK alg does not match kty");
    FOVEA_ASSIGN_OR_RETURN(pkey, RsaFromJwk(jwk));
  } else if (kty->scalar() == "EC") {
    const JsonValue* crv = jwk.Find("crv");
    if (crv == nullptr || !crv->is_string()) return Invalid("JWK crv missing");
    JwsAlgorithm curve_alg;
    if (crv->scalar() == "P-256") {
      curve_alg = JwsAlgorithm::kES256;
    } else if (crv->scalar() == "P-384") {
      curve_alg = JwsAlgorithm::kES384;
    } else {
      return Invalid("JWK crv not supported");
    }
    if (alg && *alg != curve_alg) return Invalid("JWK alg does not match crv");
    alg = curve_alg;
    FOVEA_ASSIGN_OR_RETURN(pkey, EcFromJwk(jwk, *alg));
  } else {
    return Invalid("JWK kty not supported");
  }
  FOVEA_RETURN_IF_ERROR(CheckKeyFitsAlg(pkey.get(), *alg));
  return JwsKey(Share(std::move(pkey)), *alg, std::move(kid), /*has_private=*/false);
}

std::string JwsKey::PrivateKeyPem() const {
  if (!has_private_) return {};
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    ERR_clear_error();
    return {};
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<std::size_t>(len));
}

// Export cannot fail for a key that passed construction; if OpenSSL ever did fail here, the
// empty member makes the JWK unusable (FromJwk rejects it) rather than silently wrong.
JsonValue JwsKey::PublicJwk() const {
  JsonValue jwk = JsonValue::Object();
  jwk.Set("kty", JsonValue::String(IsRsa(alg_) ? "RSA" : "EC"));
  if (!kid_.empty()) jwk.Set("kid", JsonValue::String(kid_));
  jwk.Set("use", JsonValue::String("sig"));
  jwk.Set("alg", JsonValue::String(std::string(JwsAlgorithmName(alg_))));
  if (IsRsa(alg_)) {
    // Minimal big-endian octets, no leading zero (RFC 7518 section 6.3.1).
    jwk.Set("n", JsonValue::String(Base64UrlEncode(BnParam(pkey_.get(), OSSL_PKEY_PARAM_RSA_N))));
    jwk.Set("e", JsonValue::String(Base64UrlEncode(BnParam(pkey_.get(), OSSL_PKEY_PARAM_RSA_E))));
  } else {
    const int width = static_cast<int>(EcFieldBytes(alg_));
    jwk.Set("crv", JsonValue::String(EcCurveName(alg_)));
    jwk.Set("x", JsonValue::String(
                     Base64UrlEncode(BnParam(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_X, width))));
    jwk.Set("y", JsonValue::String(
                     Base64UrlEncode(BnParam(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, width))));
  }
  ERR_clear_error();
  return jwk;
}

Result<std::vector<JwsKey>> ParseJwks(const JsonValue& jwks) {
  if (!jwks.is_object()) return Invalid("JWKS is not an object");
  const JsonValue* keys = jwks.Find("keys");
  if (keys == nullptr || !keys->is_array()) return Invalid("JWKS has no keys array");
  std::vector<JwsKey> out;
  for (const JsonValue& jwk : keys->items()) {
    // A key this server cannot use (other kty/curve/alg, "use":"enc", too short, malformed)
    // is skipped so that one odd entry does not disable the issuer's other keys.
    Result<JwsKey> key = JwsKey::FromJwk(jwk);
    if (key.has_value()) out.push_back(std::move(key).value());
  }
  return out;
}

std::string JwksJson(const std::vector<JwsKey>& keys) {
  JsonValue doc = JsonValue::Object();
  JsonValue& array = doc.Set("keys", JsonValue::Array());
  for (const JwsKey& key : keys) array.Add(key.PublicJwk());
  return common::ToJson(doc);
}

Result<DecodedJwt> DecodeJwt(std::string_view compact, std::size_t max_bytes) {
  if (compact.size() > max_bytes) return Unauthenticated("token too large");
  const std::size_t dot1 = compact.find('.');
  if (dot1 == std::string_view::npos) return Unauthenticated("malformed token");
  const std::size_t dot2 = compact.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || compact.find('.', dot2 + 1) != std::string_view::npos) {
    return Unauthenticated("malformed token");
  }
  const std::string_view header_part = compact.substr(0, dot1);
  const std::string_view claims_part = compact.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_part = compact.substr(dot2 + 1);
  if (header_part.empty() || claims_part.empty() || signature_part.empty()) {
    return Unauthenticated("malformed token");
  }

  FOVEA_ASSIGN_OR_RETURN(JsonValue header, ParseJwtPart(header_part));
  const JsonValue* alg_member = header.Find("alg");
  if (alg_member == nullptr || !alg_member->is_string()) {
    return Unauthenticated("token alg missing");
  }
  const std::optional<JwsAlgorithm> alg = ParseJwsAlgorithm(alg_member->scalar());
  if (!alg) return Unauthenticated("token alg not supported");
  // RFC 7515 section 4.1.11: a recipient that does not understand a critical extension must
  // reject the token, and this implementation understands none.
  if (header.Find("crit") != nullptr) return Unauthenticated("token has critical extensions");
  std::string kid;
  if (const JsonValue* k = header.Find("kid"); k != nullptr) {
    if (!k->is_string()) return Unauthenticated("token kid is not a string");
    kid = k->scalar();
  }

  FOVEA_ASSIGN_OR_RETURN(JsonValue claims, ParseJwtPart(claims_part));
  std::optional<std::string> signature = Base64UrlDecode(signature_part);
  if (!signature || signature->empty()) return Unauthenticated("malformed token");

  DecodedJwt jwt{std::move(header),
                 std::move(claims),
                 *alg,
                 std::move(kid),
                 std::string(compact.substr(0, dot2)),
                 std::move(*signature)};
  return jwt;
}

Status VerifyJwtSignature(const DecodedJwt& jwt, const JwsKey& key) {
  if (key.alg() != jwt.alg) return Unauthenticated("token alg does not match key");
  if (key.pkey() == nullptr) return Unauthenticated("invalid token signature");
  std::string der;
  std::string_view signature = jwt.signature;
  if (!IsRsa(jwt.alg)) {
    // Exactly R||S at the curve's size: DER, truncated or padded forms are refused.
    std::optional<std::string> converted = RawEcdsaToDer(jwt.signature, EcFieldBytes(jwt.alg));
    if (!converted) return Unauthenticated("invalid token signature");
    der = std::move(*converted);
    signature = der;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return Fail(StatusCode::kInternal, "signature check failed");
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, Digest(jwt.alg), nullptr, key.pkey()) != 1) {
    return Fail(StatusCode::kInternal, "signature check failed");
  }
  // 1 means valid; 0 a bad signature; negative an error. Only 1 passes.
  const int rc = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char*>(jwt.signing_input.data()), jwt.signing_input.size());
  if (rc != 1) return Unauthenticated("invalid token signature");
  return Status::Ok();
}

Result<std::string> SignJwt(const JwsKey& key, const JsonValue& claims) {
  if (!key.has_private()) return Invalid("signing needs a private key");
  if (!claims.is_object()) return Invalid("JWT claims must be a JSON object");
  JsonValue header = JsonValue::Object();
  header.Set("alg", JsonValue::String(std::string(JwsAlgorithmName(key.alg()))));
  header.Set("typ", JsonValue::String("JWT"));
  if (!key.kid().empty()) header.Set("kid", JsonValue::String(key.kid()));
  std::string token =
      Base64UrlEncode(common::ToJson(header)) + "." + Base64UrlEncode(common::ToJson(claims));

  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  const auto* tbs = reinterpret_cast<const unsigned char*>(token.data());
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, Digest(key.alg()), nullptr, key.pkey()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, tbs, token.size()) != 1) {
    return Fail(StatusCode::kInternal, "signing failed");
  }
  std::string signature(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len, tbs,
                     token.size()) != 1) {
    return Fail(StatusCode::kInternal, "signing failed");
  }
  signature.resize(len);
  if (!IsRsa(key.alg())) {
    std::optional<std::string> raw = DerEcdsaToRaw(signature, EcFieldBytes(key.alg()));
    if (!raw) return Fail(StatusCode::kInternal, "signing failed");
    signature = std::move(*raw);
  }
  token += '.';
  token += Base64UrlEncode(signature);
  return token;
}

}  // namespace fhir::auth
