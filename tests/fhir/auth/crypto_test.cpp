// fhir/auth/crypto: base64url, secrets, scrypt password hashes, and JWS/JWK/JWT on OpenSSL.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/json.h"
#include "fhir/auth/crypto/jose.h"
#include "fhir/auth/crypto/key_encryption.h"
#include "fhir/auth/crypto/secrets.h"

namespace {

namespace bdata = boost::unit_test::data;
using common::JsonValue;
using common::StatusCode;
using fhir::auth::Base64UrlDecode;
using fhir::auth::Base64UrlEncode;
using fhir::auth::DecodedJwt;
using fhir::auth::DecodeJwt;
using fhir::auth::JwsAlgorithm;
using fhir::auth::JwsKey;
using fhir::auth::ScryptParams;

// 1 MiB scrypt: fast enough for many cases, still the real code path.
constexpr ScryptParams kCheapScrypt{10, 8, 1};

JsonValue Json(std::string_view text) {
  auto parsed = common::ParseJson(text);
  BOOST_REQUIRE_MESSAGE(parsed.has_value(), "test JSON does not parse");
  return std::move(parsed).value();
}

// A compact token from literal JSON parts and signature bytes (not signed).
std::string Token(std::string_view header, std::string_view claims,
                  std::string_view signature = "not-a-signature") {
  return Base64UrlEncode(header) + "." + Base64UrlEncode(claims) + "." +
         Base64UrlEncode(signature);
}

// Boost evaluates a *_MESSAGE argument even when the check passes, hence the explicit ifs.
DecodedJwt MustDecode(std::string_view token) {
  auto jwt = DecodeJwt(token);
  if (!jwt.has_value()) BOOST_FAIL("DecodeJwt failed: " << jwt.error().message());
  return std::move(jwt).value();
}

JwsKey MustKey(common::Result<JwsKey> key) {
  if (!key.has_value()) BOOST_FAIL("key construction failed: " << key.error().message());
  return std::move(key).value();
}

std::string MustSign(const JwsKey& key, const JsonValue& claims) {
  auto token = fhir::auth::SignJwt(key, claims);
  if (!token.has_value()) BOOST_FAIL("SignJwt failed: " << token.error().message());
  return std::move(token).value();
}

bool Verifies(std::string_view token, const JwsKey& key) {
  auto jwt = DecodeJwt(token);
  return jwt.has_value() && fhir::auth::VerifyJwtSignature(*jwt, key).ok();
}

// Keys are generated once per test run: RSA-3072 generation costs most of a second.
struct TestKeys {
  JwsKey rs256;
  JwsKey rs384;
  JwsKey es256;
  JwsKey es384;
};

const TestKeys& Keys() {
  static const TestKeys keys{
      MustKey(JwsKey::Generate(JwsAlgorithm::kRS256, "rs256-key")),
      MustKey(JwsKey::Generate(JwsAlgorithm::kRS384, "rs384-key")),
      MustKey(JwsKey::Generate(JwsAlgorithm::kES256, "es256-key")),
      MustKey(JwsKey::Generate(JwsAlgorithm::kES384, "es384-key")),
  };
  return keys;
}

std::vector<const JwsKey*> AllKeys() {
  const TestKeys& k = Keys();
  return {&k.rs256, &k.rs384, &k.es256, &k.es384};
}

JsonValue SampleClaims() {
  return Json(R"({"iss":"client-1","sub":"client-1","aud":"https://fovea.example/token",)"
              R"("exp":1700000300,"jti":"a1b2c3"})");
}

std::string SpkiPem(EVP_PKEY* pkey) {
  BIO* bio = BIO_new(BIO_s_mem());
  BOOST_REQUIRE(bio != nullptr);
  BOOST_REQUIRE(PEM_write_bio_PUBKEY(bio, pkey) == 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return pem;
}

// The modulus of a freshly generated 1024-bit RSA key, base64url: valid but too short.
std::string ShortRsaModulus() {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(1024));
  BOOST_REQUIRE(pkey != nullptr);
  BIGNUM* n = nullptr;
  BOOST_REQUIRE(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) == 1);
  std::string bytes(static_cast<std::size_t>(BN_num_bytes(n)), '\0');
  BN_bn2bin(n, reinterpret_cast<unsigned char*>(bytes.data()));
  BN_free(n);
  EVP_PKEY_free(pkey);
  return Base64UrlEncode(bytes);
}

// RFC 7515 Appendix A.2 (RS256) and A.3 (ES256): the JWS Compact Serializations and the
// public keys from the RFC text. The payload is {"iss":"joe",\r\n "exp":1300819380,\r\n
// "http://example.com/is_root":true}.
constexpr std::string_view kRfcPayload =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
constexpr std::string_view kRfcA2Header = "eyJhbGciOiJSUzI1NiJ9";  // {"alg":"RS256"}
constexpr std::string_view kRfcA2Signature =
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5"
    "jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb"
    "1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QO"
    "YEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
constexpr std::string_view kRfcA2N =
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4"
    "d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5re"
    "xMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxX"
    "FvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
constexpr std::string_view kRfcA3Header = "eyJhbGciOiJFUzI1NiJ9";  // {"alg":"ES256"}
constexpr std::string_view kRfcA3Signature =
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
constexpr std::string_view kRfcA3X = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
constexpr std::string_view kRfcA3Y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

std::string Join(std::string_view a, std::string_view b, std::string_view c) {
  return std::string(a) + "." + std::string(b) + "." + std::string(c);
}

std::string RfcA2Jwk(bool with_alg) {
  return std::string(R"({"kty":"RSA",)") + (with_alg ? R"("alg":"RS256",)" : "") + R"("n":")" +
         std::string(kRfcA2N) + R"(","e":"AQAB"})";
}

std::string RfcA3Jwk() {
  return R"({"kty":"EC","crv":"P-256","x":")" + std::string(kRfcA3X) + R"(","y":")" +
         std::string(kRfcA3Y) + R"("})";
}

std::string EcJwk(std::string_view extra, std::string_view crv = "P-256",
                  std::string_view x = kRfcA3X, std::string_view y = kRfcA3Y) {
  return R"({"kty":"EC","crv":")" + std::string(crv) + R"(","x":")" + std::string(x) +
         R"(","y":")" + std::string(y) + "\"" + std::string(extra) + "}";
}

std::string WithLastCharChanged(std::string_view s) {
  std::string out(s);
  out[out.size() - 2] = out[out.size() - 2] == 'A' ? 'B' : 'A';
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(Base64Url)

// RFC 4648 section 10 vectors, without padding.
const std::vector<std::string> kPlain = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
const std::vector<std::string> kEncoded = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE",
                                           "Zm9vYmFy"};

BOOST_DATA_TEST_CASE(EncodesRfc4648Vectors, bdata::make(kPlain) ^ bdata::make(kEncoded), plain,
                     encoded) {
  BOOST_TEST(Base64UrlEncode(plain) == encoded);
  const auto decoded = Base64UrlDecode(encoded);
  BOOST_REQUIRE(decoded.has_value());
  BOOST_TEST(*decoded == plain);
}

BOOST_AUTO_TEST_CASE(UsesUrlSafeAlphabet) {
  // Standard base64 of FB FF BF is "+/+/": the URL-safe alphabet swaps in '-' and '_'.
  BOOST_TEST(Base64UrlEncode("\xFB\xFF\xBF") == "-_-_");
  BOOST_TEST(Base64UrlEncode("\xFB\xFF") == "-_8");
  BOOST_TEST(Base64UrlDecode("-_-_").value() == "\xFB\xFF\xBF");
}

BOOST_AUTO_TEST_CASE(RoundTripsEveryLengthAndByte) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    const std::string encoded = Base64UrlEncode(bytes);
    BOOST_TEST(encoded.size() == (bytes.size() * 4 + 2) / 3);
    const auto decoded = Base64UrlDecode(encoded);
    BOOST_REQUIRE(decoded.has_value());
    BOOST_TEST(*decoded == bytes);
    bytes.push_back(static_cast<char>((i * 37 + 11) & 0xFF));
  }
}

// Padding, the standard alphabet, whitespace, impossible lengths, other characters, and
// non-zero unused trailing bits ("Zh" would otherwise be a second spelling of "f").
const std::vector<std::string> kRejected = {
    "Zg==", "Zm8=", "Zm9v=", "+/8", "Zm9v+g", "Zm9/", "Zm9v\n", " Zm9v", "Zm 9v", "Zm9v\t",
    "Z", "Zm9vY", "A", "Zh", "Zm9", "Zm9vYh", "Zm9v.", "Zm9v%3D", std::string("Zm\0v", 4),
    "\xC3\xA9\xC3\xA9"};

BOOST_DATA_TEST_CASE(RejectsNonCanonicalInput, bdata::make(kRejected), text) {
  BOOST_TEST(!Base64UrlDecode(text).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Secrets)

BOOST_AUTO_TEST_CASE(Sha256KnownAnswers) {
  // FIPS 180-2 "abc" and the empty string.
  BOOST_TEST(Base64UrlEncode(fhir::auth::Sha256("abc")) ==
             Base64UrlEncode(std::string("\xba\x78\x16\xbf\x8f\x01\xcf\xea\x41\x41\x40\xde\x5d"
                                         "\xae\x22\x23\xb0\x03\x61\xa3\x96\x17\x7a\x9c\xb4\x10"
                                         "\xff\x61\xf2\x00\x15\xad",
                                         32)));
  // RFC 7636 appendix B (PKCE S256): SHA-256 of the verifier, base64url.
  BOOST_TEST(Base64UrlEncode(fhir::auth::Sha256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")) ==
             "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  BOOST_TEST(fhir::auth::Sha256("").size() == 32u);
}

BOOST_AUTO_TEST_CASE(RandomTokensHaveTheRightSizeAndDiffer) {
  const std::string a = fhir::auth::RandomToken();
  const std::string b = fhir::auth::RandomToken();
  BOOST_TEST(a.size() == 43u);
  BOOST_TEST(Base64UrlDecode(a).value().size() == 32u);
  BOOST_TEST(a != b);
  BOOST_TEST(fhir::auth::RandomToken(16).size() == 22u);
}

BOOST_AUTO_TEST_CASE(ConstantTimeEqualsComparesContentAndLength) {
  using fhir::auth::ConstantTimeEquals;
  BOOST_TEST(ConstantTimeEquals("secret-token", "secret-token"));
  BOOST_TEST(!ConstantTimeEquals("secret-token", "secret-tokeN"));
  BOOST_TEST(!ConstantTimeEquals("secret-token", "secret-token2"));
  BOOST_TEST(!ConstantTimeEquals("", "x"));
  BOOST_TEST(ConstantTimeEquals("", ""));
  BOOST_TEST(!ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(PasswordHash)

BOOST_AUTO_TEST_CASE(VerifiesTheRightPasswordOnly) {
  const std::string hash = fhir::auth::HashPassword("correct horse", kCheapScrypt);
  BOOST_TEST(fhir::auth::VerifyPassword("correct horse", hash));
  BOOST_TEST(!fhir::auth::VerifyPassword("correct horsE", hash));
  BOOST_TEST(!fhir::auth::VerifyPassword("correct horse ", hash));
  BOOST_TEST(!fhir::auth::VerifyPassword("", hash));
}

BOOST_AUTO_TEST_CASE(EncodingCarriesParamsAndRandomSalt) {
  const std::string a = fhir::auth::HashPassword("pw", kCheapScrypt);
  const std::string b = fhir::auth::HashPassword("pw", kCheapScrypt);
  BOOST_TEST(a.rfind("$scrypt$ln=10,r=8,p=1$", 0) == 0u);
  BOOST_TEST(a != b);  // fresh salt each time
  // "$scrypt$ln=10,r=8,p=1$" + 22 salt chars + "$" + 43 hash chars.
  BOOST_TEST(a.size() == 22u + 22u + 1u + 43u);
  BOOST_TEST(fhir::auth::VerifyPassword("pw", a));
  BOOST_TEST(fhir::auth::VerifyPassword("pw", b));
}

BOOST_AUTO_TEST_CASE(DefaultParametersRoundTrip) {
  const std::string hash = fhir::auth::HashPassword("s3cret");
  BOOST_TEST(hash.rfind("$scrypt$ln=15,r=8,p=1$", 0) == 0u);
  BOOST_TEST(fhir::auth::VerifyPassword("s3cret", hash));
}

BOOST_AUTO_TEST_CASE(EmptyAndBinaryPasswords) {
  const std::string empty = fhir::auth::HashPassword("", kCheapScrypt);
  BOOST_TEST(fhir::auth::VerifyPassword("", empty));
  BOOST_TEST(!fhir::auth::VerifyPassword("x", empty));
  // Not asserted: "" and "\0" collide, as in every HMAC-based KDF (the HMAC key is zero-padded).
  const std::string binary = fhir::auth::HashPassword(std::string("a\0b", 3), kCheapScrypt);
  BOOST_TEST(fhir::auth::VerifyPassword(std::string("a\0b", 3), binary));
  BOOST_TEST(!fhir::auth::VerifyPassword("a", binary));
}

BOOST_AUTO_TEST_CASE(TamperedEncodingsFail) {
  const std::string hash = fhir::auth::HashPassword("pw", kCheapScrypt);
  BOOST_REQUIRE(fhir::auth::VerifyPassword("pw", hash));
  const std::size_t hash_at = hash.rfind('$') + 1;
  const std::size_t salt_at = hash.rfind('$', hash_at - 2) + 1;

  std::string flipped_hash = hash;
  flipped_hash[hash_at + 5] = flipped_hash[hash_at + 5] == 'A' ? 'B' : 'A';
  BOOST_TEST(!fhir::auth::VerifyPassword("pw", flipped_hash));

  std::string flipped_salt = hash;
  flipped_salt[salt_at + 3] = flipped_salt[salt_at + 3] == 'A' ? 'B' : 'A';
  BOOST_TEST(!fhir::auth::VerifyPassword("pw", flipped_salt));

  std::string other_cost = hash;
  other_cost.replace(other_cost.find("ln=10"), 5, "ln=11");
  BOOST_TEST(!fhir::auth::VerifyPassword("pw", other_cost));

  std::string other_r = hash;
  other_r.replace(other_r.find("r=8"), 3, "r=9");
  BOOST_TEST(!fhir::auth::VerifyPassword("pw", other_r));

  BOOST_TEST(!fhir::auth::VerifyPassword("pw", hash.substr(0, hash.size() - 1)));
  BOOST_TEST(!fhir::auth::VerifyPassword("pw", hash + "A"));
  BOOST_TEST(!fhir::auth::VerifyPassword("pw", hash + "$"));
}

const std::string kSalt = "AAAAAAAAAAAAAAAAAAAAAA";                        // 16 bytes
const std::string kHash = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";  // 32 bytes
const std::vector<std::string> kMalformed = {
    "",
    "$scrypt$",
    "scrypt$ln=10,r=8,p=1$" + kSalt + "$" + kHash,
    "$bcrypt$ln=10,r=8,p=1$" + kSalt + "$" + kHash,
    "$SCRYPT$ln=10,r=8,p=1$" + kSalt + "$" + kHash,
    "$scrypt$ln=10,r=8$" + kSalt + "$" + kHash,
    "$scrypt$r=8,ln=10,p=1$" + kSalt + "$" + kHash,
    "$scrypt$ln=10,r=8,p=1,x=2$" + kSalt + "$" + kHash,
    "$scrypt$ln=ten,r=8,p=1$" + kSalt + "$" + kHash,
    "$scrypt$ln=-1,r=8,p=1$" + kSalt + "$" + kHash,
    "$scrypt$ln=+9,r=8,p=1$" + kSalt + "$" + kHash,
    "$scrypt$ln=010,r=8,p=1$" + kSalt + "$" + kHash,
    "$scrypt$ln=,r=8,p=1$" + kSalt + "$" + kHash,
    "$scrypt$ln=10, r=8,p=1$" + kSalt + "$" + kHash,
    "$scrypt$ln=10,r=8,p=1$" + kSalt,
    "$scrypt$ln=10,r=8,p=1$" + kSalt + "$",
    "$scrypt$ln=10,r=8,p=1$$" + kHash,
    "$scrypt$ln=10,r=8,p=1$" + kSalt + "==$" + kHash,
    "$scrypt$ln=10,r=8,p=1$" + kSalt + "$" + kHash + "=",
    "$scrypt$ln=10,r=8,p=1$" + kSalt + "$" + kHash.substr(0, 22),  // 16-byte hash
    "$scrypt$ln=10,r=8,p=1$AAAA$" + kHash,                          // 3-byte salt
    "$scrypt$ln=10,r=8,p=1$" + kSalt + "$" + kHash + "$" + kHash,
};

BOOST_DATA_TEST_CASE(MalformedEncodingsAreRejected, bdata::make(kMalformed), encoded) {
  BOOST_TEST(!fhir::auth::VerifyPassword("pw", encoded));
}

// Parameters an attacker who can edit a stored hash might use to exhaust memory or CPU.
const std::vector<std::string> kAbsurd = {
    "ln=21,r=8,p=1",  "ln=30,r=8,p=1",  "ln=63,r=8,p=1", "ln=99,r=1,p=1",
    "ln=99999999999,r=8,p=1", "ln=19,r=8,p=1",  // 512 MiB
    "ln=20,r=16,p=1",                             // 2 GiB
    "ln=10,r=17,p=1", "ln=10,r=8,p=5",  "ln=10,r=8,p=99", "ln=0,r=8,p=1",
    "ln=10,r=0,p=1",  "ln=10,r=8,p=0",
};

BOOST_DATA_TEST_CASE(AbsurdParametersAreRejectedQuickly, bdata::make(kAbsurd), params) {
  const auto start = std::chrono::steady_clock::now();
  BOOST_TEST(!fhir::auth::VerifyPassword("pw", "$scrypt$" + params + "$" + kSalt + "$" + kHash));
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  BOOST_TEST(elapsed.count() < 50);
}

BOOST_AUTO_TEST_CASE(HashPasswordRefusesParametersVerifyWouldReject) {
  BOOST_CHECK_THROW(fhir::auth::HashPassword("pw", ScryptParams{21, 8, 1}), std::invalid_argument);
  BOOST_CHECK_THROW(fhir::auth::HashPassword("pw", ScryptParams{10, 8, 0}), std::invalid_argument);
  BOOST_CHECK_THROW(fhir::auth::HashPassword("pw", ScryptParams{19, 8, 1}), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(JwsAlgorithmNames)

BOOST_AUTO_TEST_CASE(NamesRoundTrip) {
  for (JwsAlgorithm alg : {JwsAlgorithm::kRS256, JwsAlgorithm::kRS384, JwsAlgorithm::kES256,
                           JwsAlgorithm::kES384}) {
    const auto parsed = fhir::auth::ParseJwsAlgorithm(fhir::auth::JwsAlgorithmName(alg));
    BOOST_REQUIRE(parsed.has_value());
    BOOST_TEST((*parsed == alg));
  }
  BOOST_TEST(fhir::auth::JwsAlgorithmName(JwsAlgorithm::kRS384) == "RS384");
}

const std::vector<std::string> kUnsupportedAlgs = {
    "none", "None", "NONE", "none ", " RS256", "RS256 ", "rs256", "HS256", "HS384", "HS512",
    "RS512", "ES512", "PS256", "EdDSA", "", std::string("RS256\0", 6)};

BOOST_DATA_TEST_CASE(RejectsEverythingElse, bdata::make(kUnsupportedAlgs), name) {
  BOOST_TEST(!fhir::auth::ParseJwsAlgorithm(name).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(JwtSignAndVerify)

BOOST_AUTO_TEST_CASE(RoundTripsForAllFourAlgorithms) {
  const JsonValue claims = SampleClaims();
  for (const JwsKey* key : AllKeys()) {
    BOOST_TEST_CONTEXT("alg " << fhir::auth::JwsAlgorithmName(key->alg())) {
      BOOST_TEST(key->has_private());
      const std::string token = MustSign(*key, claims);
      const DecodedJwt jwt = MustDecode(token);
      BOOST_TEST((jwt.alg == key->alg()));
      BOOST_TEST(jwt.kid == key->kid());
      BOOST_TEST(jwt.header.Find("typ")->scalar() == "JWT");
      BOOST_TEST(jwt.header.Find("alg")->scalar() == fhir::auth::JwsAlgorithmName(key->alg()));
      BOOST_TEST(common::JsonEquals(jwt.claims, claims));
      BOOST_TEST(jwt.signing_input == token.substr(0, token.rfind('.')));
      const std::size_t expected_size = key->alg() == JwsAlgorithm::kES256   ? 64u
                                        : key->alg() == JwsAlgorithm::kES384 ? 96u
                                                                             : 384u;
      BOOST_TEST(jwt.signature.size() == expected_size);
      const common::Status status = fhir::auth::VerifyJwtSignature(jwt, *key);
      BOOST_TEST(status.ok(), status.message());
    }
  }
}

BOOST_AUTO_TEST_CASE(TamperedPayloadFails) {
  for (const JwsKey* key : AllKeys()) {
    const std::string token = MustSign(*key, SampleClaims());
    const std::size_t dot1 = token.find('.');
    const std::size_t dot2 = token.rfind('.');
    const std::string forged_claims =
        Base64UrlEncode(R"({"iss":"client-1","sub":"admin","exp":1700000300})");
    const std::string forged =
        token.substr(0, dot1 + 1) + forged_claims + token.substr(dot2);
    const DecodedJwt jwt = MustDecode(forged);
    const common::Status status = fhir::auth::VerifyJwtSignature(jwt, *key);
    BOOST_TEST(!status.ok());
    BOOST_TEST((status.code() == StatusCode::kUnauthenticated));
  }
}

BOOST_AUTO_TEST_CASE(TamperedSignatureFails) {
  for (const JwsKey* key : AllKeys()) {
    DecodedJwt jwt = MustDecode(MustSign(*key, SampleClaims()));
    BOOST_REQUIRE(fhir::auth::VerifyJwtSignature(jwt, *key).ok());
    jwt.signature[jwt.signature.size() / 2] ^= 0x01;
    BOOST_TEST(!fhir::auth::VerifyJwtSignature(jwt, *key).ok());
  }
}

BOOST_AUTO_TEST_CASE(EcdsaSignaturesOfTheWrongLengthAreRejected) {
  for (const JwsKey* key : {&Keys().es256, &Keys().es384}) {
    const DecodedJwt good = MustDecode(MustSign(*key, SampleClaims()));
    BOOST_REQUIRE(fhir::auth::VerifyJwtSignature(good, *key).ok());
    DecodedJwt longer = good;
    longer.signature.push_back('\0');
    BOOST_TEST(!fhir::auth::VerifyJwtSignature(longer, *key).ok());
    DecodedJwt left_padded = good;
    left_padded.signature.insert(0, 1, '\0');
    BOOST_TEST(!fhir::auth::VerifyJwtSignature(left_padded, *key).ok());
    DecodedJwt shorter = good;
    shorter.signature.pop_back();
    BOOST_TEST(!fhir::auth::VerifyJwtSignature(shorter, *key).ok());
    DecodedJwt all_zero = good;
    all_zero.signature.assign(good.signature.size(), '\0');
    BOOST_TEST(!fhir::auth::VerifyJwtSignature(all_zero, *key).ok());
  }
}

BOOST_AUTO_TEST_CASE(KeyTypeConfusionFails) {
  const TestKeys& k = Keys();
  const DecodedJwt rs = MustDecode(MustSign(k.rs256, SampleClaims()));
  const DecodedJwt es256 = MustDecode(MustSign(k.es256, SampleClaims()));
  const DecodedJwt es384 = MustDecode(MustSign(k.es384, SampleClaims()));
  BOOST_TEST(!fhir::auth::VerifyJwtSignature(rs, k.es256).ok());
  BOOST_TEST(!fhir::auth::VerifyJwtSignature(rs, k.rs384).ok());
  BOOST_TEST(!fhir::auth::VerifyJwtSignature(es256, k.es384).ok());
  BOOST_TEST(!fhir::auth::VerifyJwtSignature(es256, k.rs256).ok());
  BOOST_TEST(!fhir::auth::VerifyJwtSignature(es384, k.es256).ok());

  // The same RSA material bound to RS384 must not accept an RS256 token.
  const JwsKey same_material_rs384 =
      MustKey(JwsKey::FromPem(k.rs256.PrivateKeyPem(), JwsAlgorithm::kRS384, "rs256-key"));
  const common::Status status = fhir::auth::VerifyJwtSignature(rs, same_material_rs384);
  BOOST_TEST((status.code() == StatusCode::kUnauthenticated));

  // Rewriting the header's alg breaks the signature over the signing input.
  DecodedJwt relabelled = MustDecode(
      Base64UrlEncode(R"({"alg":"ES384","typ":"JWT","kid":"es256-key"})") +
      es256.signing_input.substr(es256.signing_input.find('.')) + "." +
      Base64UrlEncode(std::string(96, '\x01')));
  BOOST_TEST(!fhir::auth::VerifyJwtSignature(relabelled, k.es384).ok());
}

BOOST_AUTO_TEST_CASE(SigningNeedsAPrivateKeyAndObjectClaims) {
  const JwsKey public_only = MustKey(JwsKey::FromJwk(Keys().es256.PublicJwk()));
  BOOST_TEST(!public_only.has_private());
  BOOST_TEST(!fhir::auth::SignJwt(public_only, SampleClaims()).has_value());
  BOOST_TEST(!fhir::auth::SignJwt(Keys().es256, Json("[1,2]")).has_value());
  BOOST_TEST(!fhir::auth::SignJwt(Keys().es256, JsonValue::String("x")).has_value());
}

BOOST_AUTO_TEST_CASE(HeaderOmitsEmptyKid) {
  const JwsKey no_kid = MustKey(JwsKey::Generate(JwsAlgorithm::kES256, ""));
  const DecodedJwt jwt = MustDecode(MustSign(no_kid, SampleClaims()));
  BOOST_TEST(jwt.header.Find("kid") == nullptr);
  BOOST_TEST(jwt.kid.empty());
  BOOST_TEST(fhir::auth::VerifyJwtSignature(jwt, no_kid).ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(JwtDecode)

const std::vector<std::string> kBadHeaders = {
    R"({"alg":"none"})",          R"({"alg":"None"})",
    R"({"alg":"NONE"})",          R"({"alg":"none "})",
    R"({"alg":"HS256"})",         R"({"alg":"HS256","typ":"JWT"})",
    R"({"alg":"rs256"})",         R"({"alg":"PS256"})",
    R"({"typ":"JWT"})",           R"({"alg":null})",
    R"({"alg":256})",             R"({"alg":["RS256"]})",
    R"({"alg":"RS256","crit":["exp"]})", R"({"alg":"ES256","crit":[]})",
    R"({"alg":"RS256","kid":7})", R"({"alg":"RS256","alg":"none"})",
    R"(["RS256"])",               R"("RS256")",
    R"({"alg":"RS256")",          "",
    R"({"alg":"RS256"} x)",
};

BOOST_DATA_TEST_CASE(RejectsBadHeaders, bdata::make(kBadHeaders), header) {
  const auto jwt = DecodeJwt(Token(header, R"({"sub":"a"})"));
  BOOST_REQUIRE(!jwt.has_value());
  BOOST_TEST((jwt.error().code() == StatusCode::kUnauthenticated));
  BOOST_TEST(!jwt.error().message().empty());
}

BOOST_AUTO_TEST_CASE(RejectsUnsignedNoneTokens) {
  // The classic alg=none forgery has an empty signature part.
  const std::string none = Base64UrlEncode(R"({"alg":"none"})") + "." +
                           Base64UrlEncode(R"({"sub":"admin"})") + ".";
  BOOST_TEST(!DecodeJwt(none).has_value());
  const std::string hs256 = Token(R"({"alg":"HS256","typ":"JWT"})", R"({"sub":"admin"})",
                                  std::string(32, '\x5a'));
  BOOST_TEST(!DecodeJwt(hs256).has_value());
}

std::string Deep(int depth) {
  return R"({"sub":)" + std::string(depth, '[') + "1" + std::string(depth, ']') + "}";
}

const std::vector<std::string> kBadClaims = {
    R"([1])", R"("claims")", R"(42)", R"({"a":1)", R"({"a":1,"a":2})", "", Deep(40),
    std::string("{\"a\":\"\xff\"}")};

BOOST_DATA_TEST_CASE(RejectsBadClaims, bdata::make(kBadClaims), claims) {
  const auto jwt = DecodeJwt(Token(R"({"alg":"RS256"})", claims));
  BOOST_REQUIRE(!jwt.has_value());
  BOOST_TEST((jwt.error().code() == StatusCode::kUnauthenticated));
}

BOOST_AUTO_TEST_CASE(AcceptsModeratelyNestedClaims) {
  BOOST_TEST(DecodeJwt(Token(R"({"alg":"RS256"})", Deep(10))).has_value());
}

const std::string kH = Base64UrlEncode(R"({"alg":"ES256"})");
const std::string kC = Base64UrlEncode(R"({"sub":"a"})");
const std::vector<std::string> kBadShapes = {
    "",
    ".",
    "..",
    kH,
    kH + "." + kC,
    kH + "." + kC + ".",
    "." + kC + ".c2ln",
    kH + "..c2ln",
    kH + "." + kC + ".c2ln.c2ln",
    kH + "." + kC + ".c2ln.",
    kH + "=." + kC + ".c2ln",
    kH + "." + kC + ".c2ln=",
    kH + "." + kC + ".c2l+",
    kH + "." + kC + ".c2l/",
    kH + " ." + kC + ".c2ln",
    kH + "." + kC + ". c2ln",
    kH + "." + kC + ".c2ln\n",
    kH + "." + kC + ".c",
    "Bearer " + kH + "." + kC + ".c2ln",
};

BOOST_DATA_TEST_CASE(RejectsMalformedCompactForms, bdata::make(kBadShapes), token) {
  const auto jwt = DecodeJwt(token);
  BOOST_REQUIRE(!jwt.has_value());
  BOOST_TEST((jwt.error().code() == StatusCode::kUnauthenticated));
}

BOOST_AUTO_TEST_CASE(EnforcesMaxBytes) {
  const std::string token = Token(R"({"alg":"ES256","kid":"k1"})", R"({"sub":"a"})");
  BOOST_TEST(DecodeJwt(token, token.size()).has_value());
  BOOST_TEST(!DecodeJwt(token, token.size() - 1).has_value());
  const std::string huge = Token(R"({"alg":"ES256"})", R"({"pad":")" + std::string(9000, 'x') +
                                                          R"("})");
  BOOST_TEST(!DecodeJwt(huge).has_value());  // default limit: 8192 bytes
}

BOOST_AUTO_TEST_CASE(ExposesHeaderClaimsKidAndSigningInput) {
  const std::string token = Token(R"({"alg":"RS384","kid":"key-7","typ":"JWT"})",
                                  R"({"iss":"c","aud":["x","y"]})", "\x01\x02\x03");
  const DecodedJwt jwt = MustDecode(token);
  BOOST_TEST((jwt.alg == JwsAlgorithm::kRS384));
  BOOST_TEST(jwt.kid == "key-7");
  BOOST_TEST(jwt.claims.Find("iss")->scalar() == "c");
  BOOST_TEST(jwt.claims.Find("aud")->items().size() == 2u);
  BOOST_TEST(jwt.signing_input == token.substr(0, token.rfind('.')));
  BOOST_TEST(jwt.signature == "\x01\x02\x03");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(JwkImport)

BOOST_AUTO_TEST_CASE(GeneratedKeysRoundTripThroughPublicJwk) {
  for (const JwsKey* key : AllKeys()) {
    BOOST_TEST_CONTEXT("alg " << fhir::auth::JwsAlgorithmName(key->alg())) {
      const JsonValue jwk = key->PublicJwk();
      BOOST_TEST(jwk.Find("d") == nullptr);
      BOOST_TEST(jwk.Find("use")->scalar() == "sig");
      BOOST_TEST(jwk.Find("kid")->scalar() == key->kid());
      // Re-parse from text, as a relying party would.
      const JwsKey imported = MustKey(JwsKey::FromJwk(Json(common::ToJson(jwk))));
      BOOST_TEST((imported.alg() == key->alg()));
      BOOST_TEST(imported.kid() == key->kid());
      BOOST_TEST(!imported.has_private());
      BOOST_TEST(imported.PrivateKeyPem().empty());
      BOOST_TEST(common::JsonEquals(imported.PublicJwk(), jwk));
      BOOST_TEST(Verifies(MustSign(*key, SampleClaims()), imported));
    }
  }
  const JsonValue ec = Keys().es384.PublicJwk();
  BOOST_TEST(ec.Find("crv")->scalar() == "P-384");
  BOOST_TEST(Base64UrlDecode(ec.Find("x")->scalar()).value().size() == 48u);
  const JsonValue rsa = Keys().rs256.PublicJwk();
  BOOST_TEST(rsa.Find("e")->scalar() == "AQAB");
  BOOST_TEST(Base64UrlDecode(rsa.Find("n")->scalar()).value().size() == 384u);
}

BOOST_AUTO_TEST_CASE(AlgDefaultsWhenTheJwkHasNone) {
  JsonValue rsa = Keys().rs256.PublicJwk();
  std::erase_if(rsa.members(), [](const JsonValue::Member& m) { return m.first == "alg"; });
  BOOST_REQUIRE(rsa.Find("alg") == nullptr);
  BOOST_TEST((MustKey(JwsKey::FromJwk(rsa)).alg() == JwsAlgorithm::kRS384));
  const JwsKey ec = MustKey(JwsKey::FromJwk(Json(RfcA3Jwk())));
  BOOST_TEST((ec.alg() == JwsAlgorithm::kES256));
  BOOST_TEST(ec.kid().empty());
}

BOOST_AUTO_TEST_CASE(Rfc7515AppendixA3Es256Verifies) {
  const JwsKey key = MustKey(JwsKey::FromJwk(Json(RfcA3Jwk())));
  const std::string token = Join(kRfcA3Header, kRfcPayload, kRfcA3Signature);
  const DecodedJwt jwt = MustDecode(token);
  BOOST_TEST((jwt.alg == JwsAlgorithm::kES256));
  BOOST_TEST(jwt.claims.Find("iss")->scalar() == "joe");
  BOOST_TEST(jwt.claims.Find("exp")->scalar() == "1300819380");
  const common::Status status = fhir::auth::VerifyJwtSignature(jwt, key);
  BOOST_TEST(status.ok(), status.message());

  std::string tampered_sig(kRfcA3Signature);
  tampered_sig.back() = 'A';  // Q -> A: changes the last byte of S
  BOOST_TEST(!Verifies(Join(kRfcA3Header, kRfcPayload, tampered_sig), key));
  BOOST_TEST(!Verifies(Join(kRfcA3Header, Base64UrlEncode(R"({"iss":"joe"})"), kRfcA3Signature),
                       key));
}

BOOST_AUTO_TEST_CASE(Rfc7515AppendixA2Rs256Verifies) {
  const JwsKey key = MustKey(JwsKey::FromJwk(Json(RfcA2Jwk(/*with_alg=*/true))));
  BOOST_TEST((key.alg() == JwsAlgorithm::kRS256));
  const std::string token = Join(kRfcA2Header, kRfcPayload, kRfcA2Signature);
  const DecodedJwt jwt = MustDecode(token);
  const common::Status status = fhir::auth::VerifyJwtSignature(jwt, key);
  BOOST_TEST(status.ok(), status.message());

  std::string tampered(kRfcA2Signature);
  tampered[10] = tampered[10] == 'A' ? 'B' : 'A';
  BOOST_TEST(!Verifies(Join(kRfcA2Header, kRfcPayload, tampered), key));
  // Without "alg" an RSA JWK means RS384, so the RS256 token no longer matches it.
  const JwsKey rs384 = MustKey(JwsKey::FromJwk(Json(RfcA2Jwk(/*with_alg=*/false))));
  BOOST_TEST(!Verifies(token, rs384));
}

BOOST_AUTO_TEST_CASE(PrivateMembersAreIgnored) {
  // The RFC 7515 A.3 JWK with its private "d": imported as a public-only key.
  const JwsKey key = MustKey(JwsKey::FromJwk(
      Json(EcJwk(R"(,"d":"jpsQnnGQmL-YBIffH1136cLMRvj9M2OkxC6BTpfD0VY")"))));
  BOOST_TEST(!key.has_private());
  BOOST_TEST(!fhir::auth::SignJwt(key, SampleClaims()).has_value());
}

const std::vector<std::string> kBadJwks = {
    R"([])",
    R"("RSA")",
    R"({"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"})",
    R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})",
    R"({"kty":"rsa","n":"AQAB","e":"AQAB"})",
    R"({"n":"AQAB","e":"AQAB"})",
    EcJwk(R"(,"use":"enc")"),
    EcJwk(R"(,"use":7)"),
    EcJwk(R"(,"alg":"ES384")"),
    EcJwk(R"(,"alg":"RS256")"),
    EcJwk(R"(,"alg":"none")"),
    EcJwk(R"(,"alg":"HS256")"),
    EcJwk(R"(,"kid":5)"),
    EcJwk("", "P-521"),
    EcJwk("", "secp256k1"),
    EcJwk("", "P-384"),                                   // 32-byte coordinates
    EcJwk("", "P-256", std::string(kRfcA3X) + "AA"),      // too long
    EcJwk("", "P-256", kRfcA3X.substr(0, 42)),            // too short
    EcJwk("", "P-256", kRfcA3X, WithLastCharChanged(kRfcA3Y)),  // not on the curve
    EcJwk("", "P-256", std::string(kRfcA3X) + "="),
    R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"})",
    R"({"kty":"RSA","e":"AQAB"})",
    R"({"kty":"RSA","n":")" + std::string(kRfcA2N) + R"("})",
    R"({"kty":"RSA","n":")" + std::string(kRfcA2N) + R"(","e":65537})",
    R"({"kty":"RSA","n":")" + std::string(kRfcA2N) + R"(","e":"AQAB","alg":"ES256"})",
    R"({"kty":"RSA","n":")" + std::string(kRfcA2N) + R"(","e":"AQAB","alg":"RS512"})",
    R"({"kty":"RSA","n":")" + std::string(kRfcA2N) + R"(","e":"AQAB","use":"enc"})",
    R"({"kty":"RSA","n":")" + std::string(kRfcA2N) + R"(","e":"AQ+B"})",
    R"({"kty":"RSA","n":")" + std::string(kRfcA2N) + R"(","e":""})",
    R"({"kty":"RSA","n":")" + std::string(kRfcA2N) + R"(","e":"Aw"})",  // e = 3
    R"({"kty":"RSA","n":")" + std::string(kRfcA2N) + R"(","e":"AQAA"})",  // even e
    R"({"kty":"RSA","n":")" + std::string(kRfcA2N).substr(0, 340) + R"(","e":"AQAB"})",
    R"({"kty":"RSA","n":")" + std::string(kRfcA2N) + std::string(kRfcA2N) + std::string(kRfcA2N) +
        std::string(kRfcA2N) + std::string(kRfcA2N) + R"(","e":"AQAB"})",  // 10240 bits
};

BOOST_DATA_TEST_CASE(RejectsUnusableJwks, bdata::make(kBadJwks), text) {
  const auto key = JwsKey::FromJwk(Json(text));
  BOOST_REQUIRE(!key.has_value());
  BOOST_TEST((key.error().code() == StatusCode::kInvalid));
  BOOST_TEST(key.error().message().size() < 80u);
}

BOOST_AUTO_TEST_CASE(RejectsShortRsaKeys) {
  const std::string jwk = R"({"kty":"RSA","alg":"RS256","n":")" + ShortRsaModulus() +
                          R"(","e":"AQAB"})";
  const auto key = JwsKey::FromJwk(Json(jwk));
  BOOST_REQUIRE(!key.has_value());
  BOOST_TEST(key.error().message().find("2048") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Jwks)

BOOST_AUTO_TEST_CASE(ParseSkipsUnsupportedKeys) {
  const std::string doc = R"({"keys":[)" + common::ToJson(Keys().rs256.PublicJwk()) +
                          R"(,{"kty":"oct","k":"c2VjcmV0","alg":"HS256"},)" +
                          EcJwk(R"(,"use":"enc","kid":"enc-key")") + "," +
                          EcJwk(R"(,"kid":"p521")", "P-521") + "," +
                          R"({"kty":"RSA","alg":"RS512","n":")" + std::string(kRfcA2N) +
                          R"(","e":"AQAB"},)" +
                          R"({"kty":"RSA","alg":"RS256","n":")" + ShortRsaModulus() +
                          R"(","e":"AQAB"},)" + R"(7,"x",null,)" +
                          common::ToJson(Keys().es384.PublicJwk()) + "]}";
  const auto keys = fhir::auth::ParseJwks(Json(doc));
  BOOST_REQUIRE(keys.has_value());
  BOOST_REQUIRE(keys->size() == 2u);
  BOOST_TEST((*keys)[0].kid() == "rs256-key");
  BOOST_TEST(((*keys)[0].alg() == JwsAlgorithm::kRS256));
  BOOST_TEST((*keys)[1].kid() == "es384-key");
  BOOST_TEST(Verifies(MustSign(Keys().es384, SampleClaims()), (*keys)[1]));
}

BOOST_AUTO_TEST_CASE(EmptyKeySetIsValid) {
  const auto keys = fhir::auth::ParseJwks(Json(R"({"keys":[]})"));
  BOOST_REQUIRE(keys.has_value());
  BOOST_TEST(keys->empty());
}

const std::vector<std::string> kBadShapes = {R"([])", R"({})", R"({"keys":{}})",
                                             R"({"keys":"x"})", R"({"keys":null})", R"("keys")"};

BOOST_DATA_TEST_CASE(RejectsBadDocumentShapes, bdata::make(kBadShapes), text) {
  const auto keys = fhir::auth::ParseJwks(Json(text));
  BOOST_REQUIRE(!keys.has_value());
  BOOST_TEST((keys.error().code() == StatusCode::kInvalid));
}

BOOST_AUTO_TEST_CASE(JwksJsonRoundTrips) {
  const std::vector<JwsKey> keys = {Keys().rs384, Keys().es256};
  const std::string json = fhir::auth::JwksJson(keys);
  BOOST_TEST(json.find("\"d\"") == std::string::npos);
  BOOST_TEST(json.find("PRIVATE") == std::string::npos);
  const auto parsed = fhir::auth::ParseJwks(Json(json));
  BOOST_REQUIRE(parsed.has_value());
  BOOST_REQUIRE(parsed->size() == 2u);
  BOOST_TEST((*parsed)[0].kid() == "rs384-key");
  BOOST_TEST(((*parsed)[0].alg() == JwsAlgorithm::kRS384));
  BOOST_TEST(Verifies(MustSign(Keys().rs384, SampleClaims()), (*parsed)[0]));
  BOOST_TEST(Verifies(MustSign(Keys().es256, SampleClaims()), (*parsed)[1]));
  BOOST_TEST(fhir::auth::JwksJson({}) == R"({"keys":[]})");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(JwsKeyPem)

BOOST_AUTO_TEST_CASE(PrivateKeyPemRoundTrips) {
  for (const JwsKey* key : AllKeys()) {
    BOOST_TEST_CONTEXT("alg " << fhir::auth::JwsAlgorithmName(key->alg())) {
      const std::string pem = key->PrivateKeyPem();
      BOOST_TEST(pem.rfind("-----BEGIN PRIVATE KEY-----", 0) == 0u);
      const JwsKey reloaded = MustKey(JwsKey::FromPem(pem, key->alg(), "reloaded"));
      BOOST_TEST(reloaded.has_private());
      BOOST_TEST(reloaded.kid() == "reloaded");
      const JwsKey same_kid = MustKey(JwsKey::FromPem(pem, key->alg(), key->kid()));
      BOOST_TEST(common::JsonEquals(same_kid.PublicJwk(), key->PublicJwk()));
      // Signed by the reloaded key and verified by the original, and the other way round.
      BOOST_TEST(Verifies(MustSign(reloaded, SampleClaims()), *key));
      BOOST_TEST(Verifies(MustSign(*key, SampleClaims()), reloaded));
    }
  }
}

BOOST_AUTO_TEST_CASE(PublicKeyPemImports) {
  const std::string pem = SpkiPem(Keys().es384.pkey());
  BOOST_TEST(pem.rfind("-----BEGIN PUBLIC KEY-----", 0) == 0u);
  const JwsKey key = MustKey(JwsKey::FromPem(pem, JwsAlgorithm::kES384, "es384-key"));
  BOOST_TEST(!key.has_private());
  BOOST_TEST(key.PrivateKeyPem().empty());
  BOOST_TEST(Verifies(MustSign(Keys().es384, SampleClaims()), key));
  BOOST_TEST(common::JsonEquals(key.PublicJwk(), Keys().es384.PublicJwk()));
}

BOOST_AUTO_TEST_CASE(FromPemRejectsMismatchedAlgAndGarbage) {
  const std::string ec256 = Keys().es256.PrivateKeyPem();
  const std::string rsa = Keys().rs256.PrivateKeyPem();
  BOOST_TEST(!JwsKey::FromPem(ec256, JwsAlgorithm::kRS256, "k").has_value());
  BOOST_TEST(!JwsKey::FromPem(ec256, JwsAlgorithm::kES384, "k").has_value());
  BOOST_TEST(!JwsKey::FromPem(rsa, JwsAlgorithm::kES256, "k").has_value());
  BOOST_TEST(!JwsKey::FromPem(SpkiPem(Keys().es256.pkey()), JwsAlgorithm::kES384, "k")
                  .has_value());
  BOOST_TEST(!JwsKey::FromPem("", JwsAlgorithm::kES256, "k").has_value());
  BOOST_TEST(!JwsKey::FromPem("not a key", JwsAlgorithm::kES256, "k").has_value());
  std::string truncated = ec256.substr(0, ec256.size() / 2);
  BOOST_TEST(!JwsKey::FromPem(truncated, JwsAlgorithm::kES256, "k").has_value());
  const auto error = JwsKey::FromPem(ec256, JwsAlgorithm::kRS256, "k");
  BOOST_TEST(error.error().message().find("PRIVATE") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

using fhir::auth::KeyEncryptionKey;

BOOST_AUTO_TEST_SUITE(KeyEncryption)

BOOST_AUTO_TEST_CASE(SealedValuesOpenOnlyUnderTheirKeyAndContext) {
  KeyEncryptionKey kek = KeyEncryptionKey::Generate();
  const std::string secret = "-----BEGIN PRIVATE KEY-----\nMII...\n-----END PRIVATE KEY-----\n";
  std::string sealed = kek.Seal(secret, "kid-1");
  BOOST_TEST(KeyEncryptionKey::IsSealed(sealed));
  BOOST_TEST(!KeyEncryptionKey::IsSealed(secret));
  BOOST_TEST(sealed.find("PRIVATE") == std::string::npos);
  BOOST_TEST(sealed.find(kek.fingerprint()) != std::string::npos);
  BOOST_TEST(kek.Seal(secret, "kid-1") != sealed);  // a fresh nonce each time
  auto opened = kek.Open(sealed, "kid-1");
  BOOST_REQUIRE(opened.has_value());
  BOOST_TEST(*opened == secret);
  // Moved to another key's row: refused.
  BOOST_TEST(!kek.Open(sealed, "kid-2").has_value());
  // Any altered character: refused.
  for (std::size_t i = sealed.rfind(':') + 1; i < sealed.size(); i += 7) {
    std::string altered = sealed;
    altered[i] = altered[i] == 'A' ? 'B' : 'A';
    BOOST_TEST(!kek.Open(altered, "kid-1").has_value(), "altered at " << i);
  }
  // Another key-encryption key names both fingerprints.
  KeyEncryptionKey other = KeyEncryptionKey::Generate();
  auto wrong = other.Open(sealed, "kid-1");
  BOOST_REQUIRE(!wrong.has_value());
  BOOST_TEST(wrong.error().message().find(kek.fingerprint()) != std::string::npos);
  BOOST_TEST(wrong.error().message().find(other.fingerprint()) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(TheKeyRoundTripsAsTextAndRejectsAnythingElse) {
  KeyEncryptionKey kek = KeyEncryptionKey::Generate();
  auto again = KeyEncryptionKey::FromText("  " + kek.ToText() + "\n");
  BOOST_REQUIRE(again.has_value());
  BOOST_TEST(again->fingerprint() == kek.fingerprint());
  BOOST_TEST(*again->Open(kek.Seal("x", "c"), "c") == "x");
  // Standard base64 with padding (openssl rand -base64 32) is accepted too.
  auto standard = KeyEncryptionKey::FromText("q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=");
  BOOST_TEST(standard.has_value());
  BOOST_TEST(!KeyEncryptionKey::FromText("").has_value());
  BOOST_TEST(!KeyEncryptionKey::FromText("c2hvcnQ").has_value());  // too short
  BOOST_TEST(!KeyEncryptionKey::FromText("not base64 at all!").has_value());
  BOOST_TEST(!KeyEncryptionKey::FromFile("/nonexistent/kek").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
