// The screening workflow over HTTP with SMART tokens for each role, against PostgreSQL: a
// session started by $start-screening, every step claimed, worked on and completed by the
// role the PlanDefinition names, through PUT, PATCH and transactions; double claims, wrong
// roles, missing outputs and illegal transitions refused with the right status and a message
// naming what is allowed; the next steps readied in the same transaction; approval finishing
// the session (Encounter finished, results final); Provenance for each transition.

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/json.h"
#include "tests/support/staff_accounts.h"
#include "tests/support/test_server.h"

namespace {

using common::JsonValue;
using test_support::HttpResult;
using test_support::TestServer;
using test_support::Headers;

JsonValue Json(const std::string& text) { return test_support::ParseJsonOrFail(text); }

std::string Str(const JsonValue& v, std::initializer_list<const char*> path) {
  const JsonValue* f = &v;
  for (const char* p : path) {
    f = f->Find(p);
    if (f == nullptr) return "";
  }
  return f->scalar();
}

class Unit {
 public:
  Unit()
      : server(TestServer::Secured{}),
        staff(server, {{"reg", "registration"}, {"reg2", "registration"}, {"tech1", "technician"},
                       {"tech2", "technician"}, {"doc", "doctor"}, {"sup", "supervisor"}, {"admin", "admin"}}) {}

  HttpResult As(const std::string& user, const std::string& method, const std::string& path,
                const std::string& body = "", Headers extra = {}) {
    return staff.As(user, method, path, body, std::move(extra));
  }
  JsonValue Read(const std::string& path) {
    HttpResult r = As("admin", "GET", path);
    BOOST_REQUIRE_MESSAGE(r.status == 200, path << ": " << r.body);
    return Json(r.body);
  }
  // The step's Task (by step code) from a fresh read.
  std::string StepId(const std::string& step) const { return steps.at(step); }
  JsonValue Step(const std::string& step) { return Read("Task/" + StepId(step)); }
  std::string Status(const std::string& step) { return Str(Step(step), {"status"}); }
  std::string Version(const JsonValue& resource) { return Str(resource, {"meta", "versionId"}); }

  // PUT the step with `status` and `owner` (empty: none), If-Match its version when `pin`.
  HttpResult Move(const std::string& user, const std::string& step, const std::string& status,
                  const std::string& owner, bool pin = true) {
    JsonValue t = Step(step);
    std::string version = Version(t);
    t.Set("status", JsonValue::String(status));
    auto& m = t.members();
    m.erase(std::remove_if(m.begin(), m.end(), [](const auto& kv) { return kv.first == "owner"; }), m.end());
    if (!owner.empty()) {
      JsonValue ref = JsonValue::Object();
      ref.Set("reference", JsonValue::String("Practitioner/" + owner));
      t.Set("owner", std::move(ref));
    }
    Headers h = {{"Content-Type", "application/fhir+json"}};
    if (pin) h.emplace_back("If-Match", "W/\"" + version + "\"");
    return As(user, "PUT", "Task/" + StepId(step), common::ToJson(t), h);
  }

  void Start() {
    HttpResult p = As("admin", "PUT", "Patient/p1", R"({"resourceType":"Patient","id":"p1","name":[{"family":"Asante"}]})");
    BOOST_REQUIRE_MESSAGE(p.status == 201 || p.status == 200, p.body);
    HttpResult l = As("admin", "PUT", "Location/van7", R"({"resourceType":"Location","id":"van7","status":"active","mode":"instance",
        "name":"Screening van 7","physicalType":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/location-physical-type","code":"ve"}]}})");
    BOOST_REQUIRE_MESSAGE(l.status == 201 || l.status == 200, l.body);
    HttpResult r = As("reg", "POST", "Encounter/$start-screening",
                      R"({"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{"reference":"Patient/p1"}},
                          {"name":"location","valueReference":{"reference":"Location/van7"}}]})",
                      {{"Content-Type", "application/fhir+json"}});
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    JsonValue bundle = Json(r.body);
    for (const JsonValue& e : bundle.Find("entry")->items()) {
      const JsonValue& res = *e.Find("resource");
      if (Str(res, {"resourceType"}) == "Encounter") encounter = Str(res, {"id"});
      if (Str(res, {"resourceType"}) != "Task") continue;
      std::string code = res.Find("code")->Find("coding")->items().front().Find("code")->scalar();
      if (code == "screening-session") session = Str(res, {"id"});
      else steps[code] = Str(res, {"id"});
    }
  }

  // An Observation of the session (preliminary) with a SNOMED code and eye.
  std::string Observe(const std::string& user, const std::string& code, const std::string& eye) {
    HttpResult r = As(user, "POST", "Observation", R"({"resourceType":"Observation","status":"preliminary",
        "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"exam"}]}],
        "code":{"coding":[{"system":"http://snomed.info/sct","code":")" + code + R"("}]},
        "subject":{"reference":"Patient/p1"},"encounter":{"reference":"Encounter/)" + encounter + R"("},
        "bodySite":{"coding":[{"system":"http://snomed.info/sct","code":")" + eye + R"("}]},
        "valueString":"6/9"})", {{"Content-Type", "application/fhir+json"}});
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    return Str(Json(r.body), {"id"});
  }

  TestServer server;
  test_support::StaffAccounts staff;
  std::string encounter;
  std::string session;
  std::map<std::string, std::string> steps;
};

constexpr const char* kRight = "362502000";
constexpr const char* kLeft = "362503005";

BOOST_AUTO_TEST_SUITE(ScreeningWorkflow)

BOOST_AUTO_TEST_CASE(ADayOfOnePatientThroughEveryStep) {
  Unit unit;
  unit.Start();
  BOOST_REQUIRE(unit.steps.size() == 5u);
  BOOST_TEST(unit.Status("check-in") == "ready");
  BOOST_TEST(unit.Status("visual-acuity") == "draft");
  JsonValue acuity = unit.Step("visual-acuity");
  BOOST_TEST(Str(*acuity.Find("performerType")->items().begin(), {"coding"}) == "");
  BOOST_TEST(acuity.Find("performerType")->items().front().Find("coding")->items().front().Find("code")->scalar() == "technician");
  BOOST_TEST(Str(*acuity.Find("partOf")->items().begin(), {"reference"}) == "Task/" + unit.session);
  BOOST_TEST(Str(acuity, {"encounter", "reference"}) == "Encounter/" + unit.encounter);

  // Check-in: registration claims it; a technician may not; a second claim loses.
  BOOST_TEST(unit.Move("tech1", "check-in", "in-progress", "tech1").status == 403);
  JsonValue checkin = unit.Step("check-in");
  BOOST_TEST(unit.Move("reg", "check-in", "in-progress", "reg").status == 200);
  {
    // reg2 read the same version and claims with it: the lost update is a 412, never silent.
    checkin.Set("status", JsonValue::String("in-progress"));
    JsonValue owner = JsonValue::Object();
    owner.Set("reference", JsonValue::String("Practitioner/reg2"));
    checkin.Set("owner", std::move(owner));
    HttpResult stale = unit.As("reg2", "PUT", "Task/" + unit.StepId("check-in"), common::ToJson(checkin),
                               {{"Content-Type", "application/fhir+json"}, {"If-Match", "W/\"" + unit.Version(unit.Step("check-in")) + "\""}});
    BOOST_TEST(stale.status == 409, stale.body);  // current version, but claimed by reg: the lock
    BOOST_TEST(stale.body.find("claimed by Practitioner/reg") != std::string::npos, stale.body);
  }
  BOOST_TEST(unit.Move("reg2", "check-in", "in-progress", "reg2", false).status == 409);
  BOOST_TEST(Str(unit.Step("check-in"), {"owner", "reference"}) == "Practitioner/reg");
  HttpResult done = unit.Move("reg", "check-in", "completed", "reg");
  BOOST_REQUIRE_MESSAGE(done.status == 200, done.body);
  BOOST_TEST(unit.Status("visual-acuity") == "ready");  // both, in the same transaction
  BOOST_TEST(Str(unit.Read("Encounter/" + unit.encounter), {"status"}) == "in-progress");  // checked in
  BOOST_TEST(unit.Status("refraction") == "ready");
  BOOST_TEST(unit.Status("doctor-diagnosis") == "draft");
  BOOST_TEST(Str(unit.Read("Task/" + unit.session), {"businessStatus", "text"}).find("ready: visual-acuity, refraction") != std::string::npos);

  // Visual acuity: claimed by PATCH; completing needs both eyes.
  JsonValue va = unit.Step("visual-acuity");
  HttpResult patched = unit.As("tech1", "PATCH", "Task/" + unit.StepId("visual-acuity"),
                               R"([{"op":"replace","path":"/status","value":"in-progress"},{"op":"add","path":"/owner","value":{"reference":"Practitioner/tech1"}}])",
                               {{"Content-Type", "application/json-patch+json"}, {"If-Match", "W/\"" + unit.Version(va) + "\""}});
  BOOST_REQUIRE_MESSAGE(patched.status == 200, patched.body);
  // What everyone sees now: acuity in progress (tech1), refraction waiting.
  HttpResult status = unit.As("sup", "GET", "Encounter/" + unit.encounter + "/$session-status");
  BOOST_REQUIRE_MESSAGE(status.status == 200, status.body);
  BOOST_TEST(status.body.find(R"("name":"current","valueCode":"visual-acuity")") != std::string::npos, status.body);
  BOOST_TEST(status.body.find(R"("name":"current","valueCode":"refraction")") != std::string::npos);
  BOOST_TEST(status.body.find(R"("name":"active-staff","valueReference":{"reference":"Practitioner/tech1"})") != std::string::npos);
  BOOST_TEST(status.body.find(R"("name":"code","valueCode":"check-in"},{"name":"task")") != std::string::npos);
  HttpResult queue = unit.As("sup", "GET", "Location/van7/$queue");
  BOOST_REQUIRE_MESSAGE(queue.status == 200, queue.body);
  BOOST_TEST(queue.body.find(R"("name":"count","valueInteger":1)") != std::string::npos, queue.body);
  BOOST_TEST(queue.body.find("Encounter/" + unit.encounter) != std::string::npos);
  BOOST_TEST(queue.body.find(R"("name":"patient","valueReference":{"reference":"Patient/p1"})") != std::string::npos);
  BOOST_TEST(unit.As("sup", "GET", "Location/nowhere/$queue").status == 404);
  BOOST_TEST(unit.As("sup", "GET", "Encounter/nowhere/$session-status").status == 404);

  HttpResult early = unit.Move("tech1", "visual-acuity", "completed", "tech1");
  BOOST_TEST(early.status == 409);
  BOOST_TEST(early.body.find("has no Observation with code 363983007") != std::string::npos, early.body);
  std::string right = unit.Observe("tech1", "363983007", kRight);
  BOOST_TEST(unit.Move("tech1", "visual-acuity", "completed", "tech1").status == 409);  // still no left eye
  std::string left = unit.Observe("tech1", "363983007", kLeft);
  BOOST_TEST(unit.Move("tech2", "visual-acuity", "completed", "tech2").status == 409);  // not tech2's
  HttpResult va_done = unit.Move("tech1", "visual-acuity", "completed", "tech1");
  BOOST_REQUIRE_MESSAGE(va_done.status == 200, va_done.body);
  JsonValue va_task = Json(va_done.body);
  std::string outputs = common::ToJson(*va_task.Find("output"));
  BOOST_TEST(outputs.find("Observation/" + right) != std::string::npos);
  BOOST_TEST(outputs.find("Observation/" + left) != std::string::npos);
  BOOST_TEST(!Str(va_task, {"executionPeriod", "start"}).empty());
  BOOST_TEST(!Str(va_task, {"executionPeriod", "end"}).empty());
  BOOST_TEST(unit.Status("doctor-diagnosis") == "draft");  // refraction is not done yet
  HttpResult back = unit.Move("tech1", "visual-acuity", "in-progress", "tech1");
  BOOST_TEST(back.status == 409);
  BOOST_TEST(back.body.find("from completed it may go to entered-in-error") != std::string::npos, back.body);

  // Refraction through transactions: the claim, then the results and the completion.
  JsonValue rf = unit.Step("refraction");
  rf.Set("status", JsonValue::String("in-progress"));
  JsonValue owner = JsonValue::Object();
  owner.Set("reference", JsonValue::String("Practitioner/tech2"));
  rf.Set("owner", std::move(owner));
  std::string claim = R"({"resourceType":"Bundle","type":"transaction","entry":[{"resource":)" + common::ToJson(rf) +
                      R"(,"request":{"method":"PUT","url":"Task/)" + unit.StepId("refraction") + R"(","ifMatch":"W/\")" +
                      unit.Version(rf) + R"(\""}}]})";
  HttpResult claimed = unit.As("tech2", "POST", "", claim, {{"Content-Type", "application/fhir+json"}});
  BOOST_REQUIRE_MESSAGE(claimed.status == 200, claimed.body);
  unit.Observe("tech2", "251794006", kRight);
  unit.Observe("tech2", "251794006", kLeft);
  JsonValue rf2 = unit.Step("refraction");
  rf2.Set("status", JsonValue::String("completed"));
  std::string complete = R"({"resourceType":"Bundle","type":"transaction","entry":[{"resource":)" + common::ToJson(rf2) +
                         R"(,"request":{"method":"PUT","url":"Task/)" + unit.StepId("refraction") + R"("}}]})";
  HttpResult completed = unit.As("tech2", "POST", "", complete, {{"Content-Type", "application/fhir+json"}});
  BOOST_REQUIRE_MESSAGE(completed.status == 200, completed.body);
  BOOST_TEST(unit.Status("doctor-diagnosis") == "ready");

  // The doctor's diagnosis needs a DiagnosticReport in the session.
  BOOST_TEST(unit.Move("doc", "doctor-diagnosis", "in-progress", "doc").status == 200);
  BOOST_TEST(unit.Move("doc", "doctor-diagnosis", "completed", "doc").status == 409);
  HttpResult report = unit.As("doc", "POST", "DiagnosticReport", R"({"resourceType":"DiagnosticReport","status":"preliminary",
      "code":{"text":"Vision screening"},"subject":{"reference":"Patient/p1"},"encounter":{"reference":"Encounter/)" + unit.encounter +
      R"("},"conclusion":"Myopia, both eyes; glasses prescribed"})", {{"Content-Type", "application/fhir+json"}});
  BOOST_REQUIRE_MESSAGE(report.status == 201, report.body);
  BOOST_TEST(unit.Move("doc", "doctor-diagnosis", "completed", "doc").status == 200);
  BOOST_TEST(unit.Status("supervisor-approval") == "ready");

  // Approval finishes the session.
  BOOST_TEST(unit.Move("doc", "supervisor-approval", "in-progress", "doc").status == 403);
  BOOST_TEST(unit.Move("sup", "supervisor-approval", "in-progress", "sup").status == 200);
  HttpResult approved = unit.Move("sup", "supervisor-approval", "completed", "sup");
  BOOST_REQUIRE_MESSAGE(approved.status == 200, approved.body);
  BOOST_TEST(Str(unit.Read("Encounter/" + unit.encounter), {"status"}) == "finished");
  BOOST_TEST(!Str(unit.Read("Encounter/" + unit.encounter), {"period", "end"}).empty());
  BOOST_TEST(Str(unit.Read("Task/" + unit.session), {"status"}) == "completed");
  BOOST_TEST(Str(unit.Read("Observation/" + right), {"status"}) == "final");
  BOOST_TEST(Str(unit.Read("Observation/" + left), {"status"}) == "final");
  BOOST_TEST(Str(unit.Read("DiagnosticReport/" + Str(Json(report.body), {"id"})), {"status"}) == "final");

  // Finished: out of the queue; the durations seen today make the next estimate.
  BOOST_TEST(unit.As("sup", "GET", "Location/van7/$queue").body.find(R"("name":"count","valueInteger":0)") != std::string::npos);
  HttpResult finished = unit.As("sup", "GET", "Encounter/" + unit.encounter + "/$session-status");
  BOOST_TEST(finished.body.find(R"("name":"session-status","valueCode":"completed")") != std::string::npos, finished.body);
  BOOST_TEST(finished.body.find("estimated-minutes-remaining") == std::string::npos);
  std::string first_session_step = unit.StepId("visual-acuity");
  std::string first_encounter = unit.encounter;
  unit.Start();  // the same patient again: every step now has a timed example
  HttpResult next = unit.As("reg", "GET", "Encounter/" + unit.encounter + "/$session-status");
  BOOST_REQUIRE_MESSAGE(next.status == 200, next.body);
  BOOST_TEST(next.body.find("estimated-minutes-remaining") != std::string::npos, next.body);
  BOOST_TEST(next.body.find("estimated-completion") != std::string::npos);

  // The record of the work is kept: no delete, in any form.
  HttpResult deleted = unit.As("admin", "DELETE", "Task/" + unit.StepId("check-in"));
  BOOST_TEST(deleted.status == 409, deleted.body);
  BOOST_TEST(deleted.body.find("entered-in-error") != std::string::npos);
  BOOST_TEST(unit.As("admin", "DELETE", "Task?_id=" + unit.StepId("check-in")).status == 409);
  HttpResult in_bundle = unit.As("admin", "POST", "", R"({"resourceType":"Bundle","type":"transaction","entry":[
      {"request":{"method":"DELETE","url":"Task/)" + unit.session + R"("}}]})", {{"Content-Type", "application/fhir+json"}});
  BOOST_TEST(in_bundle.status == 409, in_bundle.body);

  // Each transition has its Provenance, naming who made it.
  HttpResult provenance = unit.As("admin", "GET", "Provenance?target=Task/" + first_session_step);
  BOOST_REQUIRE(provenance.status == 200);
  BOOST_TEST(provenance.body.find("Practitioner/tech1") != std::string::npos);

  // The session's timeline: every change of its Encounter, Tasks and outputs, oldest first,
  // with who made it.
  HttpResult timeline = unit.As("sup", "GET", "Encounter/" + first_encounter + "/$session-timeline");
  BOOST_REQUIRE_MESSAGE(timeline.status == 200, timeline.body);
  JsonValue bundle = Json(timeline.body);
  BOOST_TEST(Str(bundle, {"type"}) == "collection");
  std::string last;
  std::set<std::string> agents;
  bool saw_output = false;
  for (const JsonValue& e : bundle.Find("entry")->items()) {
    const JsonValue& p = *e.Find("resource");
    BOOST_TEST(Str(p, {"resourceType"}) == "Provenance");
    BOOST_TEST(Str(p, {"recorded"}) >= last);
    last = Str(p, {"recorded"});
    for (const JsonValue& a : p.Find("agent")->items()) agents.insert(Str(a, {"who", "reference"}));
    for (const JsonValue& t : p.Find("target")->items()) {
      if (Str(t, {"reference"}).rfind("Observation/" + right, 0) == 0) saw_output = true;
    }
  }
  for (const char* who : {"reg", "tech1", "tech2", "doc", "sup"}) {
    BOOST_TEST(agents.count(std::string("Practitioner/") + who) == 1u, who);
  }
  BOOST_TEST(saw_output);
  // Nothing of the second session (same patient) is in the first one's timeline.
  BOOST_TEST(timeline.body.find("Task/" + unit.StepId("visual-acuity") + "/") == std::string::npos);
  BOOST_TEST(unit.As("sup", "GET", "Encounter/nowhere/$session-timeline").status == 404);
}

BOOST_AUTO_TEST_CASE(StartingNeedsAPatientAUnitAndTheRightRole) {
  Unit unit;
  HttpResult no_patient = unit.As("reg", "POST", "Encounter/$start-screening",
                                  R"({"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{"reference":"Patient/none"}},
                                      {"name":"location","valueReference":{"reference":"Location/none"}}]})",
                                  {{"Content-Type", "application/fhir+json"}});
  BOOST_TEST(no_patient.status == 400);
  BOOST_TEST(no_patient.body.find("Patient/none does not exist") != std::string::npos, no_patient.body);
  HttpResult tech = unit.As("tech1", "POST", "Encounter/$start-screening", R"({"resourceType":"Parameters"})",
                            {{"Content-Type", "application/fhir+json"}});
  BOOST_TEST(tech.status == 403);
  HttpResult metadata = unit.server.Request("GET", "metadata");
  BOOST_TEST(metadata.body.find(R"("name":"start-screening")") != std::string::npos);
  BOOST_TEST(unit.Read("OperationDefinition/start-screening").Find("parameter") != nullptr);
  BOOST_TEST(Str(unit.Read("PlanDefinition/vision-screening"), {"status"}) == "active");
  // An unrunnable plan is refused when written.
  HttpResult bad = unit.As("admin", "PUT", "PlanDefinition/vision-screening", R"({"resourceType":"PlanDefinition","id":"vision-screening","status":"active",
      "action":[{"id":"a","code":[{"coding":[{"system":"https://fovea.health/fhir/CodeSystem/screening-step","code":"a"}]}]}]})",
                           {{"Content-Type", "application/fhir+json"}});
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(bad.body.find("participant.role") != std::string::npos, bad.body);
}

// A visit cancelled (an HL7 A11, or registration through the API) ends its session in the
// same transaction: every step not done yet and the session Task are cancelled with the reason;
// what was done stays done.
BOOST_AUTO_TEST_CASE(CancellingTheVisitCancelsWhatIsLeftOfTheSession) {
  Unit unit;
  unit.Start();
  BOOST_REQUIRE(unit.Move("reg", "check-in", "in-progress", "reg").status == 200);
  BOOST_REQUIRE(unit.Move("reg", "check-in", "completed", "reg").status == 200);
  BOOST_REQUIRE(unit.Move("tech1", "visual-acuity", "in-progress", "tech1").status == 200);
  JsonValue visit = unit.Read("Encounter/" + unit.encounter);
  visit.Set("status", JsonValue::String("cancelled"));
  HttpResult cancelled = unit.As("reg", "PUT", "Encounter/" + unit.encounter, common::ToJson(visit),
                                 {{"Content-Type", "application/fhir+json"}});
  BOOST_REQUIRE_MESSAGE(cancelled.status == 200, cancelled.body);
  BOOST_TEST(unit.Status("check-in") == "completed");
  for (const char* step : {"visual-acuity", "refraction", "doctor-diagnosis", "supervisor-approval"}) {
    JsonValue t = unit.Step(step);
    BOOST_TEST(Str(t, {"status"}) == "cancelled", step);
    BOOST_TEST(Str(t, {"statusReason", "text"}) == "Visit cancelled", step);
  }
  BOOST_TEST(Str(unit.Read("Task/" + unit.session), {"status"}) == "cancelled");
  // Cancelled again: nothing more to change.
  std::string version = unit.Version(unit.Step("refraction"));
  visit = unit.Read("Encounter/" + unit.encounter);
  BOOST_REQUIRE(unit.As("reg", "PUT", "Encounter/" + unit.encounter, common::ToJson(visit),
                        {{"Content-Type", "application/fhir+json"}}).status == 200);
  BOOST_TEST(unit.Version(unit.Step("refraction")) == version);
  BOOST_TEST(unit.As("sup", "GET", "Location/van7/$queue").body.find(R"("name":"count","valueInteger":0)") != std::string::npos);
}

// A check-in Encounter written through the API (here in an EHR's transaction, with the
// Patient it creates) starts the session in the same transaction.
BOOST_AUTO_TEST_CASE(ACheckInEncounterStartsTheSession) {
  TestServer server;
  BOOST_REQUIRE(server.Request("PUT", "Location/van7", R"({"resourceType":"Location","id":"van7","status":"active"})").status == 201);
  HttpResult r = server.Request("POST", "", R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"fullUrl":"urn:uuid:8f0c2f3e-1b7a-4d3c-9e55-2f1d6b0a7c11","resource":{"resourceType":"Patient","name":[{"family":"Mensah"}]},
     "request":{"method":"POST","url":"Patient"}},
    {"fullUrl":"urn:uuid:1c9d5e7a-3b2f-4a6e-8d41-7e0b9c2a5f33","resource":{"resourceType":"Encounter","status":"arrived",
      "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"FLD"},
      "type":[{"coding":[{"system":"https://fovea.health/fhir/CodeSystem/screening-step","code":"screening-session"}]}],
      "subject":{"reference":"urn:uuid:8f0c2f3e-1b7a-4d3c-9e55-2f1d6b0a7c11"},
      "location":[{"location":{"reference":"Location/van7"}}]},
     "request":{"method":"POST","url":"Encounter"}}]})");
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  JsonValue response = Json(r.body);
  std::string location = Str(response.Find("entry")->items()[1], {"response", "location"});
  std::string encounter = location.substr(std::string("Encounter/").size());
  encounter = encounter.substr(0, encounter.find('/'));
  HttpResult tasks = server.Request("GET", "Task?encounter=Encounter/" + encounter + "&_count=50");
  BOOST_REQUIRE(tasks.status == 200);
  JsonValue bundle = Json(tasks.body);
  BOOST_REQUIRE(bundle.Find("entry") != nullptr);
  std::map<std::string, std::string> status;
  for (const JsonValue& e : bundle.Find("entry")->items()) {
    const JsonValue& t = *e.Find("resource");
    status[t.Find("code")->Find("coding")->items().front().Find("code")->scalar()] = t.Find("status")->scalar();
  }
  BOOST_TEST(status.size() == 6u);  // the session and its five steps
  BOOST_TEST(status["screening-session"] == "in-progress");
  BOOST_TEST(status["check-in"] == "ready");
  BOOST_TEST(status["refraction"] == "draft");
  // An Encounter that is not a screening check-in starts nothing.
  HttpResult plain = server.Request("POST", "Encounter", R"({"resourceType":"Encounter","status":"arrived",
      "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"}})");
  BOOST_REQUIRE(plain.status == 201);
  HttpResult none = server.Request("GET", "Task?encounter=Encounter/" + Str(Json(plain.body), {"id"}));
  BOOST_TEST(Json(none.body).Find("entry") == nullptr, none.body);
}

BOOST_AUTO_TEST_CASE(OtherTasksAreNotTheWorkflowsToPolice) {
  TestServer server;
  HttpResult created = server.Request("POST", "Task", R"({"resourceType":"Task","status":"completed","intent":"order"})");
  BOOST_TEST(created.status == 201, created.body);  // an EHR's record of its own finished work
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
