// fhir/rest audit recording: the patients a stored resource concerns, and the audit query.

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

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

}  // namespace
