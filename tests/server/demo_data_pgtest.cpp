// server/demo_data (issue 10): the demo loads into an empty database through the normal write
// paths — every account signs in (password grant over HTTP), the unit's $queue lists the
// waiting sessions (one past check-in), one patient has last year's finished screening — and a
// second load, or a load into a database with data of its own, changes nothing. `fovea serve`
// loads it into an external database only when asked (--demo-data).

#include <boost/test/unit_test.hpp>

#include <future>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/json.h"
#include "fhir/definitions/definitions.h"
#include "fhir/rest/fhir_service.h"
#include "server/console_client.h"
#include "server/demo_data.h"
#include "tests/support/json_reading.h"
#include "tests/support/serve_process.h"
#include "tests/support/test_database.h"
#include "tests/support/test_server.h"
#include "workflow/screening_api.h"
#include "workflow/workflow_rules.h"

namespace {

using common::JsonValue;
using test_support::HttpResult;
using test_support::TestServer;

JsonValue Json(const std::string& text) { return test_support::ParseJsonOrFail(text); }

// The secured server, plus the installer's FhirService (workflow rules, no authentication) that
// `fovea serve` gives the demo loader.
struct DemoFixture {
  DemoFixture()
      : server(TestServer::Secured{}),
        rules(server.store(), server.search(), server.registry(), server.clock()),
        screening(rules, server.store(), server.search(), server.registry(), server.clock()),
        installer(fhir::definitions::Definitions::R4(), server.store(), server.clock(), {},
                  {server.registry(), &server.search(), nullptr}, {}, screening.Extensions()) {
    BOOST_REQUIRE(screening.EnsureShipped().ok());
    BOOST_REQUIRE(server::EnsureConsoleClient(server.security()->store(),
                                              {"http://127.0.0.1:8080/console/"})
                      .ok());
  }

  // A read through the installer (no token needed); the answer's JSON.
  JsonValue Get(const std::string& path) {
    fhir::rest::RestRequest req;
    req.method = "GET";
    std::size_t q = path.find('?');
    req.path = path.substr(0, q);
    if (q != std::string::npos) req.query = fhir::rest::ParseQueryString(path.substr(q + 1));
    req.base_url = "urn:test";
    req.request_id = "test";
    fhir::rest::RestResponse res = installer.Handle(req);
    BOOST_REQUIRE_MESSAGE(res.status == 200, path << ": " << res.body.substr(0, 500));
    return Json(res.body);
  }
  std::size_t Count(const std::string& search) {
    const JsonValue* entries = Get(search).Find("entry");
    return entries == nullptr ? 0 : entries->items().size();
  }

  // The password grant over HTTP, as the console's first-party client; "" when refused.
  std::string Token(const std::string& username, const std::string& password) {
    HttpResult r = server.Request(
        "POST", "/auth/token",
        "grant_type=password&client_id=fovea-console&username=" + fhir::rest::UrlEncode(username) +
            "&password=" + fhir::rest::UrlEncode(password),
        {{"Content-Type", "application/x-www-form-urlencoded"}});
    if (r.status != 200) return {};
    return Json(r.body).Find("access_token")->scalar();
  }

  TestServer server;
  workflow::WorkflowRules rules;
  workflow::ScreeningApi screening;
  fhir::rest::FhirService installer;
};

// The values of a Parameters part named `name` (references or codes), in order.
std::vector<std::string> Parts(const JsonValue& parameter, const std::string& name) {
  std::vector<std::string> out;
  for (const JsonValue& part : parameter.Find("part")->items()) {
    if (part.Find("name")->scalar() != name) continue;
    if (const JsonValue* ref = part.Find("valueReference")) out.push_back(ref->Find("reference")->scalar());
    if (const JsonValue* code = part.Find("valueCode")) out.push_back(code->scalar());
  }
  return out;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(DemoData, DemoFixture)

BOOST_AUTO_TEST_CASE(LoadsIntoAnEmptyDatabase) {
  auto loaded = server::LoadDemoData(installer, server.security()->store(), server.clock());
  if (!loaded.has_value()) BOOST_FAIL(loaded.error().message());
  BOOST_TEST(*loaded);

  // Every account signs in with its published password, and is a Practitioner with its role.
  std::string supervisor_token;
  for (const server::DemoAccount& account : server::DemoAccounts()) {
    std::string token = Token(account.username, account.password);
    BOOST_TEST(!token.empty(), account.username);
    BOOST_TEST(Token(account.username, "not-the-password").empty(), account.username);
    if (std::string(account.role) == "supervisor") supervisor_token = token;
    auto user = server.security()->store().FindUser(account.username);
    BOOST_REQUIRE(user.has_value());
    BOOST_TEST(user->roles == std::vector<std::string>{account.role});
    std::string practitioner = user->fhir_user.substr(user->fhir_user.find('/') + 1);
    BOOST_TEST(Count("/Practitioner?_id=" + practitioner) == 1u, account.username);
    BOOST_TEST(Count("/PractitionerRole?practitioner=Practitioner/" + practitioner + "&role=" +
                     std::string(account.role)) == 1u, account.username);
  }

  // The unit.
  JsonValue units = Get("/Location?identifier=https://fovea.health/fhir/demo|unit-1");
  BOOST_REQUIRE_EQUAL(units.Find("entry")->items().size(), 1u);
  const JsonValue& unit = *units.Find("entry")->items()[0].Find("resource");
  BOOST_TEST(unit.Find("name")->scalar() == "Mobile Unit 1 — demo");
  BOOST_TEST(unit.Find("physicalType")->Find("coding")->items()[0].Find("code")->scalar() == "ve");
  std::string unit_id = unit.Find("id")->scalar();
  BOOST_TEST(Count("/Organization?identifier=https://fovea.health/fhir/demo|org-1") == 1u);

  // Patients with MRNs, children to elderly.
  JsonValue patients = Get("/Patient?identifier=https://fovea.health/fhir/demo-mrn|&_count=50");
  BOOST_TEST(patients.Find("entry")->items().size() == 7u);
  BOOST_TEST(Count("/Patient?birthdate=ge2010-01-01") >= 1u);
  BOOST_TEST(Count("/Patient?birthdate=le1950-01-01") >= 1u);

  // The queue, read over HTTP as the supervisor: four sessions waiting, one past check-in, one
  // at the doctor.
  HttpResult queue = server.Request("GET", "Location/" + unit_id + "/$queue", "",
                                    {{"Authorization", "Bearer " + supervisor_token}});
  BOOST_REQUIRE_MESSAGE(queue.status == 200, queue.body);
  JsonValue q = Json(queue.body);
  int count = -1;
  std::multiset<std::string> current;
  for (const JsonValue& p : q.Find("parameter")->items()) {
    if (p.Find("name")->scalar() == "count") count = std::stoi(p.Find("valueInteger")->scalar());
    if (p.Find("name")->scalar() != "session") continue;
    for (const std::string& step : Parts(p, "current")) current.insert(step);
  }
  BOOST_TEST(count == 4);
  BOOST_TEST(current.count("check-in") == 2u);
  BOOST_TEST(current.count("visual-acuity") == 1u);
  BOOST_TEST(current.count("refraction") == 1u);
  BOOST_TEST(current.count("doctor-diagnosis") == 1u);

  // Last year's screening: a finished Encounter with final acuity and refraction for both
  // eyes, the doctor's report and the spectacles prescribed.
  JsonValue finished = Get("/Encounter?status=finished");
  BOOST_REQUIRE_EQUAL(finished.Find("entry")->items().size(), 1u);
  const JsonValue& encounter = *finished.Find("entry")->items()[0].Find("resource");
  std::string encounter_ref = "Encounter/" + encounter.Find("id")->scalar();
  std::string patient_ref = encounter.Find("subject")->Find("reference")->scalar();
  BOOST_TEST(Count("/Observation?encounter=" + encounter_ref + "&status=final&code=http://snomed.info/sct|363983007") == 2u);
  BOOST_TEST(Count("/Observation?encounter=" + encounter_ref + "&status=final&code=http://snomed.info/sct|251794006") == 2u);
  // Refraction components coded as the console reads them.
  JsonValue refraction = Get("/Observation?encounter=" + encounter_ref +
                             "&component-code=https://fovea.health/fhir/CodeSystem/refraction-component|sphere");
  BOOST_TEST(refraction.Find("entry")->items().size() == 2u);
  BOOST_TEST(Count("/DiagnosticReport?encounter=" + encounter_ref + "&status=final") == 1u);
  BOOST_TEST(Count("/VisionPrescription?patient=" + patient_ref + "&status=active") == 1u);
  // ... for the patient waiting for the doctor today, with today's acuity and refraction
  // recorded in today's session (the steps' outputs).
  JsonValue today = Get("/Encounter?subject=" + patient_ref + "&status=arrived,triaged,in-progress");
  BOOST_REQUIRE_EQUAL(today.Find("entry")->items().size(), 1u);
  std::string today_ref = "Encounter/" + today.Find("entry")->items()[0].Find("resource")->Find("id")->scalar();
  BOOST_TEST(Count("/Observation?encounter=" + today_ref + "&status=final") == 4u);
  BOOST_TEST(Count("/Task?encounter=" + today_ref + "&status=completed&_count=50") == 3u);
}

BOOST_AUTO_TEST_CASE(ASecondLoadIsANoOp) {
  auto first = server::LoadDemoData(installer, server.security()->store(), server.clock());
  BOOST_REQUIRE(first.has_value());
  BOOST_REQUIRE(*first);
  auto second = server::LoadDemoData(installer, server.security()->store(), server.clock());
  BOOST_REQUIRE(second.has_value());
  BOOST_TEST(!*second);
  BOOST_TEST(Count("/Patient?_count=50") == 7u);
  BOOST_TEST(Count("/Location") == 1u);
  BOOST_TEST(Count("/Encounter?_count=50") == 5u);
  BOOST_TEST(Count("/Observation?_count=50") == 8u);
}

BOOST_AUTO_TEST_CASE(LeavesADatabaseWithDataAlone) {
  fhir::rest::RestRequest req;
  req.method = "POST";
  req.path = "/Patient";
  req.body = R"({"resourceType":"Patient","name":[{"family":"Real"}]})";
  req.headers = {{"Content-Type", "application/fhir+json"}};
  req.base_url = "urn:test";
  req.request_id = "test";
  BOOST_REQUIRE_EQUAL(installer.Handle(req).status, 201);
  auto loaded = server::LoadDemoData(installer, server.security()->store(), server.clock());
  BOOST_REQUIRE(loaded.has_value());
  BOOST_TEST(!*loaded);
  BOOST_TEST(Count("/Patient") == 1u);
  BOOST_TEST(Count("/Location") == 0u);
  BOOST_TEST(!server.security()->store().FindUser("doctor").has_value());
}

BOOST_AUTO_TEST_CASE(ATakenDemoUserNameCountsAsData) {
  fhir::auth::UserAccount user;
  user.username = "doctor";
  user.password_hash = "x";
  user.fhir_user = "Practitioner/someone";
  user.roles = {"doctor"};
  BOOST_REQUIRE(server.security()->store().AddUser(user).ok());
  auto loaded = server::LoadDemoData(installer, server.security()->store(), server.clock());
  BOOST_REQUIRE(loaded.has_value());
  BOOST_TEST(!*loaded);
  BOOST_TEST(Count("/Patient") == 0u);
}

BOOST_AUTO_TEST_CASE(TwoNodesLoadingAtOnceTakeTurns) {
  auto load = [this] {
    return server::LoadDemoDataOnce(server.dsn(), installer, server.security()->store(),
                                    server.clock());
  };
  auto a = std::async(std::launch::async, load);
  auto b = std::async(std::launch::async, load);
  auto first = a.get();
  auto second = b.get();
  BOOST_REQUIRE(first.has_value());
  BOOST_REQUIRE(second.has_value());
  BOOST_TEST(*first != *second);  // exactly one loaded
  BOOST_TEST(Count("/Patient?_count=50") == 7u);
  BOOST_TEST(Count("/Practitioner?_count=50") == server::DemoAccounts().size());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(DemoDataServe)

BOOST_AUTO_TEST_CASE(AnExternalDatabaseGetsItOnlyWhenAsked) {
  test_support::TestDatabase db;
  auto patients = [](const test_support::ServeProcess& server) {
    HttpResult r = server.Request("GET", "Patient?_count=50");
    BOOST_REQUIRE_EQUAL(r.status, 200);
    const JsonValue* entries = Json(r.body).Find("entry");
    return entries == nullptr ? 0u : entries->items().size();
  };
  {
    test_support::ServeProcess plain(FOVEA_BIN, db.dsn());
    BOOST_TEST(patients(plain) == 0u);
    BOOST_TEST(plain.log().find("published passwords") == std::string::npos);
  }
  test_support::ServeProcess demo(FOVEA_BIN, db.dsn(), {"--demo-data"});
  BOOST_TEST(patients(demo) == 7u);
  BOOST_TEST(demo.log().find("warning demo accounts with published passwords") != std::string::npos);
  BOOST_TEST(demo.log().find("demo data loaded") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
