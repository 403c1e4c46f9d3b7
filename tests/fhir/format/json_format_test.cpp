// fhir/format/json_format: FHIR JSON <-> element tree, on hand-made cases and on every official
// R4 example.

#include "fhir/format/json_format.h"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <map>

#include "common/json.h"
#include "fhir/validation/validator.h"
#include "tests/support/shared_data.h"

namespace {

using fhir::definitions::Definitions;
using fhir::model::OperationOutcomeSink;

const Definitions& R4() { return Definitions::R4(); }

std::string RoundTrip(const std::string& json, OperationOutcomeSink& issues) {
  auto parsed = fhir::format::ParseResourceJson(json, R4(), issues);
  BOOST_REQUIRE_MESSAGE(parsed.has_value(), (parsed.has_value() ? "" : parsed.error().message()));
  return fhir::format::WriteResourceJson(*parsed);
}

std::string IssuesText(const OperationOutcomeSink& issues) {
  std::string s;
  for (const auto& i : issues.issues()) s += i.location + ": " + i.diagnostics + "\n";
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(JsonFormatParse)

BOOST_AUTO_TEST_CASE(KeepsDecimalLexemeAndDefinitionOrder) {
  OperationOutcomeSink issues;
  std::string out = RoundTrip(
      R"({"valueQuantity":{"unit":"mmHg","value":1.50},"status":"final","resourceType":"Observation",)"
      R"("code":{"text":"BP"}})",
      issues);
  BOOST_TEST(issues.issues().empty());
  BOOST_TEST(out == R"({"resourceType":"Observation","status":"final","code":{"text":"BP"},)"
                    R"("valueQuantity":{"value":1.50,"unit":"mmHg"}})");
}

BOOST_AUTO_TEST_CASE(PrimitiveExtensionsAndNullsInArraysSurvive) {
  OperationOutcomeSink issues;
  std::string in =
      R"({"resourceType":"Patient","name":[{"given":["A",null],"_given":[null,{"extension":[{"url":"http://e","valueString":"x"}]}]}],)"
      R"("birthDate":"1970-03-30","_birthDate":{"id":"b1"}})";
  std::string out = RoundTrip(in, issues);
  BOOST_TEST(issues.issues().empty(), IssuesText(issues));
  auto a = common::ParseJson(in);
  auto b = common::ParseJson(out);
  BOOST_TEST(common::JsonEquals(*a, *b), out);
}

BOOST_AUTO_TEST_CASE(ContainedResourcesAndNarrative) {
  OperationOutcomeSink issues;
  std::string in =
      R"({"resourceType":"Observation","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},)"
      R"("contained":[{"resourceType":"Patient","id":"p1","active":true}],"status":"final","code":{"text":"x"},"subject":{"reference":"#p1"}})";
  std::string out = RoundTrip(in, issues);
  BOOST_TEST(issues.issues().empty(), IssuesText(issues));
  BOOST_TEST(common::JsonEquals(*common::ParseJson(in), *common::ParseJson(out)), out);
}

struct BadCase {
  const char* name;
  const char* json;
  const char* location;
};

std::ostream& operator<<(std::ostream& os, const BadCase& c) { return os << c.name; }

const BadCase kStructuralErrors[] = {
    {"unknown element", R"({"resourceType":"Patient","nickname":"x"})", "Patient.nickname"},
    {"array for single", R"({"resourceType":"Patient","gender":["male"]})", "Patient.gender"},
    {"object for array", R"({"resourceType":"Patient","name":{"family":"x"}})", "Patient.name"},
    {"string for boolean", R"({"resourceType":"Patient","active":"true"})", "Patient.active"},
    {"number for string", R"({"resourceType":"Patient","name":[{"family":7}]})",
     "Patient.name[0].family"},
    {"illegal choice type", R"({"resourceType":"Observation","status":"final","code":{"text":"x"},"valueUri":"http://x"})",
     "Observation.valueUri"},
    {"empty object", R"({"resourceType":"Patient","maritalStatus":{}})", "Patient.maritalStatus"},
    {"empty array", R"({"resourceType":"Patient","name":[]})", "Patient.name"},
    {"underscore on complex", R"({"resourceType":"Patient","_name":[{}]})", "Patient._name"},
};

BOOST_DATA_TEST_CASE(ReportsStructuralErrorsWithLocation, boost::unit_test::data::make(kStructuralErrors), c) {
  OperationOutcomeSink issues;
  auto parsed = fhir::format::ParseResourceJson(c.json, R4(), issues);
  BOOST_REQUIRE(parsed.has_value());
  BOOST_REQUIRE_MESSAGE(issues.HasErrors(), c.name);
  BOOST_TEST(issues.issues().front().location == c.location);
}

BOOST_AUTO_TEST_CASE(RejectsMissingOrUnknownResourceType) {
  OperationOutcomeSink issues;
  auto missing = fhir::format::ParseResourceJson(R"({"id":"x"})", R4(), issues);
  BOOST_TEST(!missing.has_value());
  BOOST_TEST(missing.error().message().find("resourceType") != std::string::npos);
  auto unknown = fhir::format::ParseResourceJson(R"({"resourceType":"Patients"})", R4(), issues);
  BOOST_TEST(!unknown.has_value());
  BOOST_TEST(unknown.error().message().find("Patients") != std::string::npos);
  auto abstract = fhir::format::ParseResourceJson(R"({"resourceType":"DomainResource"})", R4(), issues);
  BOOST_TEST(!abstract.has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(OfficialExamples)

// Official examples that the specification's own rules reject, with the rule they break. They
// must still round-trip, and validation must keep rejecting them (so the rule stays enforced).
const std::map<std::string, std::string> kRejectedBySpec = {
    // Questionnaire.item.linkId is 1..1 in R4, but the nested display items of this example
    // (the "questionnaire for Questionnaire" qs1) carry no linkId.
    {"Questionnaire-qs1.json", "Questionnaire.item.linkId is required (1..1)"},
};

// Every official R4 JSON example parses without structural issues, validates, and serialises
// back to the same JSON content (member order aside).
BOOST_AUTO_TEST_CASE(AllParseValidateAndRoundTrip) {
  auto examples = test_support::OfficialJsonExamples();
  BOOST_TEST(examples.size() == 705u);
  int valid = 0, round_tripped = 0;
  for (const auto& path : examples) {
    std::string name = path.filename().string();
    std::string text = test_support::ReadFile(path);
    OperationOutcomeSink issues;
    auto parsed = fhir::format::ParseResourceJson(text, R4(), issues);
    BOOST_REQUIRE_MESSAGE(parsed.has_value(), name);
    fhir::validation::ValidateResource(
        *parsed, fhir::model::IssueScope(issues, parsed->type()->name));
    bool expect_rejection = kRejectedBySpec.count(name) > 0;
    BOOST_CHECK_MESSAGE(issues.HasErrors() == expect_rejection,
                        name + (expect_rejection ? " should be rejected but validates"
                                                 : " has issues:\n" + IssuesText(issues)));
    if (!issues.HasErrors()) ++valid;
    std::string out = fhir::format::WriteResourceJson(*parsed);
    auto reparsed = common::ParseJson(out);
    BOOST_REQUIRE_MESSAGE(reparsed.has_value(), name + " serialises to malformed JSON");
    bool same = common::JsonEquals(*common::ParseJson(text), *reparsed);
    BOOST_CHECK_MESSAGE(same, name + " does not round-trip");
    if (same) ++round_tripped;
  }
  BOOST_TEST(valid == 705 - static_cast<int>(kRejectedBySpec.size()));
  BOOST_TEST(round_tripped == 705);
}

BOOST_AUTO_TEST_SUITE_END()
