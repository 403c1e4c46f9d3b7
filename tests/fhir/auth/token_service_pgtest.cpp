// fhir/auth TokenService on PostgreSQL: every grant, refusal, rotation and revocation path.

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/json.h"
#include "common/url.h"
#include "fhir/auth/crypto/jose.h"
#include "fhir/auth/crypto/secrets.h"
#include "fhir/auth/key_ring.h"
#include "fhir/auth/pg/pg_auth_store.h"
#include "fhir/auth/roles.h"
#include "fhir/auth/token_service.h"
#include "fhir/store/pg/connection_pool.h"
#include "tests/support/test_database.h"

namespace {

using common::JsonValue;
using fhir::auth::ClientRegistration;
using fhir::auth::Form;
using fhir::auth::JwsAlgorithm;
using fhir::auth::JwsKey;
using fhir::auth::Permission;
using fhir::auth::Reach;
using fhir::auth::SecurityEvent;

constexpr const char* kIssuer = "https://fovea.test:8443";
constexpr const char* kTokenUrl = "https://fovea.test:8443/auth/token";
constexpr const char* kRedirect = "https://console.unit7.test/callback";

common::TimePoint Now() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

JsonValue Body(const fhir::auth::OAuthReply& reply) {
  auto parsed = common::ParseJson(reply.body);
  BOOST_REQUIRE_MESSAGE(parsed.has_value(), reply.body);
  return std::move(parsed).value();
}

std::string Str(const JsonValue& v, const char* name) {
  const JsonValue* f = v.Find(name);
  return f != nullptr ? f->scalar() : "";
}

struct Fixture {
  test_support::TestDatabase db;
  fhir::store::pg::ConnectionPool pool{db.dsn(), 4};
  fhir::auth::pg::PgAuthStore store{pool};
  common::FakeClock clock{Now()};
  fhir::auth::KeyRing keys{store, clock};
  std::unique_ptr<fhir::auth::TokenService> tokens;
  std::vector<SecurityEvent> events;
  JwsKey ehr_key = JwsKey::Generate(JwsAlgorithm::kES384, "ehr-key-1").value();

  Fixture() {
    BOOST_REQUIRE(keys.Load().ok());
    fhir::auth::AuthSettings settings;
    settings.issuer = kIssuer;
    settings.max_failed_logins = 3;
    tokens = std::make_unique<fhir::auth::TokenService>(
        store, keys, fhir::auth::RoleCatalog::Default(), clock, settings);
    tokens->SetSecurityEventSink([this](const SecurityEvent& e) { events.push_back(e); });

    ClientRegistration ehr;
    ehr.client_id = "hospital-ehr";
    ehr.name = "Hospital EHR";
    ehr.kind = ClientRegistration::Kind::kBackend;
    ehr.jwks_json = fhir::auth::JwksJson({ehr_key});
    ehr.roles = {"ehr-system"};
    BOOST_REQUIRE(store.AddClient(ehr).ok());

    ClientRegistration console;
    console.client_id = "staff-console";
    console.name = "Staff console";
    console.kind = ClientRegistration::Kind::kPublic;
    console.redirect_uris = {kRedirect};
    console.first_party = true;
    BOOST_REQUIRE(store.AddClient(console).ok());

    fhir::auth::UserAccount doctor;
    doctor.username = "dr.okafor";
    doctor.password_hash = fhir::auth::HashPassword("correct horse", {10, 8, 1});
    doctor.fhir_user = "Practitioner/p1";
    doctor.roles = {"doctor"};
    BOOST_REQUIRE(store.AddUser(doctor).ok());
  }

  std::string Assertion(const JwsKey& key, std::string jti = "",
                        std::int64_t exp_offset = 120, std::string aud = kTokenUrl,
                        std::string iss = "hospital-ehr") {
    JsonValue claims = JsonValue::Object();
    claims.Set("iss", JsonValue::String(iss));
    claims.Set("sub", JsonValue::String(iss));
    claims.Set("aud", JsonValue::String(aud));
    std::int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(clock.Now().time_since_epoch()).count();
    claims.Set("exp", JsonValue::Number(std::to_string(now + exp_offset)));
    claims.Set("jti", JsonValue::String(jti.empty() ? fhir::auth::RandomToken(8) : jti));
    return fhir::auth::SignJwt(key, claims).value();
  }

  fhir::auth::OAuthReply ClientCredentials(const std::string& assertion,
                                           const std::string& scope = "system/*.rs") {
    return tokens->Token({{"grant_type", "client_credentials"},
                          {"client_assertion_type",
                           "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
                          {"client_assertion", assertion},
                          {"scope", scope}});
  }

  fhir::auth::OAuthReply Password(const std::string& password, const std::string& scope = "") {
    Form form = {{"grant_type", "password"}, {"client_id", "staff-console"},
                 {"username", "dr.okafor"},  {"password", password}};
    if (!scope.empty()) form.emplace_back("scope", scope);
    return tokens->Token(form);
  }
};

BOOST_FIXTURE_TEST_SUITE(ClientCredentialsGrant, Fixture)

BOOST_AUTO_TEST_CASE(IssuesASystemTokenForAValidAssertion) {
  auto reply = ClientCredentials(Assertion(ehr_key));
  BOOST_REQUIRE_MESSAGE(reply.status == 200, reply.body);
  JsonValue body = Body(reply);
  BOOST_TEST(Str(body, "token_type") == "Bearer");
  BOOST_TEST(Str(body, "scope") == "system/*.rs");
  BOOST_TEST(body.Find("refresh_token") == nullptr);
  auto principal = tokens->Authenticate(Str(body, "access_token"));
  BOOST_REQUIRE(principal.has_value());
  BOOST_TEST(principal->client_id == "hospital-ehr");
  BOOST_TEST((principal->kind == fhir::auth::Principal::Kind::kClient));
  BOOST_TEST((principal->ReachFor("Observation", Permission::kSearch) == Reach::kAll));
  BOOST_TEST((principal->ReachFor("Observation", Permission::kCreate) == Reach::kNone));
}

BOOST_AUTO_TEST_CASE(RefusesAReplayedAssertion) {
  std::string assertion = Assertion(ehr_key, "once-only");
  BOOST_TEST(ClientCredentials(assertion).status == 200);
  auto replay = ClientCredentials(assertion);
  BOOST_TEST(replay.status == 401);
  BOOST_TEST(Str(Body(replay), "error") == "invalid_client");
  BOOST_TEST(Str(Body(replay), "error_description").find("replay") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(RefusesAnAssertionSignedWithAnotherKey) {
  JwsKey stranger = JwsKey::Generate(JwsAlgorithm::kES384, "ehr-key-1").value();
  auto reply = ClientCredentials(Assertion(stranger));
  BOOST_TEST(reply.status == 401);
  BOOST_TEST(Str(Body(reply), "error") == "invalid_client");
}

BOOST_AUTO_TEST_CASE(RefusesExpiredAndLongLivedAssertions) {
  BOOST_TEST(ClientCredentials(Assertion(ehr_key, "", -600)).status == 401);
  BOOST_TEST(ClientCredentials(Assertion(ehr_key, "", 3600)).status == 401);
}

BOOST_AUTO_TEST_CASE(RefusesTheWrongAudienceAndUnknownClients) {
  BOOST_TEST(ClientCredentials(Assertion(ehr_key, "", 120, "https://elsewhere/token")).status ==
             401);
  BOOST_TEST(ClientCredentials(Assertion(ehr_key, "", 120, kTokenUrl, "nobody")).status == 401);
}

BOOST_AUTO_TEST_CASE(RefusesUnsignedAssertions) {
  // alg=none: header {"alg":"none"}, claims as a real client would send them.
  std::string header = fhir::auth::Base64UrlEncode(R"({"alg":"none","typ":"JWT"})");
  std::string signed_one = Assertion(ehr_key);
  std::string claims = signed_one.substr(signed_one.find('.') + 1);
  claims = claims.substr(0, claims.find('.'));
  auto reply = ClientCredentials(header + "." + claims + ".");
  BOOST_TEST(reply.status == 401);
}

BOOST_AUTO_TEST_CASE(GrantsOnlyScopesTheClientsRolesAllow) {
  auto reply = ClientCredentials(Assertion(ehr_key), "system/AuditEvent.rs");
  BOOST_TEST(reply.status == 400);
  BOOST_TEST(Str(Body(reply), "error") == "invalid_scope");
  auto mixed = ClientCredentials(Assertion(ehr_key), "system/Observation.cruds user/Patient.rs");
  BOOST_REQUIRE(mixed.status == 200);
  BOOST_TEST(Str(Body(mixed), "scope") == "system/Observation.cruds");
}

BOOST_AUTO_TEST_CASE(RefusesDuplicateParametersAndUnknownGrants) {
  auto dup = tokens->Token({{"grant_type", "client_credentials"}, {"scope", "a"}, {"scope", "b"}});
  BOOST_TEST(Str(Body(dup), "error") == "invalid_request");
  BOOST_TEST(Str(Body(tokens->Token({{"grant_type", "implicit"}})), "error") ==
             "unsupported_grant_type");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(StaffLogin, Fixture)

BOOST_AUTO_TEST_CASE(PasswordGrantGivesRoleScopesAndARefreshToken) {
  auto reply = Password("correct horse");
  BOOST_REQUIRE_MESSAGE(reply.status == 200, reply.body);
  JsonValue body = Body(reply);
  BOOST_TEST(!Str(body, "refresh_token").empty());
  auto p = tokens->Authenticate(Str(body, "access_token"));
  BOOST_REQUIRE(p.has_value());
  BOOST_TEST(p->fhir_user == "Practitioner/p1");
  BOOST_TEST(p->roles == std::vector<std::string>{"doctor"});
  BOOST_TEST((p->ReachFor("Condition", Permission::kCreate) == Reach::kAll));
  BOOST_TEST((p->ReachFor("AuditEvent", Permission::kRead) == Reach::kNone));
  BOOST_TEST((events.back().kind == SecurityEvent::Kind::kTokenIssued));
}

BOOST_AUTO_TEST_CASE(WrongPasswordsLockTheAccount) {
  for (int i = 0; i < 3; ++i) {
    auto reply = Password("wrong");
    BOOST_TEST(reply.status == 400);
    BOOST_TEST(Str(Body(reply), "error") == "invalid_grant");
  }
  // Locked now: even the right password fails, with the same message.
  auto locked = Password("correct horse");
  BOOST_TEST(locked.status == 400);
  BOOST_TEST(Str(Body(locked), "error_description") == "Wrong user name or password");
  clock.Advance(std::chrono::minutes(16));
  BOOST_TEST(Password("correct horse").status == 200);
}

BOOST_AUTO_TEST_CASE(UnknownUsersGetTheSameAnswer) {
  auto reply = tokens->Token({{"grant_type", "password"}, {"client_id", "staff-console"},
                              {"username", "nobody"}, {"password", "x"}});
  BOOST_TEST(Str(Body(reply), "error_description") == "Wrong user name or password");
  BOOST_TEST((events.front().kind == SecurityEvent::Kind::kLoginFailed));
}

BOOST_AUTO_TEST_CASE(PasswordGrantNeedsAFirstPartyClient) {
  auto reply = tokens->Token({{"grant_type", "password"}, {"client_id", "hospital-ehr"},
                              {"username", "dr.okafor"}, {"password", "correct horse"}});
  BOOST_TEST(reply.status == 401);
  BOOST_TEST(Str(Body(reply), "error") == "unauthorized_client");
}

BOOST_AUTO_TEST_CASE(RefreshTokensRotateAndReuseRevokesTheSession) {
  std::string first = Str(Body(Password("correct horse")), "refresh_token");
  Form refresh = {{"grant_type", "refresh_token"}, {"client_id", "staff-console"},
                  {"refresh_token", first}};
  auto second = tokens->Token(refresh);
  BOOST_REQUIRE_MESSAGE(second.status == 200, second.body);
  std::string next = Str(Body(second), "refresh_token");
  BOOST_TEST(next != first);
  // The spent token again: theft is assumed and the whole family dies, the new token too.
  BOOST_TEST(tokens->Token(refresh).status == 400);
  auto after = tokens->Token({{"grant_type", "refresh_token"}, {"client_id", "staff-console"},
                              {"refresh_token", next}});
  BOOST_TEST(after.status == 400);
}

BOOST_AUTO_TEST_CASE(RefreshCanNarrowButNotWidenScopes) {
  std::string refresh = Str(Body(Password("correct horse", "user/Observation.rs")),
                            "refresh_token");
  auto reply = tokens->Token({{"grant_type", "refresh_token"},
                              {"client_id", "staff-console"},
                              {"refresh_token", refresh},
                              {"scope", "user/Observation.cruds user/Condition.c"}});
  BOOST_REQUIRE(reply.status == 200);
  BOOST_TEST(Str(Body(reply), "scope") == "user/Observation.rs");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(AuthorizationCode, Fixture)

Form AuthorizeForm(const std::string& challenge, const std::string& scope = "user/*.rs openid fhirUser") {
  return {{"response_type", "code"}, {"client_id", "staff-console"},
          {"redirect_uri", kRedirect}, {"scope", scope},
          {"state", "xyz 1"},          {"code_challenge", challenge},
          {"code_challenge_method", "S256"}, {"aud", std::string(kIssuer) + "/fhir/R4"}};
}

std::string CodeFrom(const std::string& url) {
  auto query = common::ParseQueryString(url.substr(url.find('?') + 1));
  for (auto& [k, v] : query) {
    if (k == "code") return v;
  }
  return "";
}

BOOST_AUTO_TEST_CASE(CodeWithPkceBecomesTokens) {
  std::string verifier = fhir::auth::RandomToken(32);
  std::string challenge = fhir::auth::Base64UrlEncode(fhir::auth::Sha256(verifier));
  auto request = tokens->CheckAuthorizeRequest(AuthorizeForm(challenge));
  BOOST_REQUIRE(request.has_value());
  auto redirect = tokens->Approve(*request, "dr.okafor", "correct horse", "");
  BOOST_REQUIRE(redirect.has_value());
  BOOST_TEST(redirect->rfind(std::string(kRedirect) + "?code=", 0) == 0);
  BOOST_TEST(redirect->find("state=xyz%201") != std::string::npos);
  Form exchange = {{"grant_type", "authorization_code"}, {"client_id", "staff-console"},
                   {"redirect_uri", kRedirect}, {"code", CodeFrom(*redirect)},
                   {"code_verifier", verifier}};
  auto reply = tokens->Token(exchange);
  BOOST_REQUIRE_MESSAGE(reply.status == 200, reply.body);
  JsonValue body = Body(reply);
  BOOST_TEST(!Str(body, "id_token").empty());
  BOOST_TEST(Str(body, "scope").find("user/Condition.rs") != std::string::npos);
  // A code works once.
  BOOST_TEST(tokens->Token(exchange).status == 400);
}

BOOST_AUTO_TEST_CASE(WrongVerifierFails) {
  std::string challenge = fhir::auth::Base64UrlEncode(fhir::auth::Sha256(std::string(43, 'a')));
  auto request = tokens->CheckAuthorizeRequest(AuthorizeForm(challenge));
  BOOST_REQUIRE(request.has_value());
  auto redirect = tokens->Approve(*request, "dr.okafor", "correct horse", "");
  BOOST_REQUIRE(redirect.has_value());
  auto reply = tokens->Token({{"grant_type", "authorization_code"}, {"client_id", "staff-console"},
                              {"redirect_uri", kRedirect}, {"code", CodeFrom(*redirect)},
                              {"code_verifier", std::string(43, 'b')}});
  BOOST_TEST(reply.status == 400);
  BOOST_TEST(Str(Body(reply), "error") == "invalid_grant");
}

BOOST_AUTO_TEST_CASE(RejectsUnregisteredRedirectsAndMissingPkce) {
  std::string challenge(43, 'c');
  Form form = AuthorizeForm(challenge);
  form[2].second = "https://attacker.test/callback";
  BOOST_TEST(!tokens->CheckAuthorizeRequest(form).has_value());
  Form no_pkce = AuthorizeForm(challenge);
  no_pkce.pop_back();
  BOOST_TEST(!tokens->CheckAuthorizeRequest(no_pkce).has_value());
  Form backend = AuthorizeForm(challenge);
  backend[1].second = "hospital-ehr";
  BOOST_TEST(!tokens->CheckAuthorizeRequest(backend).has_value());
}

BOOST_AUTO_TEST_CASE(PatientScopesNeedAPatient) {
  std::string verifier = fhir::auth::RandomToken(32);
  std::string challenge = fhir::auth::Base64UrlEncode(fhir::auth::Sha256(verifier));
  auto request = tokens->CheckAuthorizeRequest(
      AuthorizeForm(challenge, "patient/Observation.rs launch/patient"));
  BOOST_REQUIRE(request.has_value());
  auto redirect = tokens->Approve(*request, "dr.okafor", "correct horse", "pat-9");
  BOOST_REQUIRE(redirect.has_value());
  auto reply = tokens->Token({{"grant_type", "authorization_code"}, {"client_id", "staff-console"},
                              {"redirect_uri", kRedirect}, {"code", CodeFrom(*redirect)},
                              {"code_verifier", verifier}});
  BOOST_REQUIRE(reply.status == 200);
  JsonValue body = Body(reply);
  BOOST_TEST(Str(body, "patient") == "pat-9");
  auto p = tokens->Authenticate(Str(body, "access_token"));
  BOOST_REQUIRE(p.has_value());
  BOOST_TEST((p->ReachFor("Observation", Permission::kRead) == Reach::kPatientCompartment));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(AccessTokens, Fixture)

BOOST_AUTO_TEST_CASE(ExpiredTokensAreRefused) {
  std::string token = Str(Body(ClientCredentials(Assertion(ehr_key))), "access_token");
  BOOST_TEST(tokens->Authenticate(token).has_value());
  clock.Advance(std::chrono::minutes(11));
  auto p = tokens->Authenticate(token);
  BOOST_REQUIRE(!p.has_value());
  BOOST_TEST(p.error().message().find("expired") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(RevokedTokensAreRefused) {
  std::string token = Str(Body(ClientCredentials(Assertion(ehr_key))), "access_token");
  BOOST_TEST(tokens->Authenticate(token).has_value());
  BOOST_TEST(tokens->Revoke({{"token", token}}).status == 200);
  BOOST_TEST(!tokens->Authenticate(token).has_value());
}

BOOST_AUTO_TEST_CASE(TamperedTokensAreRefused) {
  std::string token = Str(Body(ClientCredentials(Assertion(ehr_key))), "access_token");
  // Widen the scope in the payload and keep the signature.
  std::size_t a = token.find('.'), b = token.rfind('.');
  auto claims = common::ParseJson(*fhir::auth::Base64UrlDecode(token.substr(a + 1, b - a - 1)));
  claims->Set("scope", JsonValue::String("system/*.cruds"));
  std::string forged = token.substr(0, a + 1) +
                       fhir::auth::Base64UrlEncode(common::ToJson(*claims)) + token.substr(b);
  BOOST_TEST(!tokens->Authenticate(forged).has_value());
  BOOST_TEST(!tokens->Authenticate("not-a-token").has_value());
  BOOST_TEST(!tokens->Authenticate(std::string(20000, 'a')).has_value());
}

BOOST_AUTO_TEST_CASE(TokensSignedBeforeARotationStayValid) {
  std::string token = Str(Body(ClientCredentials(Assertion(ehr_key))), "access_token");
  std::string old_kid = keys.Signing()->kid();
  BOOST_REQUIRE(keys.Rotate().ok());
  BOOST_TEST(keys.Signing()->kid() != old_kid);
  fhir::auth::AuthSettings settings;
  settings.issuer = kIssuer;
  // A fresh service (no verification cache) still accepts the old token.
  fhir::auth::TokenService fresh(store, keys, fhir::auth::RoleCatalog::Default(), clock, settings);
  BOOST_TEST(fresh.Authenticate(token).has_value());
  auto jwks = common::ParseJson(keys.JwksJson());
  BOOST_TEST(jwks->Find("keys")->items().size() == 2u);
}

BOOST_AUTO_TEST_CASE(TokensOfAnotherIssuerAreRefused) {
  std::string token = Str(Body(ClientCredentials(Assertion(ehr_key))), "access_token");
  fhir::auth::AuthSettings other;
  other.issuer = "https://other.test";
  fhir::auth::TokenService elsewhere(store, keys, fhir::auth::RoleCatalog::Default(), clock, other);
  BOOST_TEST(!elsewhere.Authenticate(token).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace

namespace {

BOOST_FIXTURE_TEST_SUITE(VerificationCache, Fixture)

// A verified token is cached; a different token with the same signature must not hit the cache.
BOOST_AUTO_TEST_CASE(ATokenAlteredAroundACachedSignatureIsRefused) {
  std::string token = Str(Body(ClientCredentials(Assertion(ehr_key))), "access_token");
  BOOST_REQUIRE(tokens->Authenticate(token).has_value());
  BOOST_TEST(!tokens->Authenticate(token.substr(1)).has_value());
  std::size_t a = token.find('.'), b = token.rfind('.');
  auto claims = common::ParseJson(*fhir::auth::Base64UrlDecode(token.substr(a + 1, b - a - 1)));
  claims->Set("scope", JsonValue::String("system/*.cruds"));
  std::string forged = token.substr(0, a + 1) +
                       fhir::auth::Base64UrlEncode(common::ToJson(*claims)) + token.substr(b);
  BOOST_TEST(!tokens->Authenticate(forged).has_value());
  BOOST_TEST(tokens->Authenticate(token).has_value());
}

// A thread remembers the token it verified last (AuthenticateShared): for that service only,
// for that exact token only, and not past a revocation or the token's expiry.
BOOST_AUTO_TEST_CASE(AThreadsLastTokenIsTrustedOnlyWhereItWasChecked) {
  const std::string system = Str(Body(ClientCredentials(Assertion(ehr_key))), "access_token");
  const std::string staff = Str(Body(Password("correct horse")), "access_token");
  for (int round = 0; round < 2; ++round) {  // each time the other token was the last
    auto a = tokens->AuthenticateShared(system);
    BOOST_REQUIRE(a.has_value());
    BOOST_TEST(((*a)->kind == fhir::auth::Principal::Kind::kClient));
    auto b = tokens->AuthenticateShared(staff);
    BOOST_REQUIRE(b.has_value());
    BOOST_TEST(((*b)->kind == fhir::auth::Principal::Kind::kUser));
    BOOST_TEST((*b)->fhir_user == "Practitioner/p1");
  }
  // Another service in the same thread (another issuer) checks it itself, and refuses it.
  BOOST_REQUIRE(tokens->AuthenticateShared(staff).has_value());
  fhir::auth::AuthSettings other;
  other.issuer = "https://other.test";
  fhir::auth::TokenService elsewhere(store, keys, fhir::auth::RoleCatalog::Default(), clock, other);
  BOOST_TEST(!elsewhere.AuthenticateShared(staff).has_value());
  // The same token one character short, right after the token was accepted.
  BOOST_REQUIRE(tokens->AuthenticateShared(staff).has_value());
  BOOST_TEST(!tokens->AuthenticateShared(staff.substr(0, staff.size() - 1)).has_value());
  // Revoked while it is this thread's last token.
  BOOST_REQUIRE(tokens->AuthenticateShared(staff).has_value());
  BOOST_TEST(tokens->Revoke({{"token", staff}}).status == 200);
  BOOST_TEST(!tokens->AuthenticateShared(staff).has_value());
  // Expired while it is.
  BOOST_REQUIRE(tokens->AuthenticateShared(system).has_value());
  clock.Advance(std::chrono::minutes(11));
  BOOST_TEST(!tokens->AuthenticateShared(system).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace

namespace {

BOOST_FIXTURE_TEST_SUITE(PublishedKeySets, Fixture)

// A backend client that publishes its keys at a URL (SMART Backend Services' jwks_url).
BOOST_AUTO_TEST_CASE(KeysAreFetchedCachedAndRefetchedOnRotation) {
  JwsKey first = JwsKey::Generate(JwsAlgorithm::kRS384, "rot-1").value();
  JwsKey second = JwsKey::Generate(JwsAlgorithm::kRS384, "rot-2").value();
  std::string published = fhir::auth::JwksJson({first});
  int fetches = 0;
  fhir::auth::AuthSettings settings;
  settings.issuer = kIssuer;
  settings.jwks_min_refetch = std::chrono::seconds(0);
  fhir::auth::TokenService service(store, keys, fhir::auth::RoleCatalog::Default(), clock,
                                   settings);
  service.SetJwksFetcher([&](const std::string& url) -> common::Result<std::string> {
    BOOST_TEST(url == "https://ehr2.example/jwks.json");
    ++fetches;
    return published;
  });
  ClientRegistration c;
  c.client_id = "ehr2";
  c.name = "EHR with a JWKS URL";
  c.jwks_url = "https://ehr2.example/jwks.json";
  c.roles = {"ehr-system"};
  BOOST_REQUIRE(store.AddClient(c).ok());
  auto request = [&](const JwsKey& key) {
    return service.Token({{"grant_type", "client_credentials"},
                          {"client_assertion_type",
                           "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
                          {"client_assertion", Assertion(key, "", 120, kTokenUrl, "ehr2")},
                          {"scope", "system/*.rs"}});
  };
  BOOST_TEST(request(first).status == 200);
  BOOST_TEST(request(first).status == 200);
  BOOST_TEST(fetches == 1);  // cached
  // The client rotates: the new kid is unknown, so the set is fetched again.
  published = fhir::auth::JwksJson({first, second});
  BOOST_TEST(request(second).status == 200);
  BOOST_TEST(fetches == 2);
  // A key that is nowhere stays refused.
  JwsKey stranger = JwsKey::Generate(JwsAlgorithm::kRS384, "rot-3").value();
  BOOST_TEST(request(stranger).status == 401);
}

BOOST_AUTO_TEST_CASE(SigningKeysAreSealedUnderAKeyEncryptionKey) {
  std::string token = Str(Body(ClientCredentials(Assertion(ehr_key))), "access_token");
  auto kek = std::make_shared<const fhir::auth::KeyEncryptionKey>(fhir::auth::KeyEncryptionKey::Generate());
  // Configuring the key seals the key stored before it, in place.
  fhir::auth::KeyRing sealed_ring(store, clock, kek);
  BOOST_REQUIRE(sealed_ring.Load().ok());
  BOOST_REQUIRE(sealed_ring.Rotate().ok());
  auto stored = store.SigningKeys();
  BOOST_REQUIRE(stored.has_value());
  BOOST_REQUIRE_EQUAL(stored->size(), 2u);
  for (const auto& k : *stored) {
    BOOST_TEST(fhir::auth::KeyEncryptionKey::IsSealed(k.private_pem));
    BOOST_TEST(k.private_pem.find("PRIVATE KEY") == std::string::npos);
  }
  // The old token still verifies through the sealed ring; the new key signs.
  fhir::auth::AuthSettings settings;
  settings.issuer = kIssuer;
  fhir::auth::TokenService sealed_service(store, sealed_ring, fhir::auth::RoleCatalog::Default(), clock, settings);
  BOOST_TEST(sealed_service.Authenticate(token).has_value());
  std::string fresh = Str(Body(sealed_service.Token(
                              {{"grant_type", "client_credentials"},
                               {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
                               {"client_assertion", Assertion(ehr_key)},
                               {"scope", "system/Patient.rs"}})),
                          "access_token");
  BOOST_TEST(sealed_service.Authenticate(fresh).has_value());
  // Without the key, or with another one, a server refuses to start rather than mint a new key.
  fhir::auth::KeyRing without(store, clock);
  common::Status refused = without.Load();
  BOOST_TEST(!refused.ok());
  BOOST_TEST(refused.message().find("encrypted") != std::string::npos);
  auto other = std::make_shared<const fhir::auth::KeyEncryptionKey>(fhir::auth::KeyEncryptionKey::Generate());
  fhir::auth::KeyRing wrong(store, clock, other);
  common::Status wrong_refused = wrong.Load();
  BOOST_TEST(!wrong_refused.ok());
  BOOST_TEST(wrong_refused.message().find(kek->fingerprint()) != std::string::npos);
  BOOST_TEST(store.SigningKeys()->size() == 2u);  // nothing was added by the refused ones
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
