// fhir/rest audit recording: the patients a stored resource concerns, and the audit query.

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "common/json.h"
#include "fhir/rest/audit_recording.h"

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
  auto stored = fhir::rest::AuditServerWrite(v, "Fovea step alerts", "fovea", registry.get());
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
  BOOST_TEST(row.Find("x")->scalar().find(R"("A":"C")") != std::string::npos, row.Find("x")->scalar());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
