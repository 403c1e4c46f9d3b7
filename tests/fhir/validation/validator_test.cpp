// fhir/validation: golden files. Each tests/testdata/r4/validation/NAME.json is validated the way
// a write is (parse + validate) and the OperationOutcome must equal NAME.outcome.json, ignoring
// the order of issues. FOVEA_UPDATE_GOLDEN=1 rewrites the expected files.

#include "fhir/validation/validator.h"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "common/json.h"
#include "fhir/format/json_format.h"
#include "fhir/rest/outcome.h"
#include "tests/support/shared_data.h"

namespace {

std::filesystem::path GoldenDir() {
  return std::filesystem::path(FOVEA_SOURCE_DIR) / "tests/testdata/r4/validation";
}

std::string OutcomeFor(const std::string& body) {
  fhir::model::OperationOutcomeSink issues;
  auto parsed =
      fhir::format::ParseResourceJson(body, fhir::definitions::Definitions::R4(), issues);
  if (!parsed.has_value()) return fhir::rest::OperationOutcomeJson(parsed.error());
  fhir::validation::ValidateResource(*parsed,
                                     fhir::model::IssueScope(issues, parsed->type()->name));
  return fhir::rest::OperationOutcomeJson(issues.issues());
}

// Issues as a sorted multiset of their JSON text.
std::multiset<std::string> IssueSet(const std::string& outcome) {
  auto json = common::ParseJson(outcome);
  BOOST_REQUIRE(json.has_value());
  std::multiset<std::string> out;
  if (const common::JsonValue* issues = json->Find("issue")) {
    for (const auto& issue : issues->items()) out.insert(common::ToJson(issue));
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ValidatorGolden)

BOOST_AUTO_TEST_CASE(MatchesEveryGoldenOutcome) {
  int cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(GoldenDir())) {
    std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".json" || name.find(".outcome.") != std::string::npos)
      continue;
    ++cases;
    std::filesystem::path expected_path = entry.path();
    expected_path.replace_extension(".outcome.json");
    std::string actual = OutcomeFor(test_support::ReadFile(entry.path()));
    if (std::getenv("FOVEA_UPDATE_GOLDEN") != nullptr) {
      std::ofstream(expected_path) << actual << "\n";  // regenerate; review the diff before committing
    }
    BOOST_REQUIRE_MESSAGE(std::filesystem::exists(expected_path),
                          "missing golden file " << expected_path << "; actual:\n" << actual);
    BOOST_CHECK_MESSAGE(IssueSet(actual) == IssueSet(test_support::ReadFile(expected_path)),
                        name << " produced:\n" << actual);
  }
  BOOST_TEST(cases >= 9);
}

BOOST_AUTO_TEST_SUITE_END()
