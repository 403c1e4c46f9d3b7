#include "adapters/hl7v2/mapping/adt_mapping.h"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/validation_issues.h"

namespace {

namespace fs = std::filesystem;
using adapters::hl7v2::Message;
using adapters::hl7v2::mapping::AdtOptions;
using adapters::hl7v2::mapping::MapAdt;
using adapters::hl7v2::mapping::ToFhirDate;
using adapters::hl7v2::mapping::ToFhirDateTime;
using common::JsonValue;

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

fs::path SampleDir() {
  const char* shared = std::getenv("FOVEA_SHARED_DIR");
  return fs::path(shared != nullptr ? shared : FOVEA_SOURCE_DIR "/../shared") / "testdata/hl7v2";
}

const JsonValue* Resource(const JsonValue& bundle, const std::string& type) {
  for (const auto& e : bundle.Find("entry")->items()) {
    const JsonValue* r = e.Find("resource");
    if (r != nullptr && r->Find("resourceType")->scalar() == type) return r;
  }
  return nullptr;
}

BOOST_AUTO_TEST_SUITE(AdtMapping)

// Every ADT sample either maps to resources that pass R4 validation, or is refused with a
// reason naming a field (unsupported events are rejected, not guessed at).
BOOST_AUTO_TEST_CASE(EveryAdtSampleMapsToValidResources) {
  int mapped = 0;
  for (const auto& e : fs::directory_iterator(SampleDir())) {
    std::string name = e.path().filename().string();
    if (name.rfind("ADT", 0) != 0) continue;
    BOOST_TEST_CONTEXT(name) {
      auto m = Message::Parse(Read(e.path()));
      BOOST_REQUIRE(m.has_value());
      auto out = MapAdt(*m, AdtOptions{"Location/unit-1", "hl7v2-in-1"});
      BOOST_REQUIRE_MESSAGE(out.bundle.has_value(), (out.error ? out.error->text : std::string()));
      if (m->TriggerEvent() == "A29") {
        // Delete person information: the Patient marked inactive, the record kept.
        BOOST_TEST(common::ToJson(*out.bundle).find("Patient.active") != std::string::npos);
      }
      ++mapped;
      for (const auto& entry : out.bundle->Find("entry")->items()) {
        std::string json = common::ToJson(*entry.Find("resource"));
        BOOST_TEST(test_support::ValidationIssues(json) == "", json);
      }
    }
  }
  BOOST_TEST(mapped >= 19);
}

BOOST_AUTO_TEST_CASE(A04IsPatientUpsertAndCheckInEncounter) {
  auto m = Message::Parse(Read(SampleDir() / "ADT-A04-01.hl7"));
  BOOST_REQUIRE(m.has_value());
  auto out = MapAdt(*m, AdtOptions{"Location/unit-1", "hl7v2-in-7"});
  BOOST_REQUIRE(out.bundle.has_value());
  const auto& entries = out.bundle->Find("entry")->items();
  BOOST_REQUIRE_EQUAL(entries.size(), 3u);
  BOOST_TEST(entries[0].Find("request")->Find("method")->scalar() == "PUT");
  BOOST_TEST(entries[0].Find("request")->Find("url")->scalar() ==
             "Patient?identifier=urn:fovea:hl7v2:id:test1|PATID1234");
  const JsonValue* patient = Resource(*out.bundle, "Patient");
  BOOST_TEST(patient->Find("birthDate")->scalar() == "1988-08-18");
  BOOST_TEST(patient->Find("gender")->scalar() == "male");
  BOOST_TEST(patient->Find("name")->items()[0].Find("family")->scalar() == "EVERYMAN");
  const JsonValue* enc = Resource(*out.bundle, "Encounter");
  BOOST_TEST(enc->Find("status")->scalar() == "arrived");
  BOOST_TEST(enc->Find("subject")->Find("reference")->scalar() == entries[0].Find("fullUrl")->scalar());
  BOOST_TEST(enc->Find("type")->items()[0].Find("coding")->items()[0].Find("code")->scalar() == "screening-session");
  BOOST_TEST(enc->Find("location")->items()[0].Find("location")->Find("reference")->scalar() == "Location/unit-1");
  BOOST_TEST(enc->Find("period")->Find("start")->scalar() == "2029-08-01T07:06:24+01:15");
  BOOST_TEST(entries[1].Find("request")->Find("ifNoneExist") != nullptr);
  BOOST_TEST(entries[2].Find("request")->Find("url")->scalar() == "MessageHeader/hl7v2-in-7");
}

BOOST_AUTO_TEST_CASE(BadDataIsAnErrorNamingTheField) {
  auto m = Message::Parse("MSH|^~\\&|A|B|C|D|20240101||ADT^A04|C1|P|2.5.1\rPID|1||42^^^H^MR||Doe^J||19801340|F\r");
  BOOST_REQUIRE(m.has_value());
  auto out = MapAdt(*m, {});
  BOOST_REQUIRE(out.error.has_value());
  BOOST_TEST(!out.error->reject);
  BOOST_TEST(out.error->location.ToString() == "PID-7");
  BOOST_TEST(out.error->code == "102");

  auto no_id = Message::Parse("MSH|^~\\&|A|B|C|D|20240101||ADT^A04|C1|P|2.5.1\rPID|1||||Doe^J\r");
  BOOST_REQUIRE(no_id.has_value());
  auto out2 = MapAdt(*no_id, {});
  BOOST_REQUIRE(out2.error.has_value());
  BOOST_TEST(out2.error->location.ToString() == "PID-3");
  BOOST_TEST(out2.error->code == "101");

  auto cancel = Message::Parse("MSH|^~\\&|A|B|C|D|20240101||ADT^A11|C1|P|2.5.1\rPID|1||42^^^H^MR\rPV1|1|O\r");
  BOOST_REQUIRE(cancel.has_value());
  auto out3 = MapAdt(*cancel, {});
  BOOST_REQUIRE(out3.error.has_value());
  BOOST_TEST(out3.error->location.ToString() == "PV1-19");
}

BOOST_AUTO_TEST_CASE(RejectsOtherTypesAndVersions) {
  auto oru = Message::Parse("MSH|^~\\&|A|B|C|D|20240101||ORU^R01|C1|P|2.5.1\r");
  BOOST_REQUIRE(oru.has_value());
  auto out = MapAdt(*oru, {});
  BOOST_REQUIRE(out.error.has_value());
  BOOST_TEST(out.error->reject);
  BOOST_TEST(out.error->code == "200");
  auto v22 = Message::Parse("MSH|^~\\&|A|B|C|D|20240101||ADT^A04|C1|P|2.2\r");
  BOOST_REQUIRE(v22.has_value());
  auto out2 = MapAdt(*v22, {});
  BOOST_REQUIRE(out2.error.has_value());
  BOOST_TEST(out2.error->code == "203");
}

BOOST_AUTO_TEST_CASE(A47FindsThePatientByItsOldIdentifierAndCancellationsChangeNothing) {
  auto a47 = Message::Parse("MSH|^~\\&|A|B|C|D|20240101||ADT^A47|C1|P|2.5.1\rPID|1||NEW-1^^^H^MR||Doe^J\rMRG|OLD-1^^^H^MR\r");
  BOOST_REQUIRE(a47.has_value());
  auto out = MapAdt(*a47, {"", "m1"});
  BOOST_REQUIRE(out.bundle.has_value());
  const auto& entries = out.bundle->Find("entry")->items();
  BOOST_REQUIRE_EQUAL(entries.size(), 2u);
  BOOST_TEST(entries[0].Find("request")->Find("url")->scalar() == "Patient?identifier=urn:fovea:hl7v2:id:H|OLD-1");
  BOOST_TEST(common::ToJson(*entries[0].Find("resource")).find("NEW-1") != std::string::npos);

  auto a12 = Message::Parse("MSH|^~\\&|A|B|C|D|20240101||ADT^A12|C2|P|2.5.1\rPID|1||X^^^H^MR\r");
  BOOST_REQUIRE(a12.has_value());
  auto cancel = MapAdt(*a12, {"", "m2"});
  BOOST_REQUIRE(cancel.bundle.has_value());
  BOOST_REQUIRE_EQUAL(cancel.bundle->Find("entry")->items().size(), 1u);
  BOOST_TEST(cancel.bundle->Find("entry")->items()[0].Find("request")->Find("url")->scalar() == "MessageHeader/m2");
}

BOOST_AUTO_TEST_CASE(Timestamps) {
  BOOST_TEST(*ToFhirDate("19800229") == "1980-02-29");
  BOOST_TEST(!ToFhirDate("19810229").has_value());
  BOOST_TEST(*ToFhirDate("198002") == "1980-02");
  BOOST_TEST(*ToFhirDateTime("202401021530+0100") == "2024-01-02T15:30:00+01:00");
  BOOST_TEST(*ToFhirDateTime("20240102153045.12-0500") == "2024-01-02T15:30:45.12-05:00");
  BOOST_TEST(*ToFhirDateTime("202401021530") == "2024-01-02");  // no zone: the day only
  BOOST_TEST(!ToFhirDateTime("2024010215+99").has_value());
  BOOST_TEST(!ToFhirDateTime("20241302").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
