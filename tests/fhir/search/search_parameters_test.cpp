// fhir/search: every R4 search parameter's FHIRPath expression evaluates without error on every
// official example of its base types, and extraction turns the results into index rows.

#include <boost/test/unit_test.hpp>

#include <functional>
#include <map>
#include <string_view>

#include "fhir/fhirpath/fhirpath.h"
#include "fhir/format/json_format.h"
#include "fhir/search/index_extractor.h"
#include "fhir/search/search_parameter.h"
#include "tests/support/shared_data.h"

namespace {

using fhir::search::SearchParameterRegistry;

// A row's parameter: "identifier" rows of a reference parameter are named "entity:identifier".
std::string_view ParameterOf(std::string_view row_param) {
  return row_param.substr(0, row_param.find(':'));
}

// Keeps rows by a fixed rule that splits every type's parameters (and the two full-text codes)
// into kept and dropped ones, and drops some derived rows of kept parameters too.
bool Kept(std::string_view param) {
  std::hash<std::string_view> hash;
  if (hash(ParameterOf(param)) % 2 != 0) return false;
  return param.find(':') == std::string_view::npos || hash(param) % 3 != 0;
}

template <class Rows>
void Keep(Rows& rows) {
  std::erase_if(rows, [](const auto& row) { return !Kept(row.param); });
}

// ExtractIndex's rows with the filter applied afterwards.
void KeepKept(fhir::search::IndexRows& r) {
  Keep(r.strings), Keep(r.tokens), Keep(r.references), Keep(r.dates), Keep(r.numbers);
  Keep(r.quantities), Keep(r.uris), Keep(r.composite_tokens), Keep(r.composite_quantities);
  Keep(r.composite_dates), Keep(r.composite_strings), Keep(r.composite_numbers);
  Keep(r.composite_references), Keep(r.texts);
}

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

BOOST_AUTO_TEST_CASE(AFilteredExtractionGivesTheFilteredRowsOfAFullOne) {
  auto registry = SearchParameterRegistry::R4();
  const auto& defs = fhir::definitions::Definitions::R4();
  int compared = 0, kept_rows = 0, dropped_rows = 0, all_evaluated = 0, filtered_evaluated = 0;
  for (const auto& path : test_support::OfficialJsonExamples()) {
    fhir::model::FailFastSink issues;
    auto resource = fhir::format::ParseResourceJson(test_support::ReadFile(path), defs, issues);
    BOOST_REQUIRE(resource.has_value());
    fhir::search::ExtractionStats full_stats, filtered_stats;
    fhir::search::IndexRows full = fhir::search::ExtractIndex(*resource, *registry, &full_stats);
    const std::size_t all = full.size();
    KeepKept(full);
    fhir::search::IndexRows filtered =
        fhir::search::ExtractIndex(*resource, *registry, Kept, &filtered_stats);
    all_evaluated += full_stats.parameters;
    filtered_evaluated += filtered_stats.parameters;
    BOOST_TEST(filtered.ToJson() == full.ToJson(), path.filename().string());
    ++compared;
    kept_rows += static_cast<int>(full.size());
    dropped_rows += static_cast<int>(all - full.size());
  }
  // The rule really splits: both sides hold many rows.
  BOOST_TEST(compared > 500);
  BOOST_TEST(kept_rows > 2000);
  BOOST_TEST(dropped_rows > 2000);
  // The dropped parameters were not evaluated at all (about half of them).
  BOOST_TEST(filtered_evaluated < all_evaluated * 3 / 4, filtered_evaluated << " of " << all_evaluated);
}

BOOST_AUTO_TEST_SUITE_END()
