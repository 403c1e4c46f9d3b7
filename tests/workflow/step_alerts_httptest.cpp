// workflow/step_alerts against a real server and PostgreSQL, with a clock of the test's own:
// a step ready too long raises one Flag (once, however often the check runs), the Flag goes
// inactive when the step is claimed, a step in progress too long raises another, and the
// supervisor-alerts topic numbers each of those changes for a supervisor's subscription.

#include <boost/test/unit_test.hpp>

#include <string>

#include "common/json.h"
#include "fhir/store/pg/connection.h"
#include "tests/support/json_reading.h"
#include "tests/support/test_server.h"
#include "workflow/step_alerts.h"

namespace {

using common::JsonValue;
using test_support::HttpResult;
using test_support::TestServer;

JsonValue Json(const std::string& text) { return test_support::ParseJsonOrFail(text); }

std::size_t Check(workflow::StepAlerts& alerts) {
  auto n = alerts.CheckNow();
  BOOST_REQUIRE_MESSAGE(n.has_value(), (n.has_value() ? "" : n.error().message()));
  return *n;
}

// The alert Flags with `status` (R4 has no Flag status search parameter: filtered here), as
// "code:text" lines.
std::string Flags(TestServer& server, const std::string& status) {
  HttpResult r = server.Request("GET", "Flag?identifier=https://fovea.health/fhir/alert|");
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  JsonValue bundle = Json(r.body);
  std::string out;
  const JsonValue* entries = bundle.Find("entry");
  if (entries == nullptr) return out;
  for (const JsonValue& e : entries->items()) {
    const JsonValue& flag = *e.Find("resource");
    if (flag.Find("status")->scalar() != status) continue;
    out += flag.Find("code")->Find("coding")->items().front().Find("code")->scalar() + ":" +
           flag.Find("code")->Find("text")->scalar() + "|" + flag.Find("encounter")->Find("reference")->scalar() + "\n";
  }
  return out;
}

// A patient, a van and a screening session started for them; the $start-screening Bundle.
JsonValue StartScreening(TestServer& server, const std::string& patient, const std::string& van) {
  BOOST_REQUIRE(server.Request("PUT", "Patient/" + patient, R"({"resourceType":"Patient","id":")" + patient + R"("})").status == 201);
  BOOST_REQUIRE(server.Request("PUT", "Location/" + van,
                               R"({"resourceType":"Location","id":")" + van + R"(","status":"active"})").status == 201);
  HttpResult started = server.Request("POST", "Encounter/$start-screening",
      R"({"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{"reference":"Patient/)" + patient + R"("}},
          {"name":"location","valueReference":{"reference":"Location/)" + van + R"("}}]})");
  BOOST_REQUIRE_MESSAGE(started.status == 201, started.body);
  return Json(started.body);
}

// The id of the first alert Flag.
std::string FirstFlag(TestServer& server) {
  JsonValue flags = Json(server.Request("GET", "Flag?identifier=https://fovea.health/fhir/alert|").body);
  BOOST_REQUIRE(flags.Find("entry") != nullptr);
  return flags.Find("entry")->items().front().Find("resource")->Find("id")->scalar();
}

BOOST_AUTO_TEST_SUITE(StepAlerts)

BOOST_AUTO_TEST_CASE(WaitingAndLongRunningStepsRaiseOneFlagEachForTheSupervisors) {
  TestServer server;
  JsonValue bundle = StartScreening(server, "p1", "van7");
  std::string encounter;
  std::string checkin;
  for (const JsonValue& e : bundle.Find("entry")->items()) {
    const JsonValue& r = *e.Find("resource");
    if (r.Find("resourceType")->scalar() == "Encounter") encounter = r.Find("id")->scalar();
    if (r.Find("resourceType")->scalar() == "Task" && r.Find("status")->scalar() == "ready") checkin = r.Find("id")->scalar();
  }
  // The supervisors' subscription to this session's alerts.
  HttpResult sub = server.Request("POST", "Subscription", R"({"resourceType":"Subscription","status":"requested","reason":"alerts",
      "criteria":"https://fovea.health/fhir/SubscriptionTopic/supervisor-alerts",
      "_criteria":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria","valueString":"Flag?encounter=Encounter/)" + encounter + R"("}]},
      "channel":{"type":"websocket","payload":"application/fhir+json"}})");
  BOOST_REQUIRE_MESSAGE(sub.status == 201, sub.body);
  std::string sub_id = Json(sub.body).Find("id")->scalar();

  common::FakeClock clock(common::SystemClock().Now());
  workflow::AlertOptions options;
  options.wait_limit = std::chrono::minutes(15);
  options.run_limit = std::chrono::minutes(30);
  workflow::StepAlerts alerts(server.store(), server.search(), server.registry(), clock, options);

  BOOST_TEST(Check(alerts) == 0u);  // nothing has waited 15 minutes yet
  clock.Advance(std::chrono::minutes(16));
  BOOST_TEST(Check(alerts) == 1u);
  BOOST_TEST(Check(alerts) == 0u);  // once
  std::string waiting = Flags(server, "active");
  BOOST_TEST(waiting.find("check-in has waited 16 min") != std::string::npos, waiting);
  BOOST_TEST(waiting.find("Encounter/" + encounter) != std::string::npos);

  // Claimed: the alert is over.
  JsonValue task = Json(server.Request("GET", "Task/" + checkin).body);
  task.Set("status", JsonValue::String("in-progress"));
  JsonValue owner = JsonValue::Object();
  owner.Set("reference", JsonValue::String("Practitioner/reg"));
  task.Set("owner", std::move(owner));
  HttpResult claimed = server.Request("PUT", "Task/" + checkin, common::ToJson(task));
  BOOST_REQUIRE_MESSAGE(claimed.status == 200, claimed.body);
  BOOST_TEST(Check(alerts) == 1u);
  BOOST_TEST(Flags(server, "active").find("step-waiting") == std::string::npos);
  BOOST_TEST(Flags(server, "inactive").find("step-waiting") != std::string::npos);
  BOOST_TEST(Check(alerts) == 0u);  // cleared once

  // In progress for more than 30 minutes (of the test's clock).
  clock.Advance(std::chrono::minutes(31));
  BOOST_TEST(Check(alerts) == 1u);
  BOOST_TEST(Flags(server, "active").find("step-running-long:check-in has been in progress for") != std::string::npos);

  // The supervisors' subscription numbered each change: raised, cleared, raised.
  auto matched = server.subscriptions()->matcher().MatchPending();
  BOOST_REQUIRE(matched.has_value());
  HttpResult events = server.Request("GET", "Subscription/" + sub_id + "/$events");
  BOOST_REQUIRE(events.status == 200);
  BOOST_TEST(events.body.find(R"("events-since-subscription-start","valueString":"3")") != std::string::npos, events.body);
}

BOOST_AUTO_TEST_CASE(AuditedAlertFlagsCarryTheirProvenanceAndAuditEvent) {
  // As `fovea serve` with authorisation on: the server's own writes are audited as a client's
  // are, the server's alerts component as the agent.
  TestServer server;
  StartScreening(server, "p2", "van8");

  common::FakeClock clock(common::SystemClock().Now());
  workflow::AlertOptions options;
  options.audit_observer = "Fovea test";
  // Stored as a resource, so that this server (auth off: it serves no Provenance from the
  // audit trail) finds it; the audit-trail kind is the same row (audit_recording_test).
  options.provenance = fhir::audit::ProvenanceStorage::kResource;
  workflow::StepAlerts alerts(server.store(), server.search(), server.registry(), clock, options);
  clock.Advance(options.wait_limit + std::chrono::minutes(1));
  BOOST_REQUIRE(Check(alerts) == 1u);

  const std::string flag = FirstFlag(server);
  HttpResult provenance = server.Request("GET", "Provenance?target=Flag/" + flag);
  BOOST_REQUIRE(provenance.status == 200);
  JsonValue found = Json(provenance.body);
  BOOST_REQUIRE(found.Find("entry") != nullptr);
  BOOST_REQUIRE_EQUAL(found.Find("entry")->items().size(), 1u);
  const JsonValue& p = *found.Find("entry")->items().front().Find("resource");
  BOOST_TEST(p.Find("target")->items().front().Find("reference")->scalar() == "Flag/" + flag + "/_history/1");
  BOOST_TEST(p.Find("agent")->items().front().Find("who")->Find("display")->scalar() == "Fovea step alerts");
  BOOST_TEST(p.Find("activity")->Find("coding")->items().front().Find("code")->scalar() == "CREATE");

  // The AuditEvent row committed with the Flag (audit_event: a write's own row).
  auto conn = fhir::store::pg::PgConnection::Connect(server.dsn());
  BOOST_REQUIRE(conn.has_value());
  auto rows = (*conn)->ExecuteUnprepared(
      {"test.flag_audit", "SELECT count(*) FROM audit_event WHERE entity = $1 AND action = 'C'"},
      {"Flag/" + flag});  // the column names the resource; its version is in the details
  BOOST_REQUIRE(rows.has_value());
  BOOST_TEST(rows->GetInt64(0, 0) == 1);
}

BOOST_AUTO_TEST_CASE(UnauditedAlertFlagsHaveNoProvenance) {
  // --auth off: no write is audited, the server's own neither.
  TestServer server;
  StartScreening(server, "p3", "van9");
  common::FakeClock clock(common::SystemClock().Now());
  workflow::AlertOptions options;
  workflow::StepAlerts alerts(server.store(), server.search(), server.registry(), clock, options);
  clock.Advance(options.wait_limit + std::chrono::minutes(1));
  BOOST_REQUIRE(Check(alerts) == 1u);
  JsonValue found = Json(server.Request("GET", "Provenance?target=Flag/" + FirstFlag(server)).body);
  BOOST_TEST(found.Find("entry") == nullptr);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
