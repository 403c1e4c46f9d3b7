// fhir/rest audit recording: the patients a stored resource concerns, and the audit query.

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "common/json.h"
#include "fhir/rest/audit_recording.h"
#include "fhir/search/search_parameter.h"

namespace {

using fhir::rest::PatientsOf;
using Patients = std::vector<std::string>;

BOOST_AUTO_TEST_SUITE(AuditPatients)

BOOST_AUTO_TEST_CASE(APatientConcernsItself) {
  BOOST_TEST(PatientsOf("Patient", "p1", R"({"resourceType":"Patient","id":"p1"})") ==
             Patients{"Patient/p1"});
}

BOOST_AUTO_TEST_CASE(SubjectPatientAndBeneficiary) {
  BOOST_TEST(PatientsOf("Observation", "o1",
                        R"({"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/p7","display":"x"}})") ==
             Patients{"Patient/p7"});
  BOOST_TEST(PatientsOf("Coverage", "c1",
                        R"({"resourceType":"Coverage","id":"c1","beneficiary":{"reference":"Patient/b"}})") ==
             Patients{"Patient/b"});
  BOOST_TEST(PatientsOf("Observation", "o2",
                        R"({"resourceType":"Observation","subject":{"reference":"Group/g"}})")
                 .empty());
  BOOST_TEST(PatientsOf("Observation", "o3", "").empty());
  // A Patient reference under another member (a performer, a focus) concerns nobody here.
  BOOST_TEST(PatientsOf("Observation", "o4",
                        R"({"resourceType":"Observation","focus":[{"reference":"Patient/f"}],"subject":{"reference":"Patient/s"}})") ==
             Patients{"Patient/s"});
  BOOST_TEST(PatientsOf("Observation", "o5",
                        R"({"resourceType":"Observation","focus":[{"reference":"Patient/f"}]})").empty());
}

// Contained resources come first in canonical JSON and may name other patients: the top-level
// subject is what counts.
BOOST_AUTO_TEST_CASE(ContainedResourcesDoNotMislead) {
  std::string content =
      R"({"resourceType":"Observation","id":"o1","contained":[{"resourceType":"Observation",)"
      R"("id":"c","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/other"}}],)"
      R"("status":"final","code":{"text":"y"},"subject":{"reference":"Patient/real"}})";
  BOOST_TEST(PatientsOf("Observation", "o1", content) == Patients{"Patient/real"});
}

BOOST_AUTO_TEST_CASE(TheQueryIsThePathAndParameters) {
  fhir::rest::RestRequest req;
  req.path = "/Observation";
  req.query = {{"patient", "Patient/1"}, {"_count", "10"}};
  BOOST_TEST(fhir::rest::AuditQuery(req) == "Observation?patient=Patient%2F1&_count=10");
}

BOOST_AUTO_TEST_SUITE_END()

// A write the server makes on its own (a step alert Flag): with Provenance stored, a companion
// and the row; from the audit trail, the row alone, naming the target and its action, from
// which the same Provenance is rebuilt.
BOOST_AUTO_TEST_SUITE(ServerWrites)

BOOST_AUTO_TEST_CASE(TheAuditRowIsTheProvenanceFromTheAuditTrail) {
  fhir::store::ResourceVersion v;
  v.type = "Flag";
  v.id = "f1";
  v.version = 1;
  v.method = fhir::store::Method::kCreate;
  v.last_updated = common::TimePoint(std::chrono::seconds(1'780'000'000));
  v.content = R"({"resourceType":"Flag","id":"f1","status":"active","code":{"text":"overdue"},
                  "subject":{"reference":"Patient/p1"}})";
  auto registry = fhir::search::SearchParameterRegistry::R4();
  auto stored = fhir::rest::AuditServerWrite(v, "Fovea step alerts", "fovea", registry.get(),
                                             fhir::audit::ProvenanceStorage::kResource);
  BOOST_REQUIRE(stored.has_value());
  BOOST_TEST(stored->companions.size() == 1u);
  auto derived = fhir::rest::AuditServerWrite(v, "Fovea step alerts", "fovea", registry.get(),
                                              fhir::audit::ProvenanceStorage::kAuditTrail);
  BOOST_REQUIRE(derived.has_value());
  BOOST_TEST(derived->companions.empty());
  auto rows = common::ParseJson(derived->audit_rows_json);
  BOOST_REQUIRE(rows.has_value());
  const common::JsonValue& row = rows->items().at(0);
  BOOST_TEST(row.Find("t")->items().at(0).scalar() == "Flag/f1");
  // The row's action says what the write did: no per-entity actions are kept.
  BOOST_TEST(row.Find("a")->scalar() == "C");
  BOOST_TEST(row.Find("x")->scalar().find(R"("A":)") == std::string::npos, row.Find("x")->scalar());
}

// Writes of several kinds at once (a transaction; an update and the next step it readies): one
// AuditEvent row naming every version, with each one's action where the record's does not say
// it; one stored Provenance per kind of change, or none from the audit trail.
BOOST_AUTO_TEST_CASE(WritesOfSeveralKindsAtOnce) {
  std::vector<fhir::store::PlannedWrite> writes(3);
  const char* ids[] = {"t1", "t2", "o1"};
  const fhir::store::Method methods[] = {fhir::store::Method::kUpdate, fhir::store::Method::kUpdate,
                                         fhir::store::Method::kCreate};
  for (int i = 0; i < 3; ++i) {
    fhir::store::ResourceVersion& v = writes[i].version;
    v.type = i < 2 ? "Task" : "Observation";
    v.id = ids[i];
    v.version = methods[i] == fhir::store::Method::kCreate ? 1 : 2;
    v.method = methods[i];
    v.last_updated = common::TimePoint(std::chrono::seconds(1'780'000'000));
    v.content = R"({"resourceType":")" + v.type + R"(","id":")" + v.id +
                R"(","subject":{"reference":"Patient/p)" + std::to_string(i / 2 + 1) + R"("}})";
  }
  fhir::audit::AuditRecord record;
  record.interaction = fhir::audit::Interaction::kTransaction;
  record.agent_reference = "Practitioner/d1";
  record.request_id = "req-1";
  auto registry = fhir::search::SearchParameterRegistry::R4();
  auto stored = fhir::rest::AuditWrites(writes, record, registry.get(), fhir::audit::ProvenanceStorage::kResource);
  BOOST_REQUIRE(stored.has_value());
  BOOST_REQUIRE(stored->companions.size() == 2u);  // the create's, the updates' (activity order)
  BOOST_TEST(stored->companions[0].content.find("Observation/o1/_history/1") != std::string::npos);
  BOOST_TEST(stored->companions[0].content.find("Task/") == std::string::npos);
  BOOST_TEST(stored->companions[1].content.find("Task/t2/_history/2") != std::string::npos);
  BOOST_TEST(stored->companions[1].content.find("Observation/o1") == std::string::npos);
  for (const auto& c : stored->companions) {
    BOOST_TEST(c.content.find("Practitioner/d1") != std::string::npos);
    BOOST_TEST(c.content.find("req-1") != std::string::npos);
  }
  auto derived = fhir::rest::AuditWrites(writes, record, registry.get(), fhir::audit::ProvenanceStorage::kAuditTrail);
  BOOST_REQUIRE(derived.has_value());
  BOOST_TEST(derived->companions.empty());
  // The same row, but for the mark that the row is the Provenance.
  BOOST_TEST(stored->audit_rows_json.find(R"(\"pv\":true)") == std::string::npos, stored->audit_rows_json);
  BOOST_TEST(derived->audit_rows_json.find(R"(\"pv\":true)") != std::string::npos, derived->audit_rows_json);
  auto rows = common::ParseJson(derived->audit_rows_json);
  BOOST_REQUIRE(rows.has_value());
  const common::JsonValue& row = rows->items().at(0);
  const std::string details = row.Find("x")->scalar();
  BOOST_TEST(details.find(R"("A":"UUC")") != std::string::npos, details);
  BOOST_TEST(row.Find("t")->items().size() == 3u);
  // Both patients, once each.
  BOOST_TEST(details.find("Patient/p1") != std::string::npos, details);
  BOOST_TEST(details.find("Patient/p2") != std::string::npos, details);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
