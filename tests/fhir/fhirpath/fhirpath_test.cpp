// fhir/fhirpath public API: compile errors, the cache, evaluation on a JSON resource, JSON output
// and concurrent evaluation of one compiled expression.

#include "fhir/fhirpath/fhirpath.h"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "fhir/format/json_format.h"

namespace {

namespace fp = fhir::fhirpath;
using fhir::model::Element;

constexpr std::string_view kPatient = R"({
  "resourceType": "Patient", "id": "p1", "active": true,
  "name": [{"family": "Chalmers", "given": ["Peter", "James"]}, {"given": ["Jim"]}],
  "birthDate": "1974-12-25",
  "contained": [{"resourceType": "Organization", "id": "org", "name": "Acme"}],
  "managingOrganization": {"reference": "#org"}
})";

Element ParsePatient() {
  fhir::model::OperationOutcomeSink issues;
  auto parsed = fhir::format::ParseResourceJson(kPatient, fhir::definitions::Definitions::R4(), issues);
  BOOST_TEST_REQUIRE(parsed.has_value());
  BOOST_TEST(!issues.HasErrors());
  return std::move(parsed).value();
}

std::string Eval(const Element& focus, std::string_view expression, const fp::EvaluationContext& context = {}) {
  // Errors come back as text so that a failing check shows them next to the expected JSON.
  auto compiled = fp::Compile(expression);
  if (!compiled.has_value()) return "compile error: " + compiled.error().message();
  auto result = fp::Evaluate(**compiled, focus, context);
  if (!result.has_value()) return "evaluation error: " + result.error().message();
  return fp::CollectionToJson(*result);
}

BOOST_AUTO_TEST_SUITE(FhirpathCompile)

BOOST_AUTO_TEST_CASE(SyntaxErrorNamesThePosition) {
  auto r = fp::Compile("name.given +");
  BOOST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().code() == common::StatusCode::kInvalid);
  BOOST_TEST(r.error().message().find("end of expression") != std::string::npos);

  auto bad_char = fp::Compile("name.given ^ 2");
  BOOST_REQUIRE(!bad_char.has_value());
  BOOST_TEST(bad_char.error().message().find("offset 11") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(UnknownFunctionIsACompileError) {
  auto r = fp::Compile("name.frobnicate()");
  BOOST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().message().find("frobnicate") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(CacheReturnsTheSameObject) {
  auto a = fp::CompileCached("Patient.name.given");
  auto b = fp::CompileCached("Patient.name.given");
  BOOST_REQUIRE(a.has_value());
  BOOST_REQUIRE(b.has_value());
  BOOST_TEST(a->get() == b->get());
  BOOST_TEST((*a)->text() == "Patient.name.given");
  BOOST_TEST(!fp::CompileCached("(").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(FhirpathEvaluate)

BOOST_AUTO_TEST_CASE(PathsOnAJsonPatient) {
  Element patient = ParsePatient();
  BOOST_TEST(Eval(patient, "Patient.name.given") == R"(["Peter","James","Jim"])");
  BOOST_TEST(Eval(patient, "name.where(family.exists()).given.first()") == R"(["Peter"])");
  BOOST_TEST(Eval(patient, "birthDate < @2000-01-01") == "[true]");
  BOOST_TEST(Eval(patient, "managingOrganization.resolve().name") == R"(["Acme"])");
  BOOST_TEST(Eval(patient, "Patient.name[1]") == R"([{"given":["Jim"]}])");
}

BOOST_AUTO_TEST_CASE(ComputedValuesToJson) {
  Element empty;
  BOOST_TEST(Eval(empty, "1 + 1") == "[2]");
  BOOST_TEST(Eval(empty, "1.0 + 2") == "[3.0]");
  BOOST_TEST(Eval(empty, "0.1 + 0.2 = 0.3") == "[true]");
  BOOST_TEST(Eval(empty, "4 'mg'") == R"([{"value":4,"unit":"mg"}])");
  BOOST_TEST(Eval(empty, "@2015-02-04 + 1 month") == R"(["2015-03-04"])");
  BOOST_TEST(Eval(empty, "'a' | 'b' | 'a'") == R"(["a","b"])");
  BOOST_TEST(Eval(empty, "{}") == "[]");
}

BOOST_AUTO_TEST_CASE(HexEncodingAndDecoding) {
  Element empty;
  BOOST_TEST(Eval(empty, "'Fovea'.encode('hex')") == R"(["466f766561"])");
  BOOST_TEST(Eval(empty, "'466F766561'.decode('hex')") == R"(["Fovea"])");
  // Not hex: empty, not an error (and never an exception out of the evaluator).
  BOOST_TEST(Eval(empty, "'zz'.decode('hex')") == "[]");
  BOOST_TEST(Eval(empty, "'abc'.decode('hex')") == "[]");
}

BOOST_AUTO_TEST_CASE(UserVariables) {
  Element empty;
  fp::EvaluationContext context;
  context.variables["limit"] = {fp::Value::Integer(3)};
  BOOST_TEST(Eval(empty, "%limit * 2", context) == "[6]");
  auto compiled = fp::Compile("%missing");
  BOOST_REQUIRE(compiled.has_value());
  BOOST_TEST(!fp::Evaluate(**compiled, empty).has_value());
}

BOOST_AUTO_TEST_CASE(RuntimeErrorsAreInvalid) {
  Element patient = ParsePatient();
  auto compiled = fp::Compile("name.given.single()");
  BOOST_REQUIRE(compiled.has_value());
  auto r = fp::Evaluate(**compiled, patient);
  BOOST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().code() == common::StatusCode::kInvalid);
}

BOOST_AUTO_TEST_CASE(LenientAndStrictChoiceNames) {
  fhir::model::OperationOutcomeSink issues;
  auto obs = fhir::format::ParseResourceJson(
      R"({"resourceType":"Observation","status":"final","code":{"text":"w"},"valueQuantity":{"value":1.50,"unit":"kg"}})",
      fhir::definitions::Definitions::R4(), issues);
  BOOST_REQUIRE(obs.has_value());
  BOOST_TEST(Eval(*obs, "Observation.value.value") == "[1.50]");
  BOOST_TEST(Eval(*obs, "Observation.valueQuantity.unit") == R"(["kg"])");
  BOOST_TEST(Eval(*obs, "Observation.value > 1400 'g'") == "[true]");
  fp::EvaluationContext strict;
  strict.strict = true;
  auto compiled = fp::Compile("Observation.valueQuantity.unit");
  BOOST_REQUIRE(compiled.has_value());
  BOOST_TEST(!fp::Evaluate(**compiled, *obs, strict).has_value());
}

BOOST_AUTO_TEST_CASE(AsOnACollectionFiltersWhenAsked) {
  Element patient = ParsePatient();
  BOOST_TEST(Eval(patient, "(name as HumanName).count()").find("evaluation error") == 0);
  fp::EvaluationContext search;
  search.as_filters_collections = true;
  BOOST_TEST(Eval(patient, "(name as HumanName).count()", search) == "[2]");
  BOOST_TEST(Eval(patient, "name.as(Period).count()", search) == "[0]");
}

BOOST_AUTO_TEST_CASE(OneExpressionManyThreads) {
  Element patient = ParsePatient();
  auto compiled = fp::CompileCached("name.given.where($this.startsWith('J')).count() + name.count()");
  BOOST_REQUIRE(compiled.has_value());
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        auto r = fp::Evaluate(**compiled, patient);
        if (!r.has_value() || fp::CollectionToJson(*r) != "[4]") ++wrong;
        if (!fp::CompileCached("Patient.id").has_value()) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(wrong.load() == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace

BOOST_AUTO_TEST_SUITE(FhirpathLimits)

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

BOOST_AUTO_TEST_CASE(DeepNestingIsASyntaxErrorNotACrash) {
  for (const std::string& text : {std::string(100000, '(') + "1" + std::string(100000, ')'),
                                  std::string(100000, '-') + "1",
                                  Repeat("a[", 50000) + "0" + std::string(50000, ']')}) {
    auto compiled = fhir::fhirpath::Compile(text);
    BOOST_REQUIRE(!compiled.has_value());
    BOOST_TEST(compiled.error().message().find("nested") != std::string::npos);
  }
  BOOST_TEST(fhir::fhirpath::Compile(std::string(50, '(') + "1" + std::string(50, ')')).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
