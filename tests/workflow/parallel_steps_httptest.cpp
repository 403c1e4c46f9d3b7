// Two technicians completing the parallel steps (visual acuity, refraction) at the same moment,
// over and over: whichever commits second must see the first, so the doctor's step is ready
// every time — never left draft (the session Task is read before the steps, and every
// completion writes it: the later one re-plans).

#include <boost/test/unit_test.hpp>

#include <latch>
#include <map>
#include <string>
#include <thread>

#include "common/json.h"
#include "tests/support/json_reading.h"
#include "tests/support/test_server.h"

namespace {

using common::JsonValue;
using test_support::HttpResult;
using test_support::TestServer;

JsonValue Json(const std::string& text) { return test_support::ParseJsonOrFail(text); }

std::string StepJson(TestServer& server, const std::string& id, const std::string& status) {
  JsonValue t = Json(server.Request("GET", "Task/" + id).body);
  t.Set("status", JsonValue::String(status));
  JsonValue owner = JsonValue::Object();
  owner.Set("reference", JsonValue::String("Practitioner/x"));
  t.Set("owner", std::move(owner));
  return common::ToJson(t);
}

void Observe(TestServer& server, const std::string& encounter, const std::string& code, const std::string& eye) {
  HttpResult r = server.Request("POST", "Observation", R"({"resourceType":"Observation","status":"preliminary",
      "code":{"coding":[{"system":"http://snomed.info/sct","code":")" + code + R"("}]},
      "encounter":{"reference":"Encounter/)" + encounter + R"("},
      "bodySite":{"coding":[{"system":"http://snomed.info/sct","code":")" + eye + R"("}]},"valueString":"6/6"})");
  BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
}

BOOST_AUTO_TEST_SUITE(ParallelSteps)

BOOST_AUTO_TEST_CASE(ConcurrentCompletionsAlwaysReadyTheNextStep) {
  TestServer server;
  BOOST_REQUIRE(server.Request("PUT", "Patient/p1", R"({"resourceType":"Patient","id":"p1"})").status == 201);
  BOOST_REQUIRE(server.Request("PUT", "Location/van7", R"({"resourceType":"Location","id":"van7","status":"active"})").status == 201);
  for (int round = 0; round < 12; ++round) {
    HttpResult started = server.Request("POST", "Encounter/$start-screening",
        R"({"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{"reference":"Patient/p1"}},
            {"name":"location","valueReference":{"reference":"Location/van7"}}]})");
    BOOST_REQUIRE_MESSAGE(started.status == 201, started.body);
    JsonValue bundle = Json(started.body);
    std::string encounter;
    std::map<std::string, std::string> steps;
    for (const JsonValue& e : bundle.Find("entry")->items()) {
      const JsonValue& r = *e.Find("resource");
      if (r.Find("resourceType")->scalar() == "Encounter") encounter = r.Find("id")->scalar();
      if (r.Find("resourceType")->scalar() == "Task") {
        steps[r.Find("code")->Find("coding")->items().front().Find("code")->scalar()] = r.Find("id")->scalar();
      }
    }
    for (const char* status : {"in-progress", "completed"}) {
      BOOST_REQUIRE(server.Request("PUT", "Task/" + steps["check-in"], StepJson(server, steps["check-in"], status)).status == 200);
    }
    for (const char* step : {"visual-acuity", "refraction"}) {
      BOOST_REQUIRE(server.Request("PUT", std::string("Task/") + steps[step], StepJson(server, steps[step], "in-progress")).status == 200);
    }
    Observe(server, encounter, "363983007", "362502000");
    Observe(server, encounter, "363983007", "362503005");
    Observe(server, encounter, "251794006", "362502000");
    Observe(server, encounter, "251794006", "362503005");
    std::string va = StepJson(server, steps["visual-acuity"], "completed");
    std::string rf = StepJson(server, steps["refraction"], "completed");
    std::latch go(2);
    int va_status = 0;
    int rf_status = 0;
    std::thread a([&] { go.arrive_and_wait(); va_status = server.Request("PUT", "Task/" + steps["visual-acuity"], va).status; });
    std::thread b([&] { go.arrive_and_wait(); rf_status = server.Request("PUT", "Task/" + steps["refraction"], rf).status; });
    a.join();
    b.join();
    BOOST_TEST(va_status == 200);
    BOOST_TEST(rf_status == 200);
    std::string doctor = Json(server.Request("GET", "Task/" + steps["doctor-diagnosis"]).body).Find("status")->scalar();
    BOOST_TEST(doctor == "ready", "round " << round);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
