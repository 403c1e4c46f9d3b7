// SMART on FHIR over real HTTPS: discovery, every grant through the token endpoint, the login
// page, 401/403 on the FHIR API, scopes on every interaction (includes, chains, system search,
// history), patient compartments, revocation, hostile tokens, and the audit trail.

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <string>

#include "common/json.h"
#include "common/url.h"
#include "fhir/auth/crypto/jose.h"
#include "fhir/auth/crypto/secrets.h"
#include "tests/support/test_server.h"

namespace {

using common::JsonValue;
using test_support::HttpResult;
using test_support::TestServer;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kRedirect = "https://console.unit7.test/callback";
const std::string kAud = std::string(test_support::TestServer::kTestIssuer) + "/fhir/R4";

JsonValue Json(const HttpResult& r) {
  auto parsed = common::ParseJson(r.body);
  BOOST_REQUIRE_MESSAGE(parsed.has_value(), "not JSON: " + r.body);
  return std::move(parsed).value();
}

std::string Str(const JsonValue& v, const char* name) {
  const JsonValue* f = v.Find(name);
  return f != nullptr ? f->scalar() : "";
}

std::string Form(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    out += (out.empty() ? "" : "&") + common::UrlEncode(k) + "=" + common::UrlEncode(v);
  }
  return out;
}

Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

std::vector<std::string> EntryIds(const HttpResult& r) {
  std::vector<std::string> ids;
  JsonValue bundle = Json(r);
  if (const JsonValue* entries = bundle.Find("entry")) {
    for (const JsonValue& e : entries->items()) {
      const JsonValue* res = e.Find("resource");
      ids.push_back(Str(*res, "resourceType") + "/" + Str(*res, "id"));
    }
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

// The server speaks HTTPS with a certificate from `fovea cert dev`, as a van would.
fhir::rest::HttpServerOptions Https() { return TestServer::DevTls(); }

struct Fixture {
  TestServer server;
  fhir::auth::JwsKey ehr_key =
      fhir::auth::JwsKey::Generate(fhir::auth::JwsAlgorithm::kRS384, "k1").value();

  explicit Fixture(fhir::rest::ServiceOptions options = {},
                   fhir::rest::HttpServerOptions http = Https())
      : server(TestServer::Secured{}, std::move(http), std::move(options)) {
    fhir::auth::ClientRegistration ehr;
    ehr.client_id = "hospital-ehr";
    ehr.name = "Hospital EHR";
    ehr.jwks_json = fhir::auth::JwksJson({ehr_key});
    ehr.roles = {"ehr-system", "auditor"};
    BOOST_REQUIRE(server.security()->store().AddClient(ehr).ok());
    fhir::auth::ClientRegistration console;
    console.client_id = "staff-console";
    console.name = "Staff console";
    console.kind = fhir::auth::ClientRegistration::Kind::kPublic;
    console.redirect_uris = {kRedirect};
    console.first_party = true;
    BOOST_REQUIRE(server.security()->store().AddClient(console).ok());
    AddUser("tech.lee", {"technician"});
    AddUser("dr.okafor", {"doctor"});
  }

  void AddUser(const std::string& name, std::vector<std::string> roles) {
    fhir::auth::UserAccount u;
    u.username = name;
    u.password_hash = fhir::auth::HashPassword("pass-" + name, {10, 8, 1});
    u.fhir_user = "Practitioner/" + name;
    u.roles = std::move(roles);
    BOOST_REQUIRE(server.security()->store().AddUser(u).ok());
  }

  HttpResult PostForm(const std::string& path, const std::string& body) {
    return server.Request("POST", path, body,
                          {{"Content-Type", "application/x-www-form-urlencoded"}});
  }

  std::string SystemToken(const std::string& scope) {
    JsonValue claims = JsonValue::Object();
    claims.Set("iss", JsonValue::String("hospital-ehr"));
    claims.Set("sub", JsonValue::String("hospital-ehr"));
    claims.Set("aud", JsonValue::String(std::string(TestServer::kTestIssuer) + "/auth/token"));
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    claims.Set("exp", JsonValue::Number(std::to_string(now + 120)));
    claims.Set("jti", JsonValue::String(fhir::auth::RandomToken(8)));
    HttpResult r = PostForm(
        "/auth/token",
        Form({{"grant_type", "client_credentials"},
              {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
              {"client_assertion", fhir::auth::SignJwt(ehr_key, claims).value()},
              {"scope", scope}}));
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
    BOOST_TEST(r.Header("Cache-Control") == "no-store");
    return Str(Json(r), "access_token");
  }

  std::string StaffToken(const std::string& user, const std::string& scope = "") {
    std::vector<std::pair<std::string, std::string>> f = {{"grant_type", "password"},
                                                          {"client_id", "staff-console"},
                                                          {"username", user},
                                                          {"password", "pass-" + user}};
    if (!scope.empty()) f.emplace_back("scope", scope);
    HttpResult r = PostForm("/auth/token", Form(f));
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
    return Str(Json(r), "access_token");
  }

  void Put(const std::string& token, const std::string& path, const std::string& body) {
    HttpResult r = server.Request("PUT", path, body, Bearer(token));
    BOOST_REQUIRE_MESSAGE(r.status == 201 || r.status == 200, path + ": " + r.body);
  }

  // Two patients, an Observation each, and a Practitioner the first one refers to.
  void Seed() {
    std::string admin = SystemToken("system/*.cruds");
    Put(admin, "Patient/p1", R"({"resourceType":"Patient","id":"p1","name":[{"family":"Tan"}]})");
    Put(admin, "Patient/p2", R"({"resourceType":"Patient","id":"p2","name":[{"family":"Ng"}]})");
    Put(admin, "Practitioner/d1", R"({"resourceType":"Practitioner","id":"d1"})");
    Put(admin, "Observation/o1",
        R"({"resourceType":"Observation","id":"o1","status":"final","code":{"text":"VA"},"subject":{"reference":"Patient/p1"},"performer":[{"reference":"Practitioner/d1"}]})");
    Put(admin, "Observation/o2",
        R"({"resourceType":"Observation","id":"o2","status":"final","code":{"text":"VA"},"subject":{"reference":"Patient/p2"}})");
  }

  // The authorization-code flow as a browser and an app would run it.
  std::string AuthorizationCodeToken(const std::string& scope, const std::string& patient) {
    std::string verifier = fhir::auth::RandomToken(32);
    std::string challenge = fhir::auth::Base64UrlEncode(fhir::auth::Sha256(verifier));
    std::vector<std::pair<std::string, std::string>> params = {
        {"response_type", "code"},       {"client_id", "staff-console"},
        {"redirect_uri", kRedirect},     {"scope", scope},
        {"state", "s1"},                 {"aud", std::string(TestServer::kTestIssuer) + "/fhir/R4"},
        {"code_challenge", challenge},   {"code_challenge_method", "S256"}};
    HttpResult page = server.Request("GET", "/auth/authorize?" + Form(params));
    BOOST_REQUIRE_MESSAGE(page.status == 200, page.body);
    BOOST_TEST(page.Header("Content-Type").find("text/html") == 0);
    BOOST_TEST(page.Header("X-Frame-Options") == "DENY");
    params.emplace_back("username", "dr.okafor");
    params.emplace_back("password", "pass-dr.okafor");
    params.emplace_back("patient", patient);
    HttpResult login = PostForm("/auth/authorize", Form(params));
    BOOST_REQUIRE_MESSAGE(login.status == 302, login.body);
    std::string location = login.Header("Location");
    BOOST_REQUIRE(location.rfind(kRedirect, 0) == 0);
    std::string code;
    for (auto& [k, v] : common::ParseQueryString(location.substr(location.find('?') + 1))) {
      if (k == "code") code = v;
    }
    HttpResult token = PostForm("/auth/token", Form({{"grant_type", "authorization_code"},
                                                     {"client_id", "staff-console"},
                                                     {"redirect_uri", kRedirect},
                                                     {"code", code},
                                                     {"code_verifier", verifier}}));
    BOOST_REQUIRE_MESSAGE(token.status == 200, token.body);
    return Str(Json(token), "access_token");
  }
};

BOOST_FIXTURE_TEST_SUITE(Discovery, Fixture)

BOOST_AUTO_TEST_CASE(TheCapabilityStatementIsPublicAndNamesTheEndpoints) {
  BOOST_TEST(server.base().rfind("https://", 0) == 0);
  HttpResult r = server.Request("GET", "metadata");
  BOOST_REQUIRE_EQUAL(r.status, 200);
  BOOST_TEST(r.body.find("SMART-on-FHIR") != std::string::npos);
  BOOST_TEST(r.body.find(std::string(TestServer::kTestIssuer) + "/auth/token") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(SmartConfigurationIsServedUnderTheFhirBase) {
  for (const char* path : {"/fhir/R4/.well-known/smart-configuration",
                           "/.well-known/smart-configuration"}) {
    HttpResult r = server.Request("GET", path);
    BOOST_REQUIRE_EQUAL(r.status, 200);
    JsonValue c = Json(r);
    BOOST_TEST(Str(c, "token_endpoint") == std::string(TestServer::kTestIssuer) + "/auth/token");
    BOOST_TEST(r.body.find("\"permission-v2\"") != std::string::npos);
    BOOST_TEST(r.body.find("\"S256\"") != std::string::npos);
    BOOST_TEST(r.body.find("\"launch-ehr\"") != std::string::npos);
    BOOST_TEST(r.body.find("\"context-ehr-encounter\"") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(OpenIdConnectDiscoveryNamesTheKeys) {
  HttpResult r = server.Request("GET", "/.well-known/openid-configuration");
  BOOST_REQUIRE_EQUAL(r.status, 200);
  JsonValue c = Json(r);
  BOOST_TEST(Str(c, "issuer") == TestServer::kTestIssuer);
  BOOST_TEST(Str(c, "jwks_uri") == std::string(TestServer::kTestIssuer) + "/auth/jwks");
  BOOST_TEST(r.body.find("\"RS256\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(TheJwksHoldsPublicKeysOnly) {
  HttpResult r = server.Request("GET", "/auth/jwks");
  BOOST_REQUIRE_EQUAL(r.status, 200);
  JsonValue jwks = Json(r);
  BOOST_REQUIRE(!jwks.Find("keys")->items().empty());
  for (const JsonValue& k : jwks.Find("keys")->items()) {
    BOOST_TEST(k.Find("d") == nullptr);
    BOOST_TEST(!Str(k, "kid").empty());
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(Authentication, Fixture)

BOOST_AUTO_TEST_CASE(NoTokenMeans401WithAChallenge) {
  HttpResult r = server.Request("GET", "Patient");
  BOOST_TEST(r.status == 401);
  BOOST_TEST(r.Header("WWW-Authenticate").rfind("Bearer", 0) == 0);
  BOOST_TEST(Str(Json(r), "resourceType") == "OperationOutcome");
  BOOST_TEST(r.body.find("\"security\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(BadTokensMean401) {
  std::string good = SystemToken("system/*.rs");
  std::string header = fhir::auth::Base64UrlEncode(R"({"alg":"none"})");
  std::string payload = good.substr(good.find('.') + 1);
  payload = payload.substr(0, payload.find('.'));
  for (const std::string& bad :
       {std::string("garbage"), header + "." + payload + ".", std::string(10000, 'x'),
        good.substr(0, good.size() - 4) + "AAAA"}) {
    HttpResult r = server.Request("GET", "Patient", "", Bearer(bad));
    BOOST_TEST(r.status == 401);
    BOOST_TEST(r.Header("WWW-Authenticate").find("invalid_token") != std::string::npos);
  }
  // Tokens in the query string are not accepted (they end up in logs and histories).
  BOOST_TEST(server.Request("GET", "Patient?access_token=" + good).status == 401);
  BOOST_TEST(server.Request("GET", "Patient", "", Bearer(good)).status == 200);
}

BOOST_AUTO_TEST_CASE(RevokedTokensStopWorking) {
  std::string token = SystemToken("system/*.rs");
  BOOST_TEST(server.Request("GET", "Patient", "", Bearer(token)).status == 200);
  BOOST_TEST(PostForm("/auth/revoke", Form({{"token", token}})).status == 200);
  BOOST_TEST(server.Request("GET", "Patient", "", Bearer(token)).status == 401);
}

BOOST_AUTO_TEST_CASE(IntrospectionNeedsABearerAndTellsActiveFromNot) {
  std::string token = SystemToken("system/Observation.rs");
  std::string form = Form({{"token", token}});
  HttpResult anonymous = PostForm("/auth/introspect", form);
  BOOST_TEST(anonymous.status == 401);
  Headers as_caller = {{"Authorization", "Bearer " + SystemToken("system/*.rs")},
                       {"Content-Type", "application/x-www-form-urlencoded"}};
  HttpResult active = server.Request("POST", "/auth/introspect", form, as_caller);
  BOOST_REQUIRE_EQUAL(active.status, 200);
  BOOST_TEST(Str(Json(active), "active") == "true");
  BOOST_TEST(Str(Json(active), "scope") == "system/Observation.rs");
  BOOST_TEST(Str(Json(active), "client_id") == "hospital-ehr");
  HttpResult junk = server.Request("POST", "/auth/introspect", Form({{"token", "junk"}}), as_caller);
  BOOST_TEST(Str(Json(junk), "active") == "false");
  BOOST_TEST(PostForm("/auth/revoke", form).status == 200);
  HttpResult revoked = server.Request("POST", "/auth/introspect", form, as_caller);
  BOOST_TEST(Str(Json(revoked), "active") == "false");
}

BOOST_AUTO_TEST_CASE(TheTokenEndpointSpeaksOAuthErrors) {
  HttpResult r = PostForm("/auth/token", "grant_type=client_credentials");
  BOOST_TEST(r.status == 401);
  BOOST_TEST(Str(Json(r), "error") == "invalid_client");
  HttpResult json_body = server.Request("POST", "/auth/token", R"({"grant_type":"password"})",
                                        {{"Content-Type", "application/json"}});
  BOOST_TEST(json_body.status == 400);
  BOOST_TEST(server.Request("GET", "/auth/token").status == 405);
}

BOOST_AUTO_TEST_CASE(TheLoginPageShowsWrongPasswordsWithoutRedirecting) {
  std::string challenge(43, 'a');
  std::string params = Form({{"response_type", "code"}, {"client_id", "staff-console"},
                             {"redirect_uri", kRedirect}, {"code_challenge", challenge},
                             {"code_challenge_method", "S256"}, {"username", "dr.okafor"},
                             {"password", "wrong"}, {"aud", kAud}});
  HttpResult r = PostForm("/auth/authorize", params);
  BOOST_TEST(r.status == 401);
  BOOST_TEST(r.body.find("Wrong user name or password") != std::string::npos);
  BOOST_TEST(r.Header("Location").empty());
  // An unregistered redirect is shown as an error, never followed.
  HttpResult evil = server.Request(
      "GET", "/auth/authorize?" + Form({{"response_type", "code"},
                                        {"client_id", "staff-console"},
                                        {"redirect_uri", "https://evil.test/cb"},
                                        {"code_challenge", challenge},
                                        {"code_challenge_method", "S256"}}));
  BOOST_TEST(evil.status == 400);
  BOOST_TEST(evil.Header("Location").empty());
  // Reflected input is escaped.
  HttpResult xss = server.Request(
      "GET", "/auth/authorize?" + Form({{"response_type", "code"},
                                        {"client_id", "staff-console"},
                                        {"redirect_uri", kRedirect},
                                        {"state", "\"><script>alert(1)</script>"},
                                        {"code_challenge", challenge},
                                        {"code_challenge_method", "S256"}, {"aud", kAud}}));
  BOOST_TEST(xss.status == 200);
  BOOST_TEST(xss.body.find("<script>") == std::string::npos);
  // aud is required (SMART App Launch 2.0) and must be this server's FHIR base.
  for (const char* aud : {"", "https://other-ehr.test/fhir"}) {
    std::vector<std::pair<std::string, std::string>> params = {
        {"response_type", "code"}, {"client_id", "staff-console"}, {"redirect_uri", kRedirect},
        {"code_challenge", challenge}, {"code_challenge_method", "S256"}};
    if (*aud != '\0') params.emplace_back("aud", aud);
    HttpResult wrong = server.Request("GET", "/auth/authorize?" + Form(params));
    BOOST_TEST(wrong.status == 400);
    BOOST_TEST(wrong.body.find("aud must be") != std::string::npos, wrong.body);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(Authorisation, Fixture)

BOOST_AUTO_TEST_CASE(ScopesDecideEachInteraction) {
  Seed();
  std::string tech = StaffToken("tech.lee");
  BOOST_TEST(server.Request("GET", "Observation/o1", "", Bearer(tech)).status == 200);
  HttpResult obs = server.Request(
      "POST", "Observation",
      R"({"resourceType":"Observation","status":"final","code":{"text":"VA"},"subject":{"reference":"Patient/p1"}})",
      Bearer(tech));
  BOOST_TEST(obs.status == 201);
  HttpResult diagnosis = server.Request(
      "POST", "Condition",
      R"({"resourceType":"Condition","subject":{"reference":"Patient/p1"}})", Bearer(tech));
  BOOST_TEST(diagnosis.status == 403);
  BOOST_TEST(diagnosis.body.find("Condition") != std::string::npos);
  BOOST_TEST(server.Request("DELETE", "Observation/o1", "", Bearer(tech)).status == 403);
  BOOST_TEST(server.Request("GET", "AuditEvent", "", Bearer(tech)).status == 403);
  BOOST_TEST(server.Request("GET", "Observation/o1/_history", "", Bearer(tech)).status == 200);
}

BOOST_AUTO_TEST_CASE(IncludesAndSystemSearchShowOnlyReadableTypes) {
  Seed();
  std::string narrow = SystemToken("system/Observation.rs");
  HttpResult r = server.Request(
      "GET", "Observation?_include=Observation:subject&_include=Observation:performer", "",
      Bearer(narrow));
  BOOST_REQUIRE_EQUAL(r.status, 200);
  BOOST_TEST(EntryIds(r) == (std::vector<std::string>{"Observation/o1", "Observation/o2"}));
  HttpResult all = server.Request("GET", "?_count=50", "", Bearer(narrow));
  BOOST_REQUIRE_EQUAL(all.status, 200);
  BOOST_TEST(EntryIds(all) == (std::vector<std::string>{"Observation/o1", "Observation/o2"}));
  BOOST_TEST(server.Request("GET", "?_type=Patient", "", Bearer(narrow)).status == 403);
  // A chain would reveal Patient names through Observation matches.
  BOOST_TEST(server.Request("GET", "Observation?subject.name=Tan", "", Bearer(narrow)).status ==
             403);
  BOOST_TEST(server.Request("GET", "Patient?_has:Observation:subject:status=final", "",
                            Bearer(SystemToken("system/Patient.rs")))
                 .status == 403);
  HttpResult history = server.Request("GET", "_history", "", Bearer(narrow));
  BOOST_REQUIRE_EQUAL(history.status, 200);
  for (const std::string& id : EntryIds(history)) BOOST_TEST(id.rfind("Observation/", 0) == 0);
}

BOOST_AUTO_TEST_CASE(PatientScopesStayInTheirCompartment) {
  Seed();
  std::string token = AuthorizationCodeToken("patient/Observation.rs patient/Patient.rs launch/patient", "p1");
  BOOST_TEST(server.Request("GET", "Observation/o1", "", Bearer(token)).status == 200);
  HttpResult other = server.Request("GET", "Observation/o2", "", Bearer(token));
  BOOST_TEST(other.status == 404);  // indistinguishable from a resource that does not exist
  BOOST_TEST(server.Request("GET", "Observation/nope", "", Bearer(token)).body.find("is not known") !=
             std::string::npos);
  BOOST_TEST(server.Request("GET", "Patient/p1", "", Bearer(token)).status == 200);
  BOOST_TEST(server.Request("GET", "Patient/p2", "", Bearer(token)).status == 404);
  HttpResult search = server.Request("GET", "Observation?_include=Observation:subject", "",
                                     Bearer(token));
  BOOST_REQUIRE_EQUAL(search.status, 200);
  BOOST_TEST(EntryIds(search) == (std::vector<std::string>{"Observation/o1", "Patient/p1"}));
  HttpResult total = server.Request("GET", "Observation?_summary=count", "", Bearer(token));
  BOOST_TEST(Str(Json(total), "total") == "1");
  BOOST_TEST(server.Request("GET", "Patient/p2/Observation", "", Bearer(token)).status == 403);
  // Observations are seen only in p1's compartment: no _has or chain through a type seen so.
  HttpResult has = server.Request("GET", "Patient?_has:Observation:subject:status=final", "", Bearer(token));
  BOOST_TEST(has.status == 403);
  BOOST_TEST(has.body.find("one patient") != std::string::npos);
  BOOST_TEST(server.Request("GET", "Observation?subject:Patient.name=Tan", "", Bearer(token)).status == 403);
  BOOST_TEST(server.Request("PUT", "Observation/o1", R"({"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}})",
                            Bearer(token))
                 .status == 403);  // read-only scopes
}

// SMART v2 granular scopes: a scope narrowed by a search query reaches only what matches it,
// on every interaction; several add up; what the server cannot enforce is not granted.
constexpr const char* kCategory = "http://terminology.hl7.org/CodeSystem/observation-category";

std::string CategorisedObservation(const std::string& id, const std::string& patient,
                                   const std::string& category) {
  return R"({"resourceType":"Observation","id":")" + id +
         R"(","status":"final","category":[{"coding":[{"system":")" + kCategory + R"(","code":")" +
         category + R"("}]}],"code":{"text":"x"},"subject":{"reference":"Patient/)" + patient + R"("}})";
}

std::string GrantedScope(Fixture& f, const std::string& scope) {
  JsonValue claims = JsonValue::Object();
  claims.Set("iss", JsonValue::String("hospital-ehr"));
  claims.Set("sub", JsonValue::String("hospital-ehr"));
  claims.Set("aud", JsonValue::String(std::string(TestServer::kTestIssuer) + "/auth/token"));
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch()).count();
  claims.Set("exp", JsonValue::Number(std::to_string(now + 120)));
  claims.Set("jti", JsonValue::String(fhir::auth::RandomToken(8)));
  HttpResult r = f.PostForm(
      "/auth/token",
      Form({{"grant_type", "client_credentials"},
            {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
            {"client_assertion", fhir::auth::SignJwt(f.ehr_key, claims).value()},
            {"scope", scope}}));
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  return Str(Json(r), "scope");
}

struct GranularFixture : Fixture {
  const std::string vital = std::string("system/Observation.rs?category=") + kCategory + "|vital-signs";
  const std::string lab = std::string("system/Observation.rs?category=") + kCategory + "|laboratory";
  GranularFixture() {
    Seed();
    std::string admin = SystemToken("system/*.cruds");
    Put(admin, "Observation/v1", CategorisedObservation("v1", "p1", "vital-signs"));
    Put(admin, "Observation/v2", CategorisedObservation("v2", "p2", "vital-signs"));
    Put(admin, "Observation/l1", CategorisedObservation("l1", "p1", "laboratory"));
    Put(admin, "Observation/e1", CategorisedObservation("e1", "p1", "exam"));
  }
  std::vector<std::string> Found(const std::string& token, const std::string& path) {
    HttpResult r = server.Request("GET", path, "", Bearer(token));
    BOOST_REQUIRE_MESSAGE(r.status == 200, path + ": " + r.body);
    return EntryIds(r);
  }
};

BOOST_FIXTURE_TEST_CASE(GranularScopesReachOnlyWhatTheirQueryMatches, GranularFixture) {
  std::string token = SystemToken(vital + " system/Patient.rs");
  BOOST_TEST(GrantedScope(*this, vital) == vital);  // granted as asked, query and all
  BOOST_TEST(Found(token, "Observation") ==
             (std::vector<std::string>{"Observation/v1", "Observation/v2"}));
  BOOST_TEST(Str(Json(server.Request("GET", "Observation?_summary=count", "", Bearer(token))), "total") == "2");
  // Asking for more never reveals more: the other category is simply empty.
  BOOST_TEST(Found(token, std::string("Observation?category=") + kCategory + "|laboratory").empty());
  BOOST_TEST(Found(token, "Observation?subject=Patient/p1") == (std::vector<std::string>{"Observation/v1"}));
  BOOST_TEST(server.Request("GET", "Observation/v1", "", Bearer(token)).status == 200);
  BOOST_TEST(server.Request("GET", "Observation/l1", "", Bearer(token)).status == 404);
  BOOST_TEST(server.Request("GET", "Observation/l1/_history", "", Bearer(token)).status == 404);
  BOOST_TEST(Found(token, "Observation/_history") ==
             (std::vector<std::string>{"Observation/v1", "Observation/v2"}));
  // Included resources too.
  BOOST_TEST(Found(token, "Patient?_id=p1&_revinclude=Observation:subject") ==
             (std::vector<std::string>{"Observation/v1", "Patient/p1"}));
  // No create, update or delete: the scope is read and search only.
  BOOST_TEST(server.Request("DELETE", "Observation/v1", "", Bearer(token)).status == 403);
  // A system-level search cannot apply the criteria of one type: search that type instead.
  HttpResult system = server.Request("GET", "?_type=Observation", "", Bearer(token));
  BOOST_TEST(system.status == 403);
  BOOST_TEST(system.body.find("granular") != std::string::npos);
}

// _has and chains match on resources the result does not show: through a type the token sees
// only in part, a match would tell which patients have a laboratory result it may not read.
BOOST_FIXTURE_TEST_CASE(HasAndChainsNeedTheWholeOtherType, GranularFixture) {
  std::string token = SystemToken(vital + " system/Patient.rs");
  std::string lab_has = std::string("Patient?_has:Observation:subject:category=") + kCategory + "|laboratory";
  HttpResult has = server.Request("GET", lab_has, "", Bearer(token));
  BOOST_TEST(has.status == 403);
  BOOST_TEST(has.body.find("granular") != std::string::npos);
  BOOST_TEST(has.body.find("Patient/p1") == std::string::npos);
  // The same search with the whole type readable answers.
  BOOST_TEST(Found(SystemToken("system/Observation.rs system/Patient.rs"), lab_has) ==
             (std::vector<std::string>{"Patient/p1"}));
  // A chain through a type seen in part: Patients reached only through vital signs.
  std::string patient_scoped = SystemToken(vital + " system/Patient.rs?_id=p2");
  HttpResult chain = server.Request("GET", "Observation?subject:Patient.name=Tan", "", Bearer(patient_scoped));
  BOOST_TEST(chain.status == 403);
  BOOST_TEST(chain.body.find("chained") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(SeveralGranularScopesAddUp, GranularFixture) {
  std::string token = SystemToken(vital + " " + lab);
  BOOST_TEST(Found(token, "Observation") ==
             (std::vector<std::string>{"Observation/l1", "Observation/v1", "Observation/v2"}));
  BOOST_TEST(Found(token, "Observation?_sort=-_lastUpdated&_count=1").size() == 1u);
  BOOST_TEST(server.Request("GET", "Observation/e1", "", Bearer(token)).status == 404);
}

BOOST_FIXTURE_TEST_CASE(PatientGranularScopesStayInTheCompartmentToo, GranularFixture) {
  std::string token = AuthorizationCodeToken(
      std::string("patient/Observation.rs?category=") + kCategory + "|vital-signs launch/patient", "p1");
  BOOST_TEST(Found(token, "Observation") == (std::vector<std::string>{"Observation/v1"}));
  BOOST_TEST(server.Request("GET", "Observation/v2", "", Bearer(token)).status == 404);  // other patient
  BOOST_TEST(server.Request("GET", "Observation/l1", "", Bearer(token)).status == 404);  // other category
  BOOST_TEST(server.Request("GET", "Patient/p2/Observation", "", Bearer(token)).status == 403);
}

BOOST_FIXTURE_TEST_CASE(GranularWritesMustStayInsideTheQuery, GranularFixture) {
  std::string token = SystemToken(std::string("system/Observation.cruds?category=") + kCategory + "|vital-signs");
  BOOST_TEST(server.Request("POST", "Observation", CategorisedObservation("n", "p1", "vital-signs"),
                            Bearer(token)).status == 201);
  HttpResult outside = server.Request("POST", "Observation", CategorisedObservation("n", "p1", "exam"),
                                      Bearer(token));
  BOOST_TEST(outside.status == 403);
  BOOST_TEST(outside.body.find("granular") != std::string::npos);
  // Moving a resource out of the query, or changing one outside it: both refused.
  BOOST_TEST(server.Request("PUT", "Observation/v1", CategorisedObservation("v1", "p1", "exam"),
                            Bearer(token)).status == 403);
  BOOST_TEST(server.Request("PUT", "Observation/e1", CategorisedObservation("e1", "p1", "vital-signs"),
                            Bearer(token)).status == 403);
  BOOST_TEST(server.Request("DELETE", "Observation/l1", "", Bearer(token)).status == 403);
  BOOST_TEST(server.Request("DELETE", "Observation/v2", "", Bearer(token)).status == 204);
  // A transaction is checked entry by entry.
  std::string bundle = R"({"resourceType":"Bundle","type":"transaction","entry":[{"resource":)" +
                       CategorisedObservation("t", "p1", "vital-signs") +
                       R"(,"request":{"method":"POST","url":"Observation"}},{"resource":)" +
                       CategorisedObservation("t2", "p1", "laboratory") +
                       R"(,"request":{"method":"POST","url":"Observation"}}]})";
  HttpResult tx = server.Request("POST", "", bundle, {{"Authorization", "Bearer " + token},
                                                      {"Content-Type", "application/fhir+json"}});
  BOOST_TEST(tx.status == 403);
  // Nothing of it was written: o1 o2 v1 l1 e1 and the vital sign created above.
  BOOST_TEST(Str(Json(server.Request("GET", "Observation?_summary=count", "",
                                     Bearer(SystemToken("system/Observation.rs")))), "total") == "6");
}

BOOST_FIXTURE_TEST_CASE(QueriesTheServerCannotEnforceAreNotGranted, GranularFixture) {
  for (const std::string& query : {std::string("category=") + kCategory + "|vital-signs&_sort=date",
                                   std::string("not-a-parameter=1"), std::string("subject.name=Tan"),
                                   std::string("_has:Observation:patient:code=1"), std::string("value-quantity=5"),
                                   std::string("")}) {
    std::string scope = "system/Observation.rs?" + query;
    BOOST_TEST(GrantedScope(*this, scope + " system/Patient.rs") == "system/Patient.rs", scope);
  }
  // Nor on the audit trail, which is not searched through the index.
  BOOST_TEST(GrantedScope(*this, "system/AuditEvent.rs?type=rest system/Patient.rs") == "system/Patient.rs");
}

// SMART EHR launch: a staff member starts an app from Fovea in a patient's (and encounter's)
// context; the app authorizes with `launch` and gets that context, for that person only.
struct LaunchFixture : Fixture {
  LaunchFixture() { Seed(); }
  HttpResult NewLaunch(const std::string& bearer, const std::string& body) {
    return server.Request("POST", "/auth/launch", body,
                          {{"Authorization", "Bearer " + bearer},
                           {"Content-Type", "application/x-www-form-urlencoded"}});
  }
  std::string LaunchValue(const std::string& bearer, const std::string& body) {
    HttpResult r = NewLaunch(bearer, body);
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
    BOOST_TEST(Str(Json(r), "iss") == kAud);
    return Str(Json(r), "launch");
  }
  // The app's side: authorize with `launch`, sign in as `user`, exchange the code.
  // Returns the login page's answer when it does not redirect, else the token response.
  HttpResult LaunchedApp(const std::string& launch, const std::string& user, const std::string& scope) {
    std::string verifier = fhir::auth::RandomToken(32);
    std::vector<std::pair<std::string, std::string>> params = {
        {"response_type", "code"}, {"client_id", "staff-console"}, {"redirect_uri", kRedirect},
        {"scope", scope},          {"state", "s1"},                {"aud", kAud},
        {"launch", launch},
        {"code_challenge", fhir::auth::Base64UrlEncode(fhir::auth::Sha256(verifier))},
        {"code_challenge_method", "S256"}};
    HttpResult page = server.Request("GET", "/auth/authorize?" + Form(params));
    if (page.status != 200) return page;
    BOOST_TEST(page.body.find("name=\"patient\"") == std::string::npos);  // the launch brings it
    BOOST_TEST(page.body.find("name=\"launch\"") != std::string::npos);   // carried to the POST
    params.emplace_back("username", user);
    params.emplace_back("password", "pass-" + user);
    params.emplace_back("patient", "p2");  // a patient field smuggled in does not override
    HttpResult login = PostForm("/auth/authorize", Form(params));
    if (login.status != 302) return login;
    std::string location = login.Header("Location");
    std::string code;
    for (auto& [k, v] : common::ParseQueryString(location.substr(location.find('?') + 1))) {
      if (k == "code") code = v;
    }
    return PostForm("/auth/token", Form({{"grant_type", "authorization_code"}, {"client_id", "staff-console"},
                                         {"redirect_uri", kRedirect}, {"code", code},
                                         {"code_verifier", verifier}}));
  }
};

BOOST_FIXTURE_TEST_CASE(AnEhrLaunchOpensTheAppInTheLaunchersContext, LaunchFixture) {
  std::string doctor = StaffToken("dr.okafor");
  std::string launch = LaunchValue(doctor, "patient=p1&encounter=Encounter/v7");
  HttpResult token = LaunchedApp(launch, "dr.okafor", "launch patient/Observation.rs openid fhirUser offline_access");
  BOOST_REQUIRE_MESSAGE(token.status == 200, token.body);
  JsonValue body = Json(token);
  BOOST_TEST(Str(body, "patient") == "p1");
  BOOST_TEST(Str(body, "encounter") == "v7");
  BOOST_TEST(Str(body, "need_patient_banner") == "true");
  BOOST_TEST(Str(body, "scope") == "patient/Observation.rs openid fhirUser offline_access launch");
  std::string access = Str(body, "access_token");
  BOOST_TEST(server.Request("GET", "Observation/o1", "", Bearer(access)).status == 200);
  BOOST_TEST(server.Request("GET", "Observation/o2", "", Bearer(access)).status == 404);
  // The context survives a refresh.
  HttpResult refreshed = PostForm("/auth/token", Form({{"grant_type", "refresh_token"},
                                                       {"client_id", "staff-console"},
                                                       {"refresh_token", Str(body, "refresh_token")}}));
  BOOST_REQUIRE_MESSAGE(refreshed.status == 200, refreshed.body);
  BOOST_TEST(Str(Json(refreshed), "patient") == "p1");
  BOOST_TEST(Str(Json(refreshed), "encounter") == "v7");
  // Introspection tells a resource server the context too.
  HttpResult introspected = server.Request("POST", "/auth/introspect", Form({{"token", access}}),
                                           {{"Authorization", "Bearer " + access},
                                            {"Content-Type", "application/x-www-form-urlencoded"}});
  BOOST_TEST(Str(Json(introspected), "encounter") == "v7");
}

BOOST_FIXTURE_TEST_CASE(ALaunchServesOnlyItsLauncherAndOnlyAsALaunch, LaunchFixture) {
  std::string doctor = StaffToken("dr.okafor");
  std::string launch = LaunchValue(doctor, "patient=p1");
  // Someone else signing in with it is refused on the login page.
  HttpResult other = LaunchedApp(launch, "tech.lee", "launch patient/Observation.rs");
  BOOST_TEST(other.status == 401);
  BOOST_TEST(other.body.find("another staff member") != std::string::npos);
  // Without the launch scope, or with a forged, altered or foreign value: no login page at all.
  BOOST_TEST(LaunchedApp(launch, "dr.okafor", "patient/Observation.rs").status == 400);
  std::string altered = launch;
  altered[altered.size() - 5] = altered[altered.size() - 5] == 'A' ? 'B' : 'A';
  BOOST_TEST(LaunchedApp(altered, "dr.okafor", "launch patient/Observation.rs").status == 400);
  BOOST_TEST(LaunchedApp(doctor, "dr.okafor", "launch patient/Observation.rs").status == 400);  // an access token
  BOOST_TEST(LaunchedApp("xyz", "dr.okafor", "launch patient/Observation.rs").status == 400);
  // And a launch value is no access token.
  BOOST_TEST(server.Request("GET", "Observation/o1", "", Bearer(launch)).status == 401);
}

BOOST_FIXTURE_TEST_CASE(OnlyStaffWhoMayReadThePatientCreateLaunches, LaunchFixture) {
  std::string doctor = StaffToken("dr.okafor");
  BOOST_TEST(server.Request("POST", "/auth/launch", "patient=p1",
                            {{"Content-Type", "application/x-www-form-urlencoded"}}).status == 401);
  BOOST_TEST(NewLaunch(SystemToken("system/*.rs"), "patient=p1").status == 403);  // not a person
  BOOST_TEST(NewLaunch(doctor, "patient=../p1").status == 400);
  BOOST_TEST(NewLaunch(doctor, "").status == 400);
  BOOST_TEST(NewLaunch(doctor, "patient=p1&encounter=a%20b").status == 400);
  BOOST_TEST(NewLaunch(StaffToken("dr.okafor", "user/Observation.rs"), "patient=p1").status == 403);
  BOOST_TEST(server.Request("GET", "/auth/launch", "", Bearer(doctor)).status == 405);
}

BOOST_AUTO_TEST_CASE(OnlyAuditorsReadTheAuditTrail) {
  std::string everything = SystemToken("system/*.cruds");
  BOOST_TEST(server.Request("GET", "AuditEvent", "", Bearer(everything)).status == 403);
  std::string auditor = SystemToken("system/AuditEvent.rs");
  BOOST_TEST(server.Request("GET", "AuditEvent", "", Bearer(auditor)).status == 200);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace

namespace {

BOOST_FIXTURE_TEST_SUITE(AuditTrail, Fixture)

BOOST_AUTO_TEST_CASE(ReadsWritesAndLoginsAreAudited) {
  Seed();
  std::string doctor = StaffToken("dr.okafor");
  HttpResult read = server.Request("GET", "Observation/o1", "", Bearer(doctor));
  BOOST_REQUIRE_EQUAL(read.status, 200);
  std::string request_id = read.Header("X-Request-Id");
  HttpResult created = server.Request(
      "POST", "Condition",
      R"({"resourceType":"Condition","subject":{"reference":"Patient/p1"},"code":{"text":"Myopia"}})",
      Bearer(doctor));
  BOOST_REQUIRE_EQUAL(created.status, 201);
  BOOST_TEST(server.Request("GET", "Observation/o1", "", Bearer("forged")).status == 401);
  server.audit()->Flush();

  std::string auditor = SystemToken("system/AuditEvent.rs system/Provenance.rs");
  // The read: who (the practitioner), what (the Observation), which patient, success.
  HttpResult reads = server.Request("GET", "AuditEvent?subtype=read&entity=Observation/o1", "",
                                    Bearer(auditor));
  BOOST_REQUIRE_EQUAL(reads.status, 200);
  BOOST_TEST(reads.body.find("Practitioner/dr.okafor") != std::string::npos);
  BOOST_TEST(reads.body.find("Patient/p1") != std::string::npos);
  BOOST_TEST(reads.body.find(request_id) != std::string::npos);
  // The write carries its Provenance, committed with it.
  std::string condition = Str(Json(created), "id");
  HttpResult provenance = server.Request("GET", "Provenance?target=Condition/" + condition, "",
                                         Bearer(auditor));
  BOOST_REQUIRE_EQUAL(provenance.status, 200);
  BOOST_TEST(EntryIds(provenance).size() == 1u);
  HttpResult create_events = server.Request(
      "GET", "AuditEvent?subtype=create&patient=Patient/p1", "", Bearer(auditor));
  BOOST_TEST(create_events.body.find("Condition/" + condition) != std::string::npos);
  // Logins (DICOM 110122) and rejected tokens are security events.
  HttpResult logins = server.Request("GET", "AuditEvent?subtype=110122&outcome=0", "",
                                     Bearer(auditor));
  BOOST_TEST(logins.body.find("dr.okafor") != std::string::npos);
  HttpResult failures = server.Request("GET", "AuditEvent?subtype=110122&outcome=4", "",
                                       Bearer(auditor));
  BOOST_TEST(!EntryIds(failures).empty());
}

BOOST_AUTO_TEST_CASE(TransactionsAreCheckedPerEntryAndAuditedOnce) {
  Seed();
  const std::string bundle = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"fullUrl":"urn:uuid:5d1c0000-0000-4000-8000-0000000000e1","resource":{"resourceType":"Encounter",
      "status":"in-progress","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"FLD"},
      "subject":{"reference":"Patient/p1"}},"request":{"method":"POST","url":"Encounter"}},
    {"resource":{"resourceType":"Observation","status":"final","code":{"text":"VA"},
      "subject":{"reference":"Patient/p1"},"encounter":{"reference":"urn:uuid:5d1c0000-0000-4000-8000-0000000000e1"}},
     "request":{"method":"POST","url":"Observation"}}]})";
  // A token that may create Encounters but not Observations: refused, entry named, nothing written.
  HttpResult narrow = server.Request("POST", "", bundle, Bearer(SystemToken("system/Encounter.c")));
  BOOST_TEST(narrow.status == 403, narrow.body);
  BOOST_TEST(narrow.body.find("Entry 1") != std::string::npos, narrow.body);
  std::string reader = SystemToken("system/Encounter.rs system/Observation.rs");
  BOOST_TEST(EntryIds(server.Request("GET", "Encounter", "", Bearer(reader))).empty());
  // A patient-level token writes within its own compartment only.
  std::string own = AuthorizationCodeToken(
      "patient/Encounter.c patient/Observation.c launch/patient", "p2");
  HttpResult elsewhere = server.Request("POST", "", bundle, Bearer(own));
  BOOST_TEST(elsewhere.status == 403, elsewhere.body);
  // A van's one-person check-in and acuity station (registration and technician roles) writes
  // it: one AuditEvent for the transaction naming both versions, and a Provenance for both.
  AddUser("van.staff", {"registration", "technician"});
  HttpResult ok = server.Request("POST", "", bundle, Bearer(StaffToken("van.staff")));
  BOOST_REQUIRE_MESSAGE(ok.status == 200, ok.body);
  server.audit()->Flush();
  std::string auditor = SystemToken("system/AuditEvent.rs system/Provenance.rs");
  HttpResult events = server.Request("GET", "AuditEvent?subtype=transaction&patient=Patient/p1", "",
                                     Bearer(auditor));
  BOOST_REQUIRE_EQUAL(events.status, 200);
  BOOST_TEST(EntryIds(events).size() == 1u, events.body);
  BOOST_TEST(events.body.find("Practitioner/van.staff") != std::string::npos);
  JsonValue answer = Json(ok);
  for (const JsonValue& entry : answer.Find("entry")->items()) {
    std::string location = entry.Find("response")->Find("location")->scalar();
    BOOST_TEST(events.body.find(location) != std::string::npos, location);
    HttpResult provenance = server.Request(
        "GET", "Provenance?target=" + location.substr(0, location.find("/_history")), "",
        Bearer(auditor));
    BOOST_TEST(EntryIds(provenance).size() == 1u, provenance.body);
  }
}

// Ids of the reserved form are never a client's: no client may write one, in either mode.
BOOST_AUTO_TEST_CASE(DerivedProvenanceIdsAreReserved) {
  std::string writer = SystemToken("system/Provenance.cruds");
  const std::string body = R"({"resourceType":"Provenance","id":"audit-1-create",
    "target":[{"reference":"Patient/p1"}],"recorded":"2026-01-01T00:00:00Z",
    "agent":[{"who":{"display":"x"}}]})";
  BOOST_TEST(server.Request("PUT", "Provenance/audit-1-create", body, Bearer(writer)).status == 405);
  BOOST_TEST(server.Request("DELETE", "Provenance/audit-1-create", "", Bearer(writer)).status == 405);
  HttpResult in_bundle = server.Request(
      "POST", "",
      R"({"resourceType":"Bundle","type":"transaction","entry":[{"resource":)" + body +
          R"(,"request":{"method":"PUT","url":"Provenance/audit-1-create"}}]})",
      Bearer(writer));
  BOOST_TEST(in_bundle.status == 405, in_bundle.body);
  // Stored mode: no such Provenance is served either.
  BOOST_TEST(server.Request("GET", "Provenance/audit-1-create", "", Bearer(writer)).status == 404);
}

BOOST_AUTO_TEST_CASE(TheAuditTrailIsReadOnlyAndPaged) {
  Seed();
  std::string doctor = StaffToken("dr.okafor");
  for (int i = 0; i < 5; ++i) {
    BOOST_REQUIRE_EQUAL(server.Request("GET", "Patient/p1", "", Bearer(doctor)).status, 200);
  }
  server.audit()->Flush();
  std::string auditor = SystemToken("system/AuditEvent.rs");
  // Written by the server only.
  HttpResult post = server.Request("POST", "AuditEvent", R"({"resourceType":"AuditEvent"})",
                                   Bearer(SystemToken("system/AuditEvent.cruds")));
  BOOST_TEST(post.status == 405);
  // Paging through the reads of Patient/p1, newest first, without duplicates.
  std::set<std::string> seen;
  std::string next = "AuditEvent?entity=Patient/p1&subtype=read&_count=2";
  int pages = 0;
  while (!next.empty() && pages < 10) {
    HttpResult page = server.Request("GET", next, "", Bearer(auditor));
    BOOST_REQUIRE_EQUAL(page.status, 200);
    for (const std::string& id : EntryIds(page)) BOOST_TEST(seen.insert(id).second, id);
    next.clear();
    JsonValue bundle = Json(page);
    if (const JsonValue* links = bundle.Find("link")) {
      for (const JsonValue& l : links->items()) {
        if (Str(l, "relation") == "next") {
          std::string url = Str(l, "url");
          next = url.substr(url.find("/fhir/R4/") + 9);
        }
      }
    }
    ++pages;
  }
  BOOST_TEST(seen.size() == 5u);
  // Each is readable on its own, as version 1.
  std::string id = seen.begin()->substr(std::string("AuditEvent/").size());
  HttpResult one = server.Request("GET", "AuditEvent/" + id, "", Bearer(auditor));
  BOOST_REQUIRE_EQUAL(one.status, 200);
  BOOST_TEST(Str(Json(one), "id") == id);
  BOOST_TEST(server.Request("GET", "AuditEvent/" + id + "/_history/1", "", Bearer(auditor)).status ==
             200);
  BOOST_TEST(server.Request("GET", "AuditEvent/999999999", "", Bearer(auditor)).status == 404);
  // Only auditors: the doctor may not look at the trail.
  BOOST_TEST(server.Request("GET", "AuditEvent/" + id, "", Bearer(doctor)).status == 403);
  // The CapabilityStatement says so.
  HttpResult metadata = server.Request("GET", "metadata");
  BOOST_TEST(metadata.body.find(R"("type":"AuditEvent","documentation")") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(DateFiltersAndStrictHandling) {
  std::string auditor = SystemToken("system/AuditEvent.rs");
  server.audit()->Flush();
  HttpResult future = server.Request("GET", "AuditEvent?date=gt2999-01-01", "", Bearer(auditor));
  BOOST_REQUIRE_EQUAL(future.status, 200);
  BOOST_TEST(EntryIds(future).empty());
  HttpResult today = server.Request("GET", "AuditEvent?date=ge2000-01-01&_count=100", "",
                                    Bearer(auditor));
  BOOST_TEST(!EntryIds(today).empty());  // at least the token request just made
  HttpResult unknown = server.Request("GET", "AuditEvent?policy=x", "",
                                      {{"Authorization", "Bearer " + auditor},
                                       {"Prefer", "handling=strict"}});
  BOOST_TEST(unknown.status == 400);
  BOOST_TEST(server.Request("GET", "AuditEvent?date=yesterday", "",
                            {{"Authorization", "Bearer " + auditor},
                             {"Prefer", "handling=strict"}})
                 .status == 400);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace

namespace {

BOOST_AUTO_TEST_SUITE(RateLimits)

BOOST_AUTO_TEST_CASE(EachClientHasItsOwnBucket) {
  fhir::rest::ServiceOptions options;
  options.rate_limit = {0.5, 3};  // 3 at once, then one every 2 s
  Fixture f(options);
  std::string tech = f.StaffToken("tech.lee");
  std::string doctor = f.StaffToken("dr.okafor");
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(f.server.Request("GET", "Patient", "", Bearer(tech)).status == 200);
  }
  HttpResult throttled = f.server.Request("GET", "Patient", "", Bearer(tech));
  BOOST_TEST(throttled.status == 429);
  BOOST_TEST(!throttled.Header("Retry-After").empty());
  BOOST_TEST(throttled.body.find("throttled") != std::string::npos);
  BOOST_TEST(f.server.Request("GET", "Patient", "", Bearer(doctor)).status == 200);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace

namespace {

BOOST_AUTO_TEST_SUITE(CrossOrigin)

BOOST_AUTO_TEST_CASE(OnlyConfiguredOriginsMayCallFromABrowser) {
  fhir::rest::HttpServerOptions http = Https();
  http.cors_origins = {"https://apps.example"};
  TestServer server(TestServer::Secured{}, http);  // no accounts needed
  HttpResult preflight = server.Request("OPTIONS", "/auth/token", "",
                                        {{"Origin", "https://apps.example"},
                                         {"Access-Control-Request-Method", "POST"},
                                         {"Access-Control-Request-Headers", "content-type"}});
  BOOST_TEST(preflight.status == 204);
  BOOST_TEST(preflight.Header("Access-Control-Allow-Origin") == "https://apps.example");
  BOOST_TEST(preflight.Header("Access-Control-Allow-Methods").find("POST") != std::string::npos);
  BOOST_TEST(preflight.Header("Access-Control-Allow-Credentials").empty());
  HttpResult read = server.Request("GET", "metadata", "", {{"Origin", "https://apps.example"}});
  BOOST_TEST(read.Header("Access-Control-Allow-Origin") == "https://apps.example");
  BOOST_TEST(read.Header("Access-Control-Expose-Headers").find("ETag") != std::string::npos);
  HttpResult other = server.Request("OPTIONS", "Patient", "",
                                    {{"Origin", "https://apps.example.evil"},
                                     {"Access-Control-Request-Method", "GET"}});
  BOOST_TEST(other.status == 403);
  BOOST_TEST(other.Header("Access-Control-Allow-Origin").empty());
  BOOST_TEST(server.Request("GET", "metadata", "", {{"Origin", "null"}})
                 .Header("Access-Control-Allow-Origin")
                 .empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace

namespace {

// The service options of a server whose writes' Provenance lives in `storage` (--provenance).
fhir::rest::ServiceOptions ProvenanceIn(fhir::audit::ProvenanceStorage storage) {
  fhir::rest::ServiceOptions options;
  options.provenance = storage;
  return options;
}

// --provenance audit-trail (the default, set here explicitly): a write stores no Provenance
// resource; its AuditEvent row is read back as Provenance/audit-<seq>-<activity>.
struct AuditTrailProvenance : Fixture {
  AuditTrailProvenance() : Fixture(ProvenanceIn(fhir::audit::ProvenanceStorage::kAuditTrail)) {}
  // A doctor's diagnosis for Patient/p1 (201 required).
  HttpResult CreateCondition(const std::string& token) {
    HttpResult created = server.Request(
        "POST", "Condition",
        R"({"resourceType":"Condition","subject":{"reference":"Patient/p1"},"code":{"text":"Myopia"}})",
        Bearer(token));
    BOOST_REQUIRE_EQUAL(created.status, 201);
    return created;
  }
  // A Provenance a client posts about `target` (recorded 2020), stored as any resource:
  // "Provenance/<id>".
  std::string PostProvenance(const std::string& token, const std::string& target) {
    HttpResult posted = server.Request(
        "POST", "Provenance",
        R"({"resourceType":"Provenance","target":[{"reference":")" + target +
            R"("}],"recorded":"2020-01-01T00:00:00Z","agent":[{"who":{"display":"Hospital EHR"}}]})",
        Bearer(token));
    BOOST_REQUIRE_MESSAGE(posted.status == 201, posted.body);
    return "Provenance/" + Str(Json(posted), "id");
  }
  // The seq of the write AuditEvent naming `entity` (the only one).
  std::string WriteEventId(const std::string& auditor, const std::string& entity,
                           const std::string& subtype) {
    HttpResult events = server.Request("GET", "AuditEvent?subtype=" + subtype + "&entity=" + entity,
                                       "", Bearer(auditor));
    BOOST_REQUIRE_MESSAGE(events.status == 200, entity + " " + events.body);
    std::vector<std::string> ids = EntryIds(events);
    BOOST_REQUIRE_MESSAGE(ids.size() == 1u, events.body);
    return ids[0].substr(std::string("AuditEvent/").size());
  }
};

BOOST_FIXTURE_TEST_SUITE(ProvenanceFromTheAuditTrail, AuditTrailProvenance)

BOOST_AUTO_TEST_CASE(AWriteIsReadBackAsItsProvenance) {
  Seed();
  std::string doctor = StaffToken("dr.okafor");
  HttpResult created = CreateCondition(doctor);
  const std::string condition = "Condition/" + Str(Json(created), "id");
  std::string auditor = SystemToken("system/AuditEvent.rs system/Provenance.rs");
  const std::string seq = WriteEventId(auditor, condition, "create");
  // No Provenance resource was stored with it: the one search finds is the derived one.
  const std::vector<std::string> all = EntryIds(server.Request("GET", "Provenance", "", Bearer(auditor)));
  BOOST_TEST(std::count(all.begin(), all.end(), "Provenance/audit-" + seq + "-create") == 1);
  for (const std::string& p : all) BOOST_TEST(p.rfind("Provenance/audit-", 0) == 0u, p);
  HttpResult provenance =
      server.Request("GET", "Provenance/audit-" + seq + "-create", "", Bearer(auditor));
  BOOST_REQUIRE_MESSAGE(provenance.status == 200, provenance.body);
  JsonValue p = Json(provenance);
  BOOST_TEST(Str(p, "id") == "audit-" + seq + "-create");
  BOOST_TEST(p.Find("target")->items()[0].Find("reference")->scalar() == condition + "/_history/1");
  BOOST_TEST(p.Find("activity")->Find("coding")->items()[0].Find("code")->scalar() == "CREATE");
  BOOST_TEST(provenance.body.find("Practitioner/dr.okafor") != std::string::npos, provenance.body);
  BOOST_TEST(provenance.body.find(created.Header("X-Request-Id")) != std::string::npos);
  BOOST_TEST(provenance.Header("ETag") == "W/\"1\"");
  BOOST_TEST(server.Request("GET", "Provenance/audit-" + seq + "-create/_history/1", "", Bearer(auditor))
                 .status == 200);
  BOOST_TEST(server.Request("GET", "Provenance/audit-" + seq + "-create/_history/2", "", Bearer(auditor))
                 .status == 404);
  // Another activity of the same row, or a row that is not a write's: not known.
  BOOST_TEST(server.Request("GET", "Provenance/audit-" + seq + "-update", "", Bearer(auditor)).status == 404);
  HttpResult read = server.Request("GET", condition, "", Bearer(doctor));
  BOOST_REQUIRE_EQUAL(read.status, 200);
  server.audit()->Flush();
  HttpResult reads = server.Request("GET", "AuditEvent?subtype=read&entity=" + condition, "", Bearer(auditor));
  for (const std::string& id : EntryIds(reads)) {
    const std::string read_seq = id.substr(std::string("AuditEvent/").size());
    BOOST_TEST(server.Request("GET", "Provenance/audit-" + read_seq + "-create", "", Bearer(auditor))
                   .status == 404);
  }
  // Read-only, and only for who may read Provenance.
  BOOST_TEST(server.Request("DELETE", "Provenance/audit-" + seq + "-create", "", Bearer(auditor)).status == 405);
  BOOST_TEST(server.Request("GET", "Provenance/audit-" + seq + "-create", "",
                            Bearer(SystemToken("system/Condition.rs")))
                 .status == 403);
}

BOOST_AUTO_TEST_CASE(ATransactionGivesOneProvenancePerKindOfChange) {
  Seed();
  AddUser("van.staff", {"registration", "technician"});
  std::string staff = StaffToken("van.staff");
  HttpResult encounter = server.Request(
      "POST", "Encounter",
      R"({"resourceType":"Encounter","status":"planned","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"FLD"},"subject":{"reference":"Patient/p1"}})",
      Bearer(staff));
  BOOST_REQUIRE_EQUAL(encounter.status, 201);
  const std::string encounter_id = Str(Json(encounter), "id");
  const std::string bundle = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"resource":{"resourceType":"Encounter","id":")" + encounter_id + R"(","status":"in-progress",
      "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"FLD"},
      "subject":{"reference":"Patient/p1"}},"request":{"method":"PUT","url":"Encounter/)" + encounter_id + R"("}},
    {"resource":{"resourceType":"Observation","status":"final","code":{"text":"VA"},
      "subject":{"reference":"Patient/p1"}},"request":{"method":"POST","url":"Observation"}}]})";
  HttpResult ok = server.Request("POST", "", bundle, Bearer(staff));
  BOOST_REQUIRE_MESSAGE(ok.status == 200, ok.body);
  std::string auditor = SystemToken("system/AuditEvent.rs system/Provenance.rs");
  std::vector<std::string> locations;
  const JsonValue answer = Json(ok);
  for (const JsonValue& entry : answer.Find("entry")->items()) {
    locations.push_back(entry.Find("response")->Find("location")->scalar());
  }
  BOOST_REQUIRE(locations.size() == 2u);
  // The transaction's AuditEvent is found by either resource (its targets).
  const std::string observation = locations[1].substr(0, locations[1].find("/_history"));
  const std::string seq = WriteEventId(auditor, observation, "transaction");
  BOOST_TEST(WriteEventId(auditor, "Encounter/" + encounter_id, "transaction") == seq);
  HttpResult updated = server.Request("GET", "Provenance/audit-" + seq + "-update", "", Bearer(auditor));
  BOOST_REQUIRE_MESSAGE(updated.status == 200, updated.body);
  BOOST_TEST(updated.body.find(locations[0]) != std::string::npos, updated.body);
  BOOST_TEST(updated.body.find(locations[1]) == std::string::npos, updated.body);
  HttpResult created = server.Request("GET", "Provenance/audit-" + seq + "-create", "", Bearer(auditor));
  BOOST_REQUIRE_MESSAGE(created.status == 200, created.body);
  BOOST_TEST(created.body.find(locations[1]) != std::string::npos, created.body);
  BOOST_TEST(server.Request("GET", "Provenance/audit-" + seq + "-delete", "", Bearer(auditor)).status == 404);
}

// Search finds the derived Provenances with the stored ones (a client's), merged and paged.
BOOST_AUTO_TEST_CASE(SearchAndRevincludeFindBothKinds) {
  Seed();
  Put(SystemToken("system/*.cruds"), "Practitioner/dr.okafor",
      R"({"resourceType":"Practitioner","id":"dr.okafor"})");
  std::string doctor = StaffToken("dr.okafor");
  HttpResult created = CreateCondition(doctor);
  const std::string id = Str(Json(created), "id");
  const std::string condition = "Condition/" + id;
  std::string auditor = SystemToken("system/AuditEvent.rs system/Provenance.cruds");
  const std::string derived = "Provenance/audit-" + WriteEventId(auditor, condition, "create") + "-create";
  // A Provenance a client posts about the same resource.
  const std::string stored = PostProvenance(auditor, condition);

  HttpResult both = server.Request("GET", "Provenance?target=" + condition, "", Bearer(auditor));
  BOOST_REQUIRE_EQUAL(both.status, 200);
  std::vector<std::string> expected{derived, stored};
  std::sort(expected.begin(), expected.end());
  BOOST_TEST(EntryIds(both) == expected, both.body);
  BOOST_TEST(EntryIds(server.Request("GET", "Provenance?agent=Practitioner/dr.okafor", "", Bearer(auditor))) ==
             std::vector<std::string>{derived});
  BOOST_TEST(EntryIds(server.Request("GET", "Provenance?target=Condition/other", "", Bearer(auditor))).empty());
  for (const std::string& one : {derived, stored}) {
    const std::string by_id = "Provenance?_id=" + one.substr(std::string("Provenance/").size());
    BOOST_TEST(EntryIds(server.Request("GET", by_id, "", Bearer(auditor))) == std::vector<std::string>{one}, by_id);
  }
  HttpResult count = server.Request("GET", "Provenance?target=" + condition + "&_summary=count", "",
                                    Bearer(auditor));
  BOOST_TEST(Json(count).Find("total")->scalar() == "2", count.body);
  // One per page, oldest recorded first: the client's (2020), then the write's; no repeats.
  std::vector<std::string> paged;
  std::string next = "Provenance?target=" + condition + "&_sort=recorded&_count=1";
  for (int pages = 0; !next.empty() && pages < 5; ++pages) {
    HttpResult page = server.Request("GET", next, "", Bearer(auditor));
    BOOST_REQUIRE_MESSAGE(page.status == 200, page.body);
    for (const std::string& e : EntryIds(page)) paged.push_back(e);
    next.clear();
    const JsonValue bundle = Json(page);
    for (const JsonValue& link : bundle.Find("link")->items()) {
      if (Str(link, "relation") == "next") next = Str(link, "url").substr(server.base().size() + 1);
    }
  }
  BOOST_TEST(paged == (std::vector<std::string>{stored, derived}), boost::test_tools::per_element());
  HttpResult newest = server.Request("GET", "Provenance?target=" + condition + "&_sort=-recorded&_count=1", "",
                                     Bearer(auditor));
  BOOST_TEST(EntryIds(newest) == std::vector<std::string>{derived}, newest.body);
  BOOST_TEST(server.Request("GET", "Provenance?target=" + condition + "&_cursor=pm1|x", "", Bearer(auditor))
                 .status == 400);
  BOOST_TEST(server.Request("GET", "Provenance?_sort=_id", "", Bearer(auditor)).status >= 400);
  // _revinclude from the Condition brings both.
  HttpResult with = server.Request("GET", "Condition?_id=" + id + "&_revinclude=Provenance:target", "",
                                   Bearer(doctor));
  BOOST_REQUIRE_EQUAL(with.status, 200);
  BOOST_TEST(with.body.find(derived.substr(std::string("Provenance/").size())) != std::string::npos, with.body);
  BOOST_TEST(with.body.find(stored.substr(std::string("Provenance/").size())) != std::string::npos, with.body);
  // _include from the derived one (the stored one names the same Condition): included once.
  HttpResult included = server.Request(
      "GET", "Provenance?_id=" + derived.substr(std::string("Provenance/").size()) +
                 "&_include=Provenance:target&_include=Provenance:agent",
      "", Bearer(doctor));
  BOOST_REQUIRE_EQUAL(included.status, 200);
  BOOST_TEST(EntryIds(included) == (std::vector<std::string>{condition, "Practitioner/dr.okafor", derived}),
             included.body);
  // :iterate: the author of the Condition's derived Provenance, and the Provenance of a
  // revincluded Condition; without :iterate neither (those includes start from the matches).
  HttpResult author = server.Request(
      "GET", "Condition?_id=" + id + "&_revinclude=Provenance:target&_include:iterate=Provenance:agent", "",
      Bearer(doctor));
  BOOST_REQUIRE_MESSAGE(author.status == 200, author.body);
  std::vector<std::string> author_ids = EntryIds(author);
  BOOST_TEST(std::count(author_ids.begin(), author_ids.end(), "Practitioner/dr.okafor") == 1, author.body);
  BOOST_TEST(std::count(author_ids.begin(), author_ids.end(), derived) == 1, author.body);
  author_ids = EntryIds(server.Request(
      "GET", "Condition?_id=" + id + "&_revinclude=Provenance:target&_include=Provenance:agent", "", Bearer(doctor)));
  BOOST_TEST(std::count(author_ids.begin(), author_ids.end(), "Practitioner/dr.okafor") == 0);
  HttpResult chain = server.Request(
      "GET", "Patient?_id=p1&_revinclude=Condition:subject&_revinclude:iterate=Provenance:target", "",
      Bearer(doctor));
  BOOST_REQUIRE_MESSAGE(chain.status == 200, chain.body);
  std::vector<std::string> chain_ids = EntryIds(chain);
  BOOST_TEST(std::count(chain_ids.begin(), chain_ids.end(), condition) == 1, chain.body);
  BOOST_TEST(std::count(chain_ids.begin(), chain_ids.end(), derived) == 1, chain.body);
  BOOST_TEST(std::count(chain_ids.begin(), chain_ids.end(), stored) == 1, chain.body);
  chain_ids = EntryIds(server.Request(
      "GET", "Patient?_id=p1&_revinclude=Condition:subject&_revinclude=Provenance:target:Condition", "",
      Bearer(doctor)));
  // Restricted to Condition targets, it reaches no Provenance from the matched Patient either.
  BOOST_TEST(std::none_of(chain_ids.begin(), chain_ids.end(),
                          [](const std::string& e) { return e.rfind("Provenance/", 0) == 0u; }),
             chain_ids.size());

  // System-level search: with Provenance among the types, both kinds; without, neither.
  std::string everything = SystemToken("system/*.rs");
  HttpResult system = server.Request("GET", "?_type=Provenance,Condition&_count=50", "", Bearer(everything));
  BOOST_REQUIRE_MESSAGE(system.status == 200, system.body);
  const std::vector<std::string> listed = EntryIds(system);
  for (const std::string& one : {condition, derived, stored}) {
    BOOST_TEST(std::count(listed.begin(), listed.end(), one) == 1, one);
  }
  for (const std::string& one : listed) {
    BOOST_TEST((one.rfind("Provenance/", 0) == 0u || one.rfind("Condition/", 0) == 0u), one);
  }
  // Full text across types: the derived side cannot match it, so the generic search answers.
  BOOST_TEST(server.Request("GET", "?_content=Myopia", "", Bearer(everything)).status == 200);
  HttpResult conditions = server.Request("GET", "?_type=Condition", "", Bearer(everything));
  BOOST_TEST(EntryIds(conditions) == std::vector<std::string>{condition}, conditions.body);
  // A chain is resolved to the resources it names, then both kinds are matched.
  for (const std::string& chain : {std::string("target:Condition.subject=Patient/p1"), "target:Condition._id=" + id,
                                    std::string("target:Condition.subject:Patient.name=Tan")}) {
    HttpResult chained = server.Request("GET", "Provenance?" + chain, "", Bearer(everything));
    BOOST_TEST(EntryIds(chained) == expected, chain + " " + chained.body);
  }
  HttpResult unchained =
      server.Request("GET", "Provenance?target:Condition.subject=Patient/p2&_total=accurate", "", Bearer(everything));
  BOOST_REQUIRE_MESSAGE(unchained.status == 200, unchained.body);
  BOOST_TEST(EntryIds(unchained).empty(), unchained.body);
  BOOST_TEST(Json(unchained).Find("total")->scalar() == "0", unchained.body);
  // What memory matching cannot answer is refused, not answered wrongly: _has into Provenance,
  // from Provenance or from another type (the index has the stored ones only).
  HttpResult reverse = server.Request("GET", "Provenance?_has:AuditEvent:entity:type=x", "", Bearer(everything));
  BOOST_TEST(reverse.status >= 400, reverse.body);
  HttpResult has = server.Request("GET", "Condition?_has:Provenance:target:agent=Practitioner/dr.okafor", "",
                                  Bearer(SystemToken("system/*.rs")));
  BOOST_TEST(has.status == 501, has.body);
  BOOST_TEST(has.body.find("audit-trail") != std::string::npos, has.body);
}

// History: the derived Provenances join Provenance/_history and the system history where a
// stored one would have been, in time order, paged with no repeat and no gap.
BOOST_AUTO_TEST_CASE(HistoryHasTheDerivedProvenances) {
  Seed();
  std::string doctor = StaffToken("dr.okafor");
  const std::string condition = "Condition/" + Str(Json(CreateCondition(doctor)), "id");
  const std::string second = "Condition/" + Str(Json(CreateCondition(doctor)), "id");
  HttpResult updated = server.Request(
      "PUT", second,
      R"({"resourceType":"Condition","id":")" + second.substr(10) +
          R"(","subject":{"reference":"Patient/p1"},"code":{"text":"Hyperopia"}})",
      Bearer(doctor));
  BOOST_REQUIRE_MESSAGE(updated.status == 200, updated.body);
  std::string auditor = SystemToken("system/AuditEvent.rs system/Provenance.cruds");
  const std::string stored = PostProvenance(auditor, condition);
  std::vector<std::string> derived = {
      "Provenance/audit-" + WriteEventId(auditor, condition, "create") + "-create",
      "Provenance/audit-" + WriteEventId(auditor, second, "create") + "-create",
      "Provenance/audit-" + WriteEventId(auditor, second, "update") + "-update"};

  // Every page's entries in order, following the next links, with their lastUpdated.
  using Entries = std::vector<std::pair<std::string, std::string>>;
  auto walk = [&](std::string next, const std::string& token) {
    Entries entries;
    for (int pages = 0; !next.empty(); ++pages) {
      BOOST_REQUIRE_MESSAGE(pages < 40, "no end to the paging");
      HttpResult page = server.Request("GET", next, "", Bearer(token));
      BOOST_REQUIRE_MESSAGE(page.status == 200, next + " " + page.body);
      const JsonValue bundle = Json(page);
      BOOST_TEST(Str(bundle, "type") == "history");
      if (const JsonValue* list = bundle.Find("entry")) {
        for (const JsonValue& e : list->items()) {
          const JsonValue* res = e.Find("resource");
          if (res == nullptr) continue;  // a deletion
          entries.emplace_back(Str(*res, "resourceType") + "/" + Str(*res, "id"),
                               res->Find("meta")->Find("lastUpdated")->scalar());
        }
      }
      next.clear();
      for (const JsonValue& link : bundle.Find("link")->items()) {
        if (Str(link, "relation") == "next") next = Str(link, "url").substr(server.base().size() + 1);
      }
    }
    return entries;
  };
  auto ids_of = [](const Entries& entries) {
    std::vector<std::string> ids;
    for (const auto& [id, at] : entries) ids.push_back(id);
    return ids;
  };
  auto newest_first = [](const Entries& entries) {
    for (std::size_t i = 1; i < entries.size(); ++i) {
      // Instants in Z with the same precision order as text.
      BOOST_TEST(entries[i - 1].second >= entries[i].second, entries[i - 1].first + " " + entries[i].first);
    }
  };

  // Provenances are never updated here: their history lists what a search finds (Seed's
  // writes have theirs too), each once.
  const Entries provenances = walk("Provenance/_history?_count=1", auditor);
  std::vector<std::string> expected = derived;
  expected.push_back(stored);
  std::vector<std::string> got = ids_of(provenances);
  std::sort(got.begin(), got.end());
  BOOST_TEST(got == EntryIds(server.Request("GET", "Provenance?_count=100", "", Bearer(auditor))),
             boost::test_tools::per_element());
  for (const std::string& one : expected) BOOST_TEST(std::count(got.begin(), got.end(), one) == 1, one);
  newest_first(provenances);
  BOOST_TEST(ids_of(walk("Provenance/_history?_count=2", auditor)) == ids_of(provenances),
             boost::test_tools::per_element());
  // _since the second Condition's update: its derived Provenance and nothing older.
  const std::string since = Json(updated).Find("meta")->Find("lastUpdated")->scalar();
  const Entries recent = walk("Provenance/_history?_since=" + fhir::rest::UrlEncode(since), auditor);
  const std::vector<std::string> recent_ids = ids_of(recent);
  BOOST_TEST(std::count(recent_ids.begin(), recent_ids.end(), derived[2]) == 1);
  for (const auto& [id, at] : recent) BOOST_TEST(at >= since, id);

  // The system history: every version and every derived Provenance, once each, newest first.
  std::string everything = SystemToken("system/*.rs");
  const Entries all = walk("_history?_count=3", everything);
  const std::vector<std::string> all_ids = ids_of(all);
  for (const std::string& one : expected) {
    BOOST_TEST(std::count(all_ids.begin(), all_ids.end(), one) == 1, one);
  }
  BOOST_TEST(std::count(all_ids.begin(), all_ids.end(), second) == 2);  // created, updated
  newest_first(all);
  BOOST_TEST(ids_of(walk("_history?_count=50", everything)) == all_ids, boost::test_tools::per_element());

  // A derived Provenance's own history: its one version.
  HttpResult own = server.Request("GET", derived[2] + "/_history", "", Bearer(auditor));
  BOOST_REQUIRE_MESSAGE(own.status == 200, own.body);
  BOOST_TEST(EntryIds(own) == std::vector<std::string>{derived[2]}, own.body);
  BOOST_TEST(server.Request("GET", "Provenance/audit-999999-create/_history", "", Bearer(auditor)).status == 404);
  // Other types' histories have none, nor has the system history for a token that may not read
  // Provenance.
  for (const auto& [id, at] : walk("Condition/_history", everything)) BOOST_TEST(id.rfind("Condition/", 0) == 0u, id);
  for (const auto& [id, at] : walk("_history", SystemToken("system/Condition.rs"))) {
    BOOST_TEST(id.rfind("Condition/", 0) == 0u, id);
  }
  BOOST_TEST(server.Request("GET", "Provenance/_history?_before_audit=x", "", Bearer(auditor)).status == 400);
}

// A derived Provenance has no change-log event: a Subscription on Provenance would miss every
// write's, so it is refused, saying why; one on the resources themselves is not.
BOOST_AUTO_TEST_CASE(SubscriptionsOnProvenanceAreRefused) {
  Seed();
  std::string admin = SystemToken("system/*.cruds");
  auto subscribe = [&](const std::string& criteria) {
    return server.Request("POST", "Subscription",
                          R"({"resourceType":"Subscription","status":"requested","reason":"audit",
                              "criteria":")" + criteria + R"(","channel":{"type":"websocket"}})",
                          Bearer(admin));
  };
  HttpResult refused = subscribe("Provenance?agent=Practitioner/dr.okafor");
  BOOST_TEST(refused.status == 400, refused.body);
  BOOST_TEST(refused.body.find("--provenance audit-trail") != std::string::npos, refused.body);
  HttpResult accepted = subscribe("Condition?subject=Patient/p1");
  BOOST_TEST(accepted.status == 201, accepted.body);
}

// $start-screening writes a session (an Encounter and its Tasks) in one transaction: its
// AuditEvent commits with it, naming every resource, and is their Provenance; no second
// AuditEvent is recorded for the operation, and no Provenance resource is stored.
BOOST_AUTO_TEST_CASE(AScreeningSessionStartIsAuditedWithItsWrites) {
  Seed();
  AddUser("van.reg", {"registration"});
  Put(SystemToken("system/*.cruds"), "Location/van7",
      R"({"resourceType":"Location","id":"van7","status":"active","name":"Van 7"})");
  Headers headers = Bearer(StaffToken("van.reg"));
  headers.emplace_back("Content-Type", "application/fhir+json");
  HttpResult started = server.Request(
      "POST", "Encounter/$start-screening",
      R"({"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{"reference":"Patient/p1"}},
          {"name":"location","valueReference":{"reference":"Location/van7"}}]})",
      headers);
  BOOST_REQUIRE_MESSAGE(started.status == 201, started.body);
  std::vector<std::string> written;
  const JsonValue bundle = Json(started);
  for (const JsonValue& e : bundle.Find("entry")->items()) {
    written.push_back(Str(*e.Find("resource"), "resourceType") + "/" + Str(*e.Find("resource"), "id"));
  }
  BOOST_REQUIRE(written.size() > 2u);
  BOOST_REQUIRE(written[0].rfind("Encounter/", 0) == 0u);
  std::string auditor = SystemToken("system/AuditEvent.rs system/Provenance.rs");
  const std::string seq = WriteEventId(auditor, written[0], "operation");
  for (const std::string& one : written) BOOST_TEST(WriteEventId(auditor, one, "operation") == seq, one);
  server.audit()->Flush();
  BOOST_TEST(EntryIds(server.Request("GET", "AuditEvent?subtype=operation", "", Bearer(auditor))) ==
             std::vector<std::string>{"AuditEvent/" + seq});
  HttpResult provenance = server.Request("GET", "Provenance/audit-" + seq + "-create", "", Bearer(auditor));
  BOOST_REQUIRE_MESSAGE(provenance.status == 200, provenance.body);
  for (const std::string& one : written) {
    BOOST_TEST(provenance.body.find(one + "/_history/1") != std::string::npos, one);
  }
  BOOST_TEST(EntryIds(server.Request("GET", "Provenance?target=" + written[0], "", Bearer(auditor))) ==
             std::vector<std::string>{"Provenance/audit-" + seq + "-create"});
}

BOOST_AUTO_TEST_SUITE_END()

// --provenance resource: each write stores its Provenance as a resource (one per kind of change),
// found by search and history as any resource, and its AuditEvent row yields no second one.
struct StoredProvenance : Fixture {
  StoredProvenance() : Fixture(ProvenanceIn(fhir::audit::ProvenanceStorage::kResource)) {}
};

BOOST_FIXTURE_TEST_SUITE(ProvenanceStoredAsResources, StoredProvenance)

BOOST_AUTO_TEST_CASE(AWriteStoresItsProvenance) {
  Seed();
  std::string doctor = StaffToken("dr.okafor");
  HttpResult created = server.Request(
      "POST", "Condition",
      R"({"resourceType":"Condition","subject":{"reference":"Patient/p1"},"code":{"text":"Myopia"}})",
      Bearer(doctor));
  BOOST_REQUIRE_EQUAL(created.status, 201);
  const std::string condition = "Condition/" + Str(Json(created), "id");
  std::string auditor = SystemToken("system/AuditEvent.rs system/Provenance.rs");
  HttpResult found = server.Request("GET", "Provenance?target=" + condition, "", Bearer(auditor));
  BOOST_REQUIRE_EQUAL(found.status, 200);
  const std::vector<std::string> ids = EntryIds(found);
  BOOST_REQUIRE_MESSAGE(ids.size() == 1u, found.body);
  BOOST_TEST(ids[0].rfind("Provenance/audit-", 0) == std::string::npos, ids[0]);
  BOOST_TEST(found.body.find("Practitioner/dr.okafor") != std::string::npos, found.body);
  // Its write's AuditEvent is not read back as a second one.
  HttpResult events = server.Request("GET", "AuditEvent?subtype=create&entity=" + condition, "", Bearer(auditor));
  const std::vector<std::string> event = EntryIds(events);
  BOOST_REQUIRE_MESSAGE(event.size() == 1u, events.body);
  const std::string seq = event[0].substr(std::string("AuditEvent/").size());
  BOOST_TEST(server.Request("GET", "Provenance/audit-" + seq + "-create", "", Bearer(auditor)).status == 404);
  // The stored one is in the history as any resource.
  HttpResult history = server.Request("GET", "Provenance/_history?_count=100", "", Bearer(auditor));
  BOOST_REQUIRE_EQUAL(history.status, 200);
  const std::vector<std::string> listed = EntryIds(history);
  BOOST_TEST(std::count(listed.begin(), listed.end(), ids[0]) == 1, history.body);
  for (const std::string& one : listed) BOOST_TEST(one.rfind("Provenance/audit-", 0) == std::string::npos, one);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
