// Hostile input against the secured server over HTTPS: SQL injection through every search
// parameter type, modifiers and sort keys; path traversal in ids; malformed and forged tokens;
// replayed and expired client assertions; CORS preflight abuse; oversized and deep bodies. Each
// gets a 4xx OperationOutcome (or an empty, correct result), never a 500, never a trace of SQL,
// and the data stays as it was.

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdlib>
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

fhir::rest::HttpServerOptions Https() { return TestServer::DevTls(); }

std::int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Form(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    out += (out.empty() ? "" : "&") + common::UrlEncode(k) + "=" + common::UrlEncode(v);
  }
  return out;
}

// Nothing about the database may reach a client. (The payloads themselves come back, encoded,
// in a searchset's self link: the markers are what PostgreSQL or a crash would add.)
void ExpectNoLeak(const HttpResult& r, const std::string& what) {
  for (const char* marker : {"syntax error", "sqlstate", "SQLSTATE", "ERROR:", "relation \"",
                             "libpq", "terminate called", "unterminated", "column \""}) {
    BOOST_TEST(r.body.find(marker) == std::string::npos, what << " leaked '" << marker << "'");
  }
  BOOST_TEST(r.status < 500, what << " answered " << r.status);
}

// One server for the whole suite: seeded once, attacked by every case.
struct Hostile {
  TestServer server{TestServer::Secured{}, Https()};
  fhir::auth::JwsKey ehr_key =
      fhir::auth::JwsKey::Generate(fhir::auth::JwsAlgorithm::kES384, "k1").value();
  std::string token;

  Hostile() {
    fhir::auth::ClientRegistration ehr;
    ehr.client_id = "hospital-ehr";
    ehr.name = "Hospital EHR";
    ehr.jwks_json = fhir::auth::JwksJson({ehr_key});
    ehr.roles = {"ehr-system"};
    if (!server.security()->store().AddClient(ehr).ok()) throw std::runtime_error("client");
    HttpResult r = TokenRequest(Assertion(fhir::auth::RandomToken(8), NowSeconds() + 60));
    if (r.status != 200) throw std::runtime_error("no token: " + r.body);
    token = common::ParseJson(r.body)->Find("access_token")->scalar();
    for (const char* body :
         {R"({"resourceType":"Patient","id":"p1","name":[{"family":"Tan"}],"birthDate":"2015-06-01"})",
          R"({"resourceType":"Patient","id":"p2","name":[{"family":"Ng"}]})",
          R"({"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"79880-1"}]},"subject":{"reference":"Patient/p1"},"valueQuantity":{"value":0.8,"system":"http://unitsofmeasure.org","code":"1"}})"}) {
      auto json = common::ParseJson(body);
      std::string path = json->Find("resourceType")->scalar() + "/" + json->Find("id")->scalar();
      if (Get("PUT", path, body).status >= 300) throw std::runtime_error("seed failed");
    }
  }

  std::string Assertion(const std::string& jti, std::int64_t exp) const {
    JsonValue claims = JsonValue::Object();
    claims.Set("iss", JsonValue::String("hospital-ehr"));
    claims.Set("sub", JsonValue::String("hospital-ehr"));
    claims.Set("aud", JsonValue::String(std::string(TestServer::kTestIssuer) + "/auth/token"));
    claims.Set("exp", JsonValue::Number(std::to_string(exp)));
    claims.Set("jti", JsonValue::String(jti));
    return fhir::auth::SignJwt(ehr_key, claims).value();
  }

  HttpResult TokenRequest(const std::string& assertion) const {
    return server.Request(
        "POST", "/auth/token",
        Form({{"grant_type", "client_credentials"},
              {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
              {"client_assertion", assertion},
              {"scope", "system/*.cruds"}}),
        {{"Content-Type", "application/x-www-form-urlencoded"}});
  }

  HttpResult Get(const std::string& method, const std::string& path,
                 const std::string& body = "", Headers extra = {}) const {
    extra.emplace_back("Authorization", "Bearer " + token);
    return server.Request(method, path, body, extra);
  }

  int CountPatients() const {
    HttpResult r = Get("GET", "Patient?_summary=count");
    return std::atoi(common::ParseJson(r.body)->Find("total")->scalar().c_str());
  }
};

// One server for the whole module, started before the first case and stopped after the last.
Hostile* g_target = nullptr;
struct HostileServer {
  HostileServer() { g_target = new Hostile; }
  ~HostileServer() { delete g_target; }
};
BOOST_TEST_GLOBAL_FIXTURE(HostileServer);

Hostile& Target() { return *g_target; }

const char* const kPayloads[] = {
    "' OR '1'='1",
    "x'; DROP TABLE resource; --",
    "1) OR (1=1",
    "\\' OR 1=1 --",
    "%27%20OR%201=1",
    "$1",
    "x' UNION SELECT content FROM resource --",
    "'||pg_sleep(5)||'",
    "\"; DELETE FROM sp_string; --",
    "\x01\x02\x7f",
    "ge2020' OR '1'='1",
    "http://loinc.org|79880-1' OR '1'='1",
    "5.4|http://unitsofmeasure.org'|mg",
    "Patient/p1' OR '1'='1",
};

const char* const kParameters[] = {
    "name",            "family:exact",  "name:contains", "identifier",   "gender:not",
    "birthdate",       "_lastUpdated",  "_id",           "_text",        "_content",
    "general-practitioner", "link",     "organization.name", "_has:Observation:subject:code",
};

const char* const kObservationParameters[] = {
    "code", "value-quantity", "subject", "date", "code-value-quantity", "value-concept:text",
    "subject:Patient.name", "_profile", "_security", "_tag:not",
};

BOOST_AUTO_TEST_SUITE(Injection)

BOOST_DATA_TEST_CASE(ThroughPatientSearchParameters,
                     boost::unit_test::data::make(kParameters) *
                         boost::unit_test::data::make(kPayloads),
                     param, payload) {
  Hostile& t = Target();
  std::string query = "Patient?" + common::UrlEncode(param) + "=" + common::UrlEncode(payload);
  // Strict handling: a value that is not valid for the parameter's type is a 400, not ignored.
  HttpResult r = t.Get("GET", query, "", {{"Prefer", "handling=strict"}});
  ExpectNoLeak(r, query);
  BOOST_TEST((r.status == 200 || r.status == 400), query << " -> " << r.status);
  // :not matches everything that is not the junk value, as it should.
  if (r.status == 200 && std::string(param) != "gender:not") {
    auto bundle = common::ParseJson(r.body);
    BOOST_REQUIRE(bundle.has_value());
    // An injection that "worked" would match everybody.
    BOOST_TEST(bundle->Find("entry") == nullptr, query << " matched resources");
  }
}

BOOST_DATA_TEST_CASE(ThroughObservationSearchParameters,
                     boost::unit_test::data::make(kObservationParameters) *
                         boost::unit_test::data::make(kPayloads),
                     param, payload) {
  Hostile& t = Target();
  std::string query =
      "Observation?" + common::UrlEncode(param) + "=" + common::UrlEncode(payload);
  HttpResult r = t.Get("GET", query, "", {{"Prefer", "handling=strict"}});
  ExpectNoLeak(r, query);
  BOOST_TEST((r.status == 200 || r.status == 400), query << " -> " << r.status);
  if (r.status == 200 && std::string(param) != "_tag:not") {
    BOOST_TEST(common::ParseJson(r.body)->Find("entry") == nullptr, query);
  }
}

BOOST_DATA_TEST_CASE(ThroughSortIncludeCountAndCursor, boost::unit_test::data::make(kPayloads),
                     payload) {
  Hostile& t = Target();
  for (const char* control : {"_sort", "_include", "_revinclude", "_count", "_cursor",
                              "_summary", "_elements", "_type", "_total"}) {
    std::string query = "Patient?" + std::string(control) + "=" + common::UrlEncode(payload);
    HttpResult r = t.Get("GET", query);
    ExpectNoLeak(r, query);
    BOOST_TEST(r.status < 500, query);
  }
  HttpResult system = t.Get("GET", "?_type=" + common::UrlEncode(payload));
  ExpectNoLeak(system, "system search");
}

BOOST_AUTO_TEST_CASE(TheDataIsUntouchedAfterwards) {
  Hostile& t = Target();
  // Run after the data-driven cases (same suite, declared last).
  BOOST_TEST(t.CountPatients() == 2);
  BOOST_TEST(t.Get("GET", "Observation/o1").status == 200);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Paths)

BOOST_AUTO_TEST_CASE(TraversalAndOddIdsAreRefused) {
  Hostile& t = Target();
  for (const char* path :
       {"Patient/../../etc/passwd", "Patient/..%2F..%2Fetc%2Fpasswd", "Patient/p1%00.json",
        "Patient/%2e%2e", "Patient/p1/../p2", "Patient/a b", "Patient/%E2%80%AE",
        "../../../../etc/passwd", "Patient/0123456789012345678901234567890123456789012345678901234567890123456789",
        "Patient/p1/_history/-1", "Patient/p1/_history/1e9", "Patient/p1/_history/99999999999999999999",
        "Patient/p1/$everything'--", "NotAType/1", "patient/p1", "Patient/p1;DROP"}) {
    HttpResult r = t.Get("GET", path);
    ExpectNoLeak(r, path);
    BOOST_TEST((r.status == 400 || r.status == 404 || r.status == 405), path << " -> " << r.status);
    BOOST_TEST(r.body.find("\"OperationOutcome\"") != std::string::npos, path);
    BOOST_TEST(r.body.find("root:") == std::string::npos, path);  // no /etc/passwd
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Tokens)

BOOST_AUTO_TEST_CASE(MalformedAuthorizationHeadersGet401) {
  Hostile& t = Target();
  for (const std::string& header :
       {std::string("Bearer"), std::string("Bearer "), std::string("Basic dXNlcjpwYXNz"),
        std::string("Bearer a.b.c"), std::string("Bearer ...."), std::string("Bearer ") + std::string(9000, 'A'),
        std::string("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."), std::string("bearer\t") + t.token.substr(0, 10),
        std::string("Bearer ") + t.token + "x", std::string("Bearer ") + t.token.substr(1)}) {
    HttpResult r = t.server.Request("GET", "Patient", "", {{"Authorization", header}});
    ExpectNoLeak(r, header.substr(0, 40));
    BOOST_TEST(r.status == 401, header.substr(0, 40));
    BOOST_TEST(r.body.find("Tan") == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(ATokenSignedWithAnotherKeyUnderOurKidGets401) {
  Hostile& t = Target();
  std::string kid = common::ParseJson(
                        *fhir::auth::Base64UrlDecode(t.token.substr(0, t.token.find('.'))))
                        ->Find("kid")
                        ->scalar();
  auto forger = fhir::auth::JwsKey::Generate(fhir::auth::JwsAlgorithm::kRS256, kid).value();
  std::size_t a = t.token.find('.'), b = t.token.rfind('.');
  auto claims = common::ParseJson(*fhir::auth::Base64UrlDecode(t.token.substr(a + 1, b - a - 1)));
  std::string forged = fhir::auth::SignJwt(forger, *claims).value();
  BOOST_TEST(t.server.Request("GET", "Patient", "", {{"Authorization", "Bearer " + forged}}).status ==
             401);
  // An HMAC token "signed" with the public key (algorithm confusion).
  std::string header = fhir::auth::Base64UrlEncode(R"({"alg":"HS256","kid":")" + kid + "\"}");
  std::string hs = header + "." + t.token.substr(a + 1, b - a - 1) + ".c2lnbmF0dXJl";
  BOOST_TEST(t.server.Request("GET", "Patient", "", {{"Authorization", "Bearer " + hs}}).status ==
             401);
}

BOOST_AUTO_TEST_CASE(ReplayedAndExpiredAssertionsAreRefused) {
  Hostile& t = Target();
  std::string assertion = t.Assertion("replay-me", NowSeconds() + 60);
  BOOST_TEST(t.TokenRequest(assertion).status == 200);
  HttpResult replay = t.TokenRequest(assertion);
  BOOST_TEST(replay.status == 401);
  BOOST_TEST(replay.body.find("invalid_client") != std::string::npos);
  BOOST_TEST(t.TokenRequest(t.Assertion("old", NowSeconds() - 3600)).status == 401);
  BOOST_TEST(t.TokenRequest(t.Assertion("far", NowSeconds() + 86400)).status == 401);
  BOOST_TEST(t.TokenRequest(std::string(20000, 'a')).status == 401);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Cors)

BOOST_AUTO_TEST_CASE(PreflightsFromOtherOriginsGetNoPermission) {
  Hostile& t = Target();
  HttpResult preflight = t.server.Request(
      "OPTIONS", "Patient", "",
      {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "DELETE"},
       {"Access-Control-Request-Headers", "authorization"}});
  ExpectNoLeak(preflight, "preflight");
  BOOST_TEST(preflight.status >= 400);
  BOOST_TEST(preflight.Header("Access-Control-Allow-Origin").empty());
  BOOST_TEST(preflight.Header("Access-Control-Allow-Credentials").empty());
  HttpResult read = t.Get("GET", "Patient/p1", "", {{"Origin", "https://evil.example"}});
  BOOST_TEST(read.Header("Access-Control-Allow-Origin").empty());
  HttpResult token = t.server.Request("OPTIONS", "/auth/token", "",
                                      {{"Origin", "null"}, {"Access-Control-Request-Method", "POST"}});
  BOOST_TEST(token.Header("Access-Control-Allow-Origin").empty());
  BOOST_TEST(token.status >= 400);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Bodies)

BOOST_AUTO_TEST_CASE(DeepAndHugeBodiesAreRefused) {
  Hostile& t = Target();
  std::string deep = R"({"resourceType":"Patient","extension":[)";
  for (int i = 0; i < 500; ++i) deep += R"({"url":"http://x","extension":[)";
  deep += std::string(500, ']') + "]}";
  HttpResult r = t.Get("POST", "Patient", deep);
  ExpectNoLeak(r, "deep");
  BOOST_TEST(r.status == 400);
  HttpResult form = t.server.Request("POST", "/auth/token", std::string(1 << 20, 'a'),
                                     {{"Content-Type", "application/x-www-form-urlencoded"}});
  ExpectNoLeak(form, "huge form");
  BOOST_TEST(form.status >= 400);
}

// Bundles that try to reach what the caller should not, or to break the processor.
BOOST_DATA_TEST_CASE(HostileBundleEntries, boost::unit_test::data::make(kPayloads), payload) {
  Hostile& t = Target();
  std::string p;
  common::AppendJsonString(p, payload);
  for (const char* type : {"transaction", "batch"}) {
    std::string bundle = std::string(R"({"resourceType":"Bundle","type":")") + type + R"(","entry":[)" +
        R"({"fullUrl":)" + p + R"(,"resource":{"resourceType":"Patient","id":"p1"},"request":{"method":"PUT","url":)" + p + "}}," +
        R"({"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":)" + p +
        R"(}},"request":{"method":"POST","url":"Observation","ifNoneExist":)" + p + "}}," +
        R"({"request":{"method":"DELETE","url":"Patient?name=)" + p.substr(1, p.size() - 2) + R"("}},)" +
        R"({"request":{"method":"GET","url":"Patient?identifier=)" + p.substr(1, p.size() - 2) + R"("}}]})";
    HttpResult r = t.Get("POST", "", bundle);
    ExpectNoLeak(r, std::string(type) + " " + payload);
  }
  // Nothing was deleted or overwritten by any of it.
  BOOST_TEST(t.Get("GET", "Patient/p2").status == 200);
}

BOOST_AUTO_TEST_CASE(MalformedBundlesAreRefusedCleanly) {
  Hostile& t = Target();
  for (const char* body : {
           R"({"resourceType":"Bundle","type":"transaction","entry":{}})",
           R"({"resourceType":"Bundle","type":"transaction","entry":[1,"x",null,[]]})",
           R"({"resourceType":"Bundle","type":"transaction","entry":[{"request":"GET"}]})",
           R"({"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"PUT","url":"Patient/p2"},"resource":[]}]})",
           R"({"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"POST","url":"Patient"},"resource":{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"Patient/p2"}}]}}]})",
           R"({"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"POST","url":""},"resource":{"resourceType":"Bundle","type":"batch"}}]})",
           R"({"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"PATCH","url":"Patient/p2"},"resource":{"resourceType":"Binary","contentType":"application/json-patch+json","data":"!!!"}}]})",
           R"({"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"GET","url":"../../../etc/passwd"}}]})",
           R"({"resourceType":"Bundle"})",
       }) {
    HttpResult r = t.Get("POST", "", body);
    ExpectNoLeak(r, body);
  }
  // A Bundle nested in an entry is stored as a resource, never executed: Patient/p2 stays.
  BOOST_TEST(t.Get("GET", "Patient/p2").status == 200);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
