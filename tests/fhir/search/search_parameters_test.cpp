// fhir/search: every R4 search parameter's FHIRPath expression evaluates without error on every
// official example of its base types, and extraction turns the results into index rows.

#include <boost/test/unit_test.hpp>

#include <map>

#include "fhir/fhirpath/fhirpath.h"
#include "fhir/format/json_format.h"
#include "fhir/search/index_extractor.h"
#include "fhir/search/search_parameter.h"
#include "tests/support/shared_data.h"

namespace {

using fhir::search::SearchParameterRegistry;

}  // namespace

BOOST_AUTO_TEST_SUITE(SearchParameterExpressions)

BOOST_AUTO_TEST_CASE(RegistryHoldsEveryR4Parameter) {
  auto registry = SearchParameterRegistry::R4();
  BOOST_TEST(registry->size() == 1375u);
  BOOST_REQUIRE(registry->Find("Patient", "birthdate") != nullptr);
  BOOST_TEST(registry->Find("Patient", "birthdate")->expression ==
             "Patient.birthDate | Person.birthDate | RelatedPerson.birthDate");
  BOOST_REQUIRE(registry->Find("Observation", "_tag") != nullptr);  // inherited from Resource
  BOOST_TEST(registry->Find("Patient", "nonsense") == nullptr);
  BOOST_TEST(registry->FindByUrl("http://hl7.org/fhir/SearchParameter/Patient-name") != nullptr);
}

BOOST_AUTO_TEST_CASE(EveryExpressionEvaluatesOnEveryExampleOfItsTypes) {
  auto registry = SearchParameterRegistry::R4();
  const auto& defs = fhir::definitions::Definitions::R4();
  int evaluations = 0, rows = 0;
  std::map<std::string, std::string> failures;  // parameter url -> first failure
  for (const auto& path : test_support::OfficialJsonExamples()) {
    fhir::model::FailFastSink issues;
    auto resource = fhir::format::ParseResourceJson(test_support::ReadFile(path), defs, issues);
    BOOST_REQUIRE(resource.has_value());
    fhir::search::ExtractionStats stats;
    rows += static_cast<int>(fhir::search::ExtractIndex(*resource, *registry, &stats).size());
    evaluations += stats.parameters;
    if (stats.failed == 0) continue;
    // Find which expressions failed, for the message.
    for (const auto* p : registry->ForType(resource->type()->name)) {
      if (p->expression.empty()) continue;
      auto expr = fhir::fhirpath::CompileCached(p->expression);
      if (!expr.has_value()) {
        failures.emplace(p->url, "compile: " + expr.error().message());
        continue;
      }
      fhir::fhirpath::EvaluationContext context;
      context.resolver = [](std::string_view) -> const fhir::model::Element* { return nullptr; };
      auto result = fhir::fhirpath::Evaluate(**expr, *resource, context);
      if (!result.has_value()) {
        failures.emplace(p->url, path.filename().string() + ": " + result.error().message());
      }
    }
  }
  for (const auto& [url, why] : failures) BOOST_TEST_MESSAGE(url << " -> " << why);
  BOOST_TEST(failures.empty(), failures.size() << " parameters fail");
  BOOST_TEST(evaluations > 10000);
  BOOST_TEST(rows > 5000);
}

BOOST_AUTO_TEST_SUITE_END()
