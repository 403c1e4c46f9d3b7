#include "server/demo_data.h"

#include <chrono>
#include <map>

#include "common/json.h"
#include "common/log.h"
#include "fhir/auth/crypto/secrets.h"
#include "fhir/store/pg/connection.h"
#include "server/admin_commands.h"

namespace server {
namespace {

using common::JsonValue;
using fhir::rest::RestRequest;
using fhir::rest::RestResponse;

struct DemoPatient {
  const char* key;  // the MRN's value and the transaction's fullUrl suffix
  const char* family;
  const char* given;
  const char* gender;
  const char* birth_date;
};

// Children to elderly. The first four are checked in at the unit; the second of them has
// check-in done; the fourth had a screening a year ago.
constexpr DemoPatient kPatients[] = {
    {"100001", "Tan", "Mei", "female", "2016-04-12"},
    {"100002", "Sharma", "Arjun", "male", "2009-09-03"},
    {"100003", "Okafor", "Grace", "female", "1987-01-22"},
    {"100004", "Alvarez", "Tomás", "male", "1956-11-30"},
    {"100005", "O'Brien", "Margaret", "female", "1941-06-17"},
    {"100006", "Haddad", "Yusuf", "male", "1972-03-08"},
    {"100007", "Novak", "Lena", "female", "1995-12-01"},
};
// A session-level advisory lock (Fovea's other keys differ), released with its connection.
constexpr fhir::store::pg::PgQuery kDemoDataLock{"demo.lock", "SELECT pg_advisory_lock(7406512003)"};

constexpr int kCheckedIn = 4;
constexpr int kCheckInDone = 1;  // index into kPatients: acuity and refraction ready
constexpr int kAtDoctor = 3;     // index into kPatients: waiting for the doctor; seen a year ago

RestResponse Call(fhir::rest::FhirService& service, const std::string& method,
                  const std::string& path, const std::string& body = "") {
  RestRequest req;
  req.method = method;
  std::size_t q = path.find('?');
  req.path = path.substr(0, q);
  if (q != std::string::npos) req.query = fhir::rest::ParseQueryString(path.substr(q + 1));
  req.body = body;
  if (!body.empty()) req.headers = {{"Content-Type", "application/fhir+json"}};
  req.base_url = "urn:fovea:demo";
  req.request_id = "demo-" + fhir::auth::RandomToken(6);
  return service.Handle(req);
}

common::Result<JsonValue> Expect(const RestResponse& res, int status, const std::string& what) {
  if (res.status != status) {
    return common::InternalError("demo data: " + what + " answered " +
                                 std::to_string(res.status) + ": " + res.body.substr(0, 2000));
  }
  return common::ParseJson(res.body);
}

// "Patient/abc/_history/1" -> "abc".
std::string IdFromLocation(const std::string& location) {
  std::size_t slash = location.find('/');
  if (slash == std::string::npos) return {};
  std::size_t end = location.find('/', slash + 1);
  return location.substr(slash + 1, end == std::string::npos ? std::string::npos : end - slash - 1);
}

// The ids a transaction-response assigned, in entry order.
common::Result<std::vector<std::string>> TransactionIds(const JsonValue& bundle) {
  std::vector<std::string> ids;
  const JsonValue* entries = bundle.Find("entry");
  if (entries == nullptr) return common::InternalError("demo data: empty transaction response");
  for (const JsonValue& entry : entries->items()) {
    const JsonValue* response = entry.Find("response");
    const JsonValue* location = response == nullptr ? nullptr : response->Find("location");
    ids.push_back(location == nullptr ? "" : IdFromLocation(location->scalar()));
  }
  return ids;
}

std::string Uuid(int n) {
  std::string digits = std::to_string(n);
  return "urn:uuid:6f1c0d3e-0000-4000-8000-" + std::string(12 - digits.size(), '0') + digits;
}

std::string Entry(const std::string& full_url, const std::string& type, const std::string& resource) {
  return R"({"fullUrl":")" + full_url + R"(","resource":)" + resource +
         R"(,"request":{"method":"POST","url":")" + type + R"("}})";
}

std::string Transaction(const std::vector<std::string>& entries) {
  std::string out = R"({"resourceType":"Bundle","type":"transaction","entry":[)";
  for (std::size_t i = 0; i < entries.size(); ++i) out += (i == 0 ? "" : ",") + entries[i];
  return out + "]}";
}

std::string CodeableConcept(const std::string& system, const std::string& code,
                            const std::string& display) {
  return R"({"coding":[{"system":")" + system + R"(","code":")" + code + R"(","display":")" +
         display + R"("}]})";
}

std::string Quantity(const std::string& value, const std::string& unit, const std::string& code) {
  return R"({"value":)" + value + R"(,"unit":")" + unit +
         R"(","system":"http://unitsofmeasure.org","code":")" + code + R"("})";
}

constexpr const char* kSnomed = "http://snomed.info/sct";
constexpr const char* kRightEye = R"({"coding":[{"system":"http://snomed.info/sct","code":"362502000","display":"Entire right eye"}]})";
constexpr const char* kLeftEye = R"({"coding":[{"system":"http://snomed.info/sct","code":"362503005","display":"Entire left eye"}]})";

// The unit: a vehicle Location run by an Organization; one patient list.
std::string UnitTransaction() {
  std::vector<std::string> entries;
  entries.push_back(Entry(Uuid(1), "Organization", std::string(R"({"resourceType":"Organization",)") +
      R"("identifier":[{"system":")" + kDemoSystem + R"(","value":"org-1"}],"active":true,)"
      R"("name":"Fovea Mobile Eye Screening — demo"})"));
  entries.push_back(Entry(Uuid(2), "Location", std::string(R"({"resourceType":"Location",)") +
      R"("identifier":[{"system":")" + kDemoSystem + R"(","value":"unit-1"}],"status":"active",)"
      R"("name":"Mobile Unit 1 — demo","description":"Vision screening van, demo data",)"
      R"("mode":"instance","physicalType":)" +
      CodeableConcept("http://terminology.hl7.org/CodeSystem/location-physical-type", "ve", "Vehicle") +
      R"(,"managingOrganization":{"reference":")" + Uuid(1) + R"("}})"));
  int n = 10;
  for (const DemoPatient& p : kPatients) {
    entries.push_back(Entry(Uuid(n++), "Patient", std::string(R"({"resourceType":"Patient",)") +
        R"("identifier":[{"use":"usual","type":)" +
        CodeableConcept("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical record number") +
        R"(,"system":")" + kDemoMrnSystem + R"(","value":")" + p.key + R"("}],"active":true,)"
        R"("name":[{"use":"official","family":")" + p.family + R"(","given":[")" + p.given +
        R"("]}],"gender":")" + p.gender + R"(","birthDate":")" + p.birth_date +
        R"(","managingOrganization":{"reference":")" + Uuid(1) + R"("}})"));
  }
  return Transaction(entries);
}

constexpr const char* kCategoryExam = R"("category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"exam","display":"Exam"}]}])";

// An acuity or refraction Observation of one eye, shaped as the console records them
// (web/console/js/clinical.js). `value` is the value[x] or component member.
std::string EyeObservation(const std::string& patient, const std::string& encounter_ref,
                           const std::string& performer, const std::string& code,
                           const std::string& display, const char* eye, const std::string& value,
                           const std::string& when) {
  return std::string(R"({"resourceType":"Observation","status":"final",)") + kCategoryExam +
         R"(,"code":)" + CodeableConcept(kSnomed, code, display) +
         R"(,"subject":{"reference":"Patient/)" + patient + R"("},"encounter":{"reference":")" +
         encounter_ref + R"("},"effectiveDateTime":")" + when +
         R"(","performer":[{"reference":")" + performer + R"("}],)" + value + R"(,"bodySite":)" +
         eye + "}";
}

std::string Acuity(const std::string& snellen) { return R"("valueString":")" + snellen + "\""; }

// Sphere, cylinder, axis and add as the console codes them.
std::string Refraction(const char* sphere, const char* cylinder, const char* axis) {
  auto component = [](const char* code, const char* display, const std::string& value) {
    return R"({"code":{"coding":[{"system":"https://fovea.health/fhir/CodeSystem/refraction-component","code":")" +
           std::string(code) + R"(","display":")" + display + R"("}],"text":")" + display +
           R"("},"valueQuantity":)" + value + "}";
  };
  return std::string(R"("component":[)") + component("sphere", "Sphere", Quantity(sphere, "D", "[diop]")) +
         "," + component("cylinder", "Cylinder", Quantity(cylinder, "D", "[diop]")) + "," +
         component("axis", "Axis", Quantity(axis, "deg", "deg")) + "," +
         component("add", "Add", Quantity("2.00", "D", "[diop]")) + "]";
}

// A finished screening a year ago, as plain resources (the state machine runs on today's
// clock): the Encounter, acuity and refraction per eye, the doctor's report, the spectacles.
std::string PreviousScreening(const std::string& patient, const std::string& unit,
                              const std::string& technician, const std::string& doctor,
                              common::TimePoint start) {
  std::string begin = common::FormatInstant(start);
  std::string end = common::FormatInstant(start + std::chrono::minutes(42));
  std::string subject = R"("subject":{"reference":"Patient/)" + patient + R"("})";
  std::string encounter = R"("encounter":{"reference":")" + Uuid(100) + R"("})";
  auto observation = [&](const std::string& code, const std::string& display, const char* eye,
                         const std::string& value) {
    return EyeObservation(patient, Uuid(100), "Practitioner/" + technician, code, display, eye,
                          value, begin);
  };
  auto lens = [](const char* eye, const char* sphere, const char* cylinder, const char* axis) {
    return std::string(R"({"product":)") +
           CodeableConcept("http://terminology.hl7.org/CodeSystem/ex-visionprescriptionproduct",
                           "lens", "Lens") +
           R"(,"eye":")" + eye + R"(","sphere":)" + sphere + R"(,"cylinder":)" + cylinder +
           R"(,"axis":)" + axis + R"(,"add":2.00})";
  };
  std::vector<std::string> entries;
  entries.push_back(Entry(Uuid(100), "Encounter", std::string(R"({"resourceType":"Encounter",)") +
      R"("status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode",)"
      R"("code":"FLD","display":"field"},"type":[)" +
      CodeableConcept("https://fovea.health/fhir/CodeSystem/screening-step", "screening-session",
                      "Screening session") +
      "]," + subject + R"(,"period":{"start":")" + begin + R"(","end":")" + end +
      R"("},"location":[{"location":{"reference":"Location/)" + unit + R"("}}]})"));
  entries.push_back(Entry(Uuid(101), "Observation",
                          observation("363983007", "Visual acuity", kRightEye, Acuity("6/12"))));
  entries.push_back(Entry(Uuid(102), "Observation",
                          observation("363983007", "Visual acuity", kLeftEye, Acuity("6/9"))));
  entries.push_back(Entry(Uuid(103), "Observation",
                          observation("251794006", "Refraction", kRightEye, Refraction("-1.25", "-0.50", "180"))));
  entries.push_back(Entry(Uuid(104), "Observation",
                          observation("251794006", "Refraction", kLeftEye, Refraction("-1.00", "-0.25", "170"))));
  entries.push_back(Entry(Uuid(105), "DiagnosticReport", std::string(R"({"resourceType":"DiagnosticReport",)") +
      R"("status":"final","code":{"text":"Vision screening"},)" + subject + "," + encounter +
      R"(,"effectiveDateTime":")" + end + R"(","issued":")" + end +
      R"(","performer":[{"reference":"Practitioner/)" + doctor + R"("}],"result":[)"
      R"({"reference":")" + Uuid(101) + R"("},{"reference":")" + Uuid(102) + R"("},)"
      R"({"reference":")" + Uuid(103) + R"("},{"reference":")" + Uuid(104) + R"("}],)"
      R"("conclusion":"Myopia with mild astigmatism and presbyopia, both eyes. Spectacles prescribed; rescreen in 12 months."})"));
  entries.push_back(Entry(Uuid(106), "VisionPrescription", std::string(R"({"resourceType":"VisionPrescription",)") +
      R"("status":"active","created":")" + end + R"(","patient":{"reference":"Patient/)" + patient +
      R"("},)" + encounter + R"(,"dateWritten":")" + end +
      R"(","prescriber":{"reference":"Practitioner/)" + doctor + R"("},"lensSpecification":[)" +
      lens("right", "-1.25", "-0.50", "180") + "," + lens("left", "-1.00", "-0.25", "170") + "]}"));
  return Transaction(entries);
}

std::string StartScreeningParameters(const std::string& patient, const std::string& unit) {
  return R"({"resourceType":"Parameters","parameter":[)"
         R"({"name":"patient","valueReference":{"reference":"Patient/)" + patient + R"("}},)"
         R"({"name":"location","valueReference":{"reference":"Location/)" + unit + R"("}}]})";
}

// The id of the first resource of `type` in $start-screening's Bundle whose code is `code`
// (any code when empty).
std::string FindInSession(const JsonValue& bundle, const std::string& type, const std::string& code) {
  const JsonValue* entries = bundle.Find("entry");
  if (entries == nullptr) return {};
  for (const JsonValue& entry : entries->items()) {
    const JsonValue* r = entry.Find("resource");
    if (r == nullptr || r->Find("resourceType") == nullptr || r->Find("resourceType")->scalar() != type) continue;
    if (code.empty()) return r->Find("id")->scalar();
    const JsonValue* coded = r->Find("code");
    const JsonValue* codings = coded == nullptr ? nullptr : coded->Find("coding");
    if (codings == nullptr) continue;
    for (const JsonValue& c : codings->items()) {
      if (c.Find("code") != nullptr && c.Find("code")->scalar() == code) return r->Find("id")->scalar();
    }
  }
  return {};
}

// Moves a step to `status` (with `owner`) through an ordinary update, as the console does.
common::Status MoveTask(fhir::rest::FhirService& service, const std::string& id,
                        const std::string& status, const std::string& owner) {
  FOVEA_ASSIGN_OR_RETURN(JsonValue task, Expect(Call(service, "GET", "/Task/" + id), 200, "reading a step"));
  task.Set("status", JsonValue::String(status));
  JsonValue ref = JsonValue::Object();
  ref.Set("reference", JsonValue::String(owner));
  task.Set("owner", std::move(ref));
  RestResponse res = Call(service, "PUT", "/Task/" + id, common::ToJson(task));
  if (res.status != 200) {
    return common::InternalError("demo data: moving a step to " + status + " answered " +
                                 std::to_string(res.status) + ": " + res.body.substr(0, 2000));
  }
  return common::Status::Ok();
}

// One step worked as a member of staff does it in the console: claimed, its outputs recorded
// (Observations in the session's Encounter), completed — through the state machine.
common::Status WorkStep(fhir::rest::FhirService& service, const JsonValue& session,
                        const std::string& step, const std::string& owner,
                        const std::vector<std::string>& outputs) {
  std::string task = FindInSession(session, "Task", step);
  if (task.empty()) return common::InternalError("demo data: the session has no " + step + " step");
  FOVEA_RETURN_IF_ERROR(MoveTask(service, task, "in-progress", owner));
  for (const std::string& output : outputs) {
    RestResponse res = Call(service, "POST", "/Observation", output);
    if (res.status != 201) {
      return common::InternalError("demo data: recording the " + step + " answered " +
                                   std::to_string(res.status) + ": " + res.body.substr(0, 2000));
    }
  }
  return MoveTask(service, task, "completed", owner);
}

common::Result<bool> Exists(fhir::rest::FhirService& service, const std::string& type) {
  FOVEA_ASSIGN_OR_RETURN(JsonValue bundle,
                         Expect(Call(service, "GET", "/" + type + "?_count=1&_elements=id"), 200,
                                "searching " + type));
  const JsonValue* entries = bundle.Find("entry");
  return entries != nullptr && !entries->items().empty();
}

}  // namespace

const std::vector<DemoAccount>& DemoAccounts() {
  static const std::vector<DemoAccount> kAccounts = {
      {"registration", "registration", "demo-registration", "Rosa Delgado (demo registration)"},
      {"technician", "technician", "demo-technician", "Sam Whitfield (demo technician)"},
      {"technician", "technician2", "demo-technician2", "Priya Nair (demo technician)"},
      {"doctor", "doctor", "demo-doctor", "Dr Helen Moreau (demo doctor)"},
      {"supervisor", "supervisor", "demo-supervisor", "Kwame Mensah (demo supervisor)"},
  };
  return kAccounts;
}

common::Result<bool> DatabaseIsEmpty(fhir::rest::FhirService& service, fhir::auth::AuthStore& auth) {
  for (const char* type : {"Patient", "Location", "Encounter"}) {
    FOVEA_ASSIGN_OR_RETURN(bool found, Exists(service, type));
    if (found) return false;
  }
  for (const DemoAccount& account : DemoAccounts()) {
    auto user = auth.FindUser(account.username);
    if (user.has_value()) return false;
    if (user.error().code() != common::StatusCode::kNotFound) return user.error();
  }
  return true;
}

common::Result<bool> LoadDemoData(fhir::rest::FhirService& service, fhir::auth::AuthStore& auth,
                                  const common::Clock& clock) {
  FOVEA_ASSIGN_OR_RETURN(bool empty, DatabaseIsEmpty(service, auth));
  if (!empty) {
    common::LogInfo("demo data not loaded: the database already has patients, locations, "
                    "encounters or demo accounts");
    return false;
  }
  std::map<std::string, std::string> staff;  // role -> fhirUser of its first account
  std::string technician2;
  for (const DemoAccount& account : DemoAccounts()) {
    FOVEA_ASSIGN_OR_RETURN(StaffAccount added, AddStaffAccount(service, auth, account.username,
                                                               account.name, {account.role},
                                                               account.password));
    staff.emplace(account.role, added.fhir_user);
    if (std::string(account.username) == "technician2") technician2 = added.fhir_user;
  }

  FOVEA_ASSIGN_OR_RETURN(JsonValue unit_bundle,
                         Expect(Call(service, "POST", "/", UnitTransaction()), 200, "the unit's transaction"));
  FOVEA_ASSIGN_OR_RETURN(std::vector<std::string> ids, TransactionIds(unit_bundle));
  std::string unit = ids.at(1);
  std::vector<std::string> patients(ids.begin() + 2, ids.end());

  auto practitioner_id = [&](const std::string& role) { return IdFromLocation(staff[role]); };
  FOVEA_ASSIGN_OR_RETURN(
      JsonValue previous,
      Expect(Call(service, "POST", "/",
                  PreviousScreening(patients.at(kAtDoctor), unit, practitioner_id("technician"),
                                    practitioner_id("doctor"),
                                    clock.Now() - std::chrono::hours(24 * 365))),
             200, "the previous screening's transaction"));
  (void)previous;

  for (int i = 0; i < kCheckedIn; ++i) {
    FOVEA_ASSIGN_OR_RETURN(JsonValue session,
                           Expect(Call(service, "POST", "/Encounter/$start-screening",
                                       StartScreeningParameters(patients.at(i), unit)),
                                  201, "$start-screening"));
    if (i != kCheckInDone && i != kAtDoctor) continue;
    FOVEA_RETURN_IF_ERROR(WorkStep(service, session, "check-in", staff["registration"], {}));
    if (i != kAtDoctor) continue;
    std::string encounter = "Encounter/" + FindInSession(session, "Encounter", "");
    std::string now = common::FormatInstant(clock.Now());
    auto eye = [&](const char* role, const char* code, const char* display, const char* site,
                   const std::string& value) {
      return EyeObservation(patients.at(i), encounter, staff[role], code, display, site, value, now);
    };
    FOVEA_RETURN_IF_ERROR(WorkStep(
        service, session, "visual-acuity", staff["technician"],
        {eye("technician", "363983007", "Visual acuity", kRightEye, Acuity("6/18")),
         eye("technician", "363983007", "Visual acuity", kLeftEye, Acuity("6/12"))}));
    // The second technician's account does refraction (staff["technician"] is the first one).
    FOVEA_RETURN_IF_ERROR(WorkStep(
        service, session, "refraction", technician2,
        {EyeObservation(patients.at(i), encounter, technician2, "251794006", "Refraction", kRightEye,
                        Refraction("-1.75", "-0.75", "175"), now),
         EyeObservation(patients.at(i), encounter, technician2, "251794006", "Refraction", kLeftEye,
                        Refraction("-1.25", "-0.50", "165"), now)}));
  }
  common::LogInfo("demo data loaded: Mobile Unit 1 (Location/" + unit + "), " +
                  std::to_string(DemoAccounts().size()) + " staff accounts, " +
                  std::to_string(patients.size()) + " patients, " + std::to_string(kCheckedIn) +
                  " waiting at the unit (one past check-in, one waiting for the doctor)");
  return true;
}

common::Result<bool> LoadDemoDataOnce(const std::string& dsn, fhir::rest::FhirService& service,
                                      fhir::auth::AuthStore& auth, const common::Clock& clock) {
  FOVEA_ASSIGN_OR_RETURN(auto lock, fhir::store::pg::PgConnection::Connect(dsn));
  auto locked = lock->Execute(kDemoDataLock, {});
  if (!locked.has_value()) return locked.error();
  return LoadDemoData(service, auth, clock);
}

void WarnAboutDemoAccounts(fhir::auth::AuthStore& auth) {
  std::string published;
  for (const DemoAccount& account : DemoAccounts()) {
    auto user = auth.FindUser(account.username);
    if (user.has_value() && !user->disabled &&
        fhir::auth::VerifyPassword(account.password, user->password_hash)) {
      published += (published.empty() ? "" : ", ") + std::string(account.username);
    }
  }
  if (published.empty()) return;
  common::LogWarning("demo accounts with published passwords (README.md) can sign in: " + published +
                     ". For demonstrations only: disable them (fovea user disable) or give them "
                     "new passwords (fovea user passwd) before real patients are seen");
}

}  // namespace server
