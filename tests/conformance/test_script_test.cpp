// TestScript parsing (JSON and XML give the same model; malformed scripts are refused with a
// reason, never a crash), the XPath subset, and the operators, table-driven.

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <ostream>
#include <string>
#include <vector>

#include "conformance/engine/asserts.h"
#include "conformance/engine/test_script.h"
#include "tests/support/shared_data.h"

namespace {

namespace engine = conformance::engine;

struct Bad {
  const char* text;
  const char* why;  // part of the error message
};
std::ostream& operator<<(std::ostream& os, const Bad& b) { return os << b.text; }

const Bad kBad[] = {
    {"", "empty"},
    {"{", ""},
    {"[]", "not a TestScript"},
    {R"({"resourceType":"Patient"})", "not a TestScript"},
    {R"({"resourceType":"TestScript","test":[{"action":[{}]}]})", "exactly one of operation or assert"},
    {R"({"resourceType":"TestScript","setup":{"action":[{"operation":{},"assert":{}}]}})", "exactly one of operation or assert"},
    {R"({"resourceType":"TestScript","fixture":[{"autocreate":true}]})", "fixture has no id"},
    {R"({"resourceType":"TestScript","variable":[{"defaultValue":"x"}]})", "variable has no name"},
    {"<TestScript xmlns=\"http://hl7.org/fhir\"><test><action/></test>", ""},
    {"<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><TestScript/>", ""},
    {"<Patient xmlns=\"http://hl7.org/fhir\"/>", "not a TestScript"},
};

struct Odd {
  const char* text;
};
std::ostream& operator<<(std::ostream& os, const Odd& o) { return os << o.text; }

// Shapes a hand-written script may have: wrong JSON kinds are ignored, not crashed on.
const Odd kOdd[] = {
    {R"({"resourceType":"TestScript","test":"nope","fixture":{},"variable":{},"profile":[1,null]})"},
    {R"({"resourceType":"TestScript","test":[{"action":[{"operation":{"type":"read","destination":"x"}}]}]})"},
    {R"({"resourceType":"TestScript","test":[{"action":[{"assert":{"navigationLinks":"yes","warningOnly":1}}]}]})"},
    {R"({"resourceType":"TestScript","test":[{"name":{"a":1},"action":[]}]})"},
};

}  // namespace

BOOST_AUTO_TEST_SUITE(ParseTestScript)

BOOST_DATA_TEST_CASE(RefusesWhatIsNotARunnableScript, boost::unit_test::data::make(kBad), b) {
  auto parsed = engine::ParseTestScript(b.text);
  BOOST_TEST_REQUIRE(!parsed.has_value());
  BOOST_TEST(parsed.error().message().find(b.why) != std::string::npos, parsed.error().message());
}

BOOST_DATA_TEST_CASE(IgnoresWrongKindsInsteadOfCrashing, boost::unit_test::data::make(kOdd), o) {
  auto parsed = engine::ParseTestScript(o.text);
  BOOST_TEST(parsed.has_value());
}

// The HL7 example in both formats: the same fixtures, variables, actions and asserts.
BOOST_AUTO_TEST_CASE(JsonAndXmlGiveTheSameModel) {
  auto dir = test_support::SharedDir() / "testdata/testscripts/hl7-r4-spec-examples";
  auto json = engine::ParseTestScriptFile((dir / "TestScript-testscript-example.json").string());
  auto xml = engine::ParseTestScriptFile((dir / "testscript-example.xml").string());
  BOOST_TEST_REQUIRE(json.has_value());
  BOOST_TEST_REQUIRE(xml.has_value(), (xml.has_value() ? "" : xml.error().message()));
  BOOST_TEST(json->name == xml->name);
  BOOST_TEST_REQUIRE(json->fixtures.size() == xml->fixtures.size());
  BOOST_TEST(json->fixtures[0].reference == xml->fixtures[0].reference);
  BOOST_TEST(json->variables.size() == xml->variables.size());
  BOOST_TEST(json->profiles == xml->profiles);
  BOOST_TEST_REQUIRE(json->setup.size() == xml->setup.size());
  BOOST_TEST_REQUIRE(json->tests.size() == xml->tests.size());
  BOOST_TEST_REQUIRE(json->tests[0].actions.size() == xml->tests[0].actions.size());
  for (std::size_t i = 0; i < json->tests[0].actions.size(); ++i) {
    const auto& a = json->tests[0].actions[i];
    const auto& b = xml->tests[0].actions[i];
    BOOST_TEST(a.operation.has_value() == b.operation.has_value());
    if (a.assertion && b.assertion) {
      BOOST_TEST(a.assertion->path == b.assertion->path);
      BOOST_TEST(a.assertion->value == b.assertion->value);
      BOOST_TEST(a.assertion->warning_only == b.assertion->warning_only);
      BOOST_TEST(a.assertion->minimum_id == b.assertion->minimum_id);
    }
  }
  const auto& first = *json->setup[0].operation;
  BOOST_TEST(first.type_code == "delete");
  BOOST_TEST(first.params == "/${createResourceId}");
  BOOST_TEST(json->setup[1].assertion->op == "in");
  BOOST_TEST(json->setup[1].assertion->response_code == "200,204");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(XPathSubset)

struct Path {
  const char* xpath;
  const char* fhirpath;  // empty: not translated
};
std::ostream& operator<<(std::ostream& os, const Path& p) { return os << p.xpath; }

const Path kPaths[] = {
    {"fhir:Patient/fhir:name/fhir:family/@value", "Patient.name.family"},
    {"/fhir:Bundle/fhir:type/@value", "Bundle.type"},
    {"Patient/id", "Patient.id"},
    {"fhir:Patient/fhir:name[1]/fhir:family/@value", ""},
    {"fhir:Patient//fhir:family", ""},
    {"fhir:Patient/@value/fhir:name", ""},
    {"$.name[0].family", ""},
    {"count(fhir:Patient/fhir:name)", ""},
    {"", ""},
};

BOOST_DATA_TEST_CASE(TranslatesOnlySimpleSteps, boost::unit_test::data::make(kPaths), p) {
  auto fp = engine::XPathToFhirPath(p.xpath);
  if (std::string(p.fhirpath).empty()) {
    BOOST_TEST(!fp.has_value());
  } else {
    BOOST_TEST_REQUIRE(fp.has_value());
    BOOST_TEST(*fp == p.fhirpath);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Operators)

struct Op {
  const char* op;
  std::vector<std::string> actual;
  const char* expected;
  bool holds;
};
std::ostream& operator<<(std::ostream& os, const Op& o) {
  return os << o.op << " '" << o.expected << "' on " << o.actual.size() << " value(s)";
}

const Op kOps[] = {
    {"", {"a"}, "a", true},
    {"equals", {"a", "b"}, "a", true},
    {"equals", {"b", "a"}, "a", false},
    {"equals", {}, "", false},
    {"notEquals", {"b"}, "a", true},
    {"notEquals", {}, "a", true},
    {"notEquals", {"a"}, "a", false},
    {"in", {"204"}, "200, 204", true},
    {"in", {"404"}, "200,204", false},
    {"in", {}, "200", false},
    {"notIn", {"404"}, "200,204", true},
    {"notIn", {"200"}, "200,204", false},
    {"greaterThan", {"10"}, "9", true},       // numbers as numbers, not text
    {"greaterThan", {"9"}, "10", false},
    {"greaterThan", {"2026-01-02"}, "2025-12-31", true},
    {"greaterThan", {}, "1", false},
    {"lessThan", {"1.5"}, "2", true},
    {"lessThan", {"b"}, "a", false},
    {"empty", {}, "", true},
    {"empty", {""}, "", true},
    {"empty", {"x"}, "", false},
    {"notEmpty", {"x"}, "", true},
    {"notEmpty", {}, "", false},
    {"contains", {"abc", "xyz"}, "y", true},
    {"contains", {"abc"}, "y", false},
    {"notContains", {"abc"}, "y", true},
    {"notContains", {"xyz"}, "y", false},
    {"eval", {"true"}, "", true},
    {"eval", {"false"}, "", false},
    {"eval", {"true", "true"}, "", false},
    {"sortOf", {"a"}, "a", false},  // unknown operators never pass
};

BOOST_DATA_TEST_CASE(HoldOrSayWhyNot, boost::unit_test::data::make(kOps), o) {
  std::string why = engine::ApplyOperator(o.op, o.actual, o.expected);
  BOOST_TEST(why.empty() == o.holds, why);
}

BOOST_AUTO_TEST_SUITE_END()
