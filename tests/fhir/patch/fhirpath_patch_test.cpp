// fhir/patch against the official FHIRPath Patch test cases
// (../shared/testdata/patch/fhir-patch-tests.xml, from github.com/FHIR/fhir-test-cases), plus
// focused cases of our own.
//
// Each suite case holds an input resource, a diff (Parameters) and either the expected output or
// an <error/> mark. Its mode ("both" or "forwards") only matters to diff generators: every case
// applies forwards. Results are compared as canonical JSON. No case is skipped: all are R4.

#include <boost/test/unit_test.hpp>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fhir/format/json_format.h"
#include "fhir/format/xml_format.h"
#include "fhir/patch/fhirpath_patch.h"
#include "tests/support/shared_data.h"

namespace {

using common::StatusCode;
using fhir::model::Element;

const fhir::definitions::Definitions& Defs() { return fhir::definitions::Definitions::R4(); }

// ---- the official suite ----

struct SuiteCase {
  std::string name;
  std::string input;
  std::string diff;
  std::string output;  // empty when the case expects an error
  bool expects_error = false;
};

// The text between `open` and the next `close` after it; empty when absent.
std::string Between(std::string_view text, std::string_view open, std::string_view close) {
  std::size_t start = text.find(open);
  if (start == std::string_view::npos) return {};
  start += open.size();
  std::size_t end = text.find(close, start);
  if (end == std::string_view::npos) return {};
  return std::string(text.substr(start, end - start));
}

// The suite is a flat list of <case> elements whose parts are whole FHIR XML documents, so
// slicing the text is enough; fhir/format parses each part.
std::vector<SuiteCase> LoadSuite() {
  std::string text = test_support::ReadFile(test_support::SharedDir() / "testdata" / "patch" /
                                            "fhir-patch-tests.xml");
  std::vector<SuiteCase> cases;
  std::string_view rest = text;
  for (std::size_t at = rest.find("<case "); at != std::string_view::npos;
       at = rest.find("<case ")) {
    rest.remove_prefix(at);
    std::string_view body = rest.substr(0, rest.find("</case>"));
    cases.push_back({Between(body, "name=\"", "\""), Between(body, "<input>", "</input>"),
                     Between(body, "<diff>", "</diff>"), Between(body, "<output>", "</output>"),
                     body.find("<error") != std::string_view::npos});
    rest.remove_prefix(body.size());
  }
  return cases;
}

// Parses one part of a case; an unparsable or invalid part is reported through `why`.
std::optional<Element> ParseXml(const std::string& xml, std::string_view what, std::string& why) {
  fhir::model::OperationOutcomeSink issues;
  auto parsed = fhir::format::ParseResourceXml(xml, Defs(), issues);
  if (!parsed.has_value()) {
    why = std::string(what) + ": " + parsed.error().message();
    return std::nullopt;
  }
  for (const auto& issue : issues.issues()) {
    if (issue.severity != fhir::model::IssueSeverity::kError) continue;
    why = std::string(what) + ": " + issue.location + ": " + issue.diagnostics;
    return std::nullopt;
  }
  return std::move(parsed).value();
}

// JSON after a trip through XML: a narrative div set from a string (as JSON carries it) then
// has the serialisation of one parsed from XML ("Full Resource" writes &quot; in the
// expected output and a plain quote in its patch value).
std::string Canonical(const Element& resource) {
  std::string why;
  std::optional<Element> reparsed =
      ParseXml(fhir::format::WriteResourceXml(resource), "result", why);
  return reparsed ? fhir::format::WriteResourceJson(*reparsed) : why;
}

// Empty when the case passes, else why it fails.
std::string RunSuiteCase(const SuiteCase& c) {
  std::string why;
  std::optional<Element> resource = ParseXml(c.input, "input", why);
  std::optional<Element> diff = ParseXml(c.diff, "diff", why);
  if (!resource || !diff) return why;
  common::Status status = fhir::patch::ApplyFhirPathPatch(*resource, *diff, Defs());
  if (c.expects_error) {
    if (status.code() == StatusCode::kInvalid) return {};
    return status.ok() ? "expected an error, got success"
                       : "expected kInvalid: " + status.message();
  }
  if (!status.ok()) return status.message();
  std::optional<Element> expected = ParseXml(c.output, "output", why);
  if (!expected) return why;
  std::string got = Canonical(*resource);
  std::string want = Canonical(*expected);
  return got == want ? std::string() : "got " + got + "\nwant " + want;
}

BOOST_AUTO_TEST_SUITE(FhirPathPatchSuite)

BOOST_AUTO_TEST_CASE(OfficialCases) {
  std::vector<SuiteCase> cases = LoadSuite();
  BOOST_TEST(cases.size() == 33u);
  std::size_t passed = 0;
  for (const SuiteCase& c : cases) {
    std::string failure = RunSuiteCase(c);
    if (failure.empty()) {
      ++passed;
    } else {
      BOOST_ERROR("case '" << c.name << "' fails: " << failure);
    }
  }
  BOOST_TEST_MESSAGE("FHIRPath Patch suite: " << passed << "/" << cases.size() << " passed");
}

BOOST_AUTO_TEST_SUITE_END()

// ---- focused cases ----

Element ParseJson(std::string_view json) {
  fhir::model::OperationOutcomeSink issues;
  auto parsed = fhir::format::ParseResourceJson(json, Defs(), issues);
  if (!parsed.has_value()) BOOST_FAIL(parsed.error().message());
  BOOST_REQUIRE(!issues.HasErrors());
  return std::move(parsed).value();
}

// One operation parameter; each part is (name, JSON members of the part after its name).
std::string Operation(std::initializer_list<std::pair<std::string_view, std::string_view>> parts) {
  std::string out = R"({"name":"operation","part":[)";
  for (const auto& [name, members] : parts) {
    if (out.back() == '}') out += ',';
    out += R"({"name":")" + std::string(name) + "\"," + std::string(members) + "}";
  }
  return out + "]}";
}

struct Outcome {
  common::Status status;
  std::string json;  // the patched resource
};

Outcome Patch(std::string_view resource_json, std::initializer_list<std::string> operations) {
  std::string parameters = R"({"resourceType":"Parameters","parameter":[)";
  for (const std::string& op : operations) {
    if (parameters.back() == '}') parameters += ',';
    parameters += op;
  }
  parameters += "]}";
  Element resource = ParseJson(resource_json);
  common::Status status = fhir::patch::ApplyFhirPathPatch(resource, ParseJson(parameters), Defs());
  return {status, fhir::format::WriteResourceJson(resource)};
}

bool Contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

constexpr std::string_view kTwoIdentifiers =
    R"({"resourceType":"Patient","identifier":[{"value":"a"},{"value":"b"}],)"
    R"("birthDate":"1920-01-01"})";

BOOST_AUTO_TEST_SUITE(FhirPathPatch)

BOOST_AUTO_TEST_CASE(RejectsUnknownOperationType) {
  Outcome r =
      Patch(kTwoIdentifiers, {Operation({{"type", R"("valueCode":"upsert")"},
                                         {"path", R"("valueString":"Patient.birthDate")"}})});
  BOOST_TEST(r.status.code() == StatusCode::kInvalid);
  BOOST_TEST(Contains(r.status.message(), "operation 1"));
  BOOST_TEST(Contains(r.status.message(), "'upsert'"));
}

BOOST_AUTO_TEST_CASE(RejectsPathMatchingTwoElements) {
  Outcome r =
      Patch(kTwoIdentifiers, {Operation({{"type", R"("valueCode":"replace")"},
                                         {"path", R"("valueString":"Patient.identifier")"},
                                         {"value", R"("valueIdentifier":{"value":"c"})"}})});
  BOOST_TEST(r.status.code() == StatusCode::kInvalid);
  BOOST_TEST(Contains(r.status.message(), "selects 2 elements"));
}

BOOST_AUTO_TEST_CASE(RejectsAddToPresentSingleElement) {
  Outcome r = Patch(kTwoIdentifiers, {Operation({{"type", R"("valueCode":"add")"},
                                                 {"path", R"("valueString":"Patient")"},
                                                 {"name", R"("valueString":"birthDate")"},
                                                 {"value", R"("valueDate":"1930-01-01")"}})});
  BOOST_TEST(r.status.code() == StatusCode::kInvalid);
  BOOST_TEST(Contains(r.status.message(), "already present"));
}

BOOST_AUTO_TEST_CASE(NamesTheFailingOperation) {
  std::string fine = Operation(
      {{"type", R"("valueCode":"delete")"}, {"path", R"("valueString":"Patient.birthDate")"}});
  std::string bad = Operation({{"type", R"("valueCode":"add")"},
                               {"path", R"("valueString":"Patient")"},
                               {"name", R"("valueString":"nickname")"},
                               {"value", R"("valueString":"Jim")"}});
  Outcome r = Patch(kTwoIdentifiers, {fine, bad});
  BOOST_TEST(r.status.code() == StatusCode::kInvalid);
  BOOST_TEST(Contains(r.status.message(), "operation 2 (add at Patient)"));
  BOOST_TEST(Contains(r.status.message(), "Patient has no element 'nickname'"));
}

BOOST_AUTO_TEST_CASE(RejectsValueOfWrongType) {
  Outcome r = Patch(kTwoIdentifiers, {Operation({{"type", R"("valueCode":"replace")"},
                                                 {"path", R"("valueString":"Patient.birthDate")"},
                                                 {"value", R"("valueBoolean":true)"}})});
  BOOST_TEST(r.status.code() == StatusCode::kInvalid);
  BOOST_TEST(Contains(r.status.message(), "value must be date, not boolean"));
}

BOOST_AUTO_TEST_CASE(RejectsIndexOutOfRange) {
  Outcome r =
      Patch(kTwoIdentifiers, {Operation({{"type", R"("valueCode":"insert")"},
                                         {"path", R"("valueString":"Patient.identifier")"},
                                         {"index", R"("valueInteger":3)"},
                                         {"value", R"("valueIdentifier":{"value":"c"})"}})});
  BOOST_TEST(r.status.code() == StatusCode::kInvalid);
  BOOST_TEST(Contains(r.status.message(), "index 3 is out of range"));
}

BOOST_AUTO_TEST_CASE(RejectsMisspeltPath) {
  Outcome r =
      Patch(kTwoIdentifiers, {Operation({{"type", R"("valueCode":"delete")"},
                                         {"path", R"("valueString":"Patient.birthdate")"}})});
  BOOST_TEST(r.status.code() == StatusCode::kInvalid);
}

BOOST_AUTO_TEST_CASE(DeleteOfNothingIsNoOp) {
  Outcome r = Patch(kTwoIdentifiers, {Operation({{"type", R"("valueCode":"delete")"},
                                                 {"path", R"("valueString":"Patient.gender")"}})});
  BOOST_TEST(r.status.ok());
  BOOST_TEST(r.json == fhir::format::WriteResourceJson(ParseJson(kTwoIdentifiers)));
}

BOOST_AUTO_TEST_CASE(AddsChoiceByTypeOfValue) {
  Outcome r = Patch(kTwoIdentifiers, {Operation({{"type", R"("valueCode":"add")"},
                                                 {"path", R"("valueString":"Patient")"},
                                                 {"name", R"("valueString":"deceased")"},
                                                 {"value", R"("valueBoolean":false)"}})});
  BOOST_TEST(r.status.ok(), r.status.message());
  BOOST_TEST(Contains(r.json, R"("birthDate":"1920-01-01","deceasedBoolean":false)"));
}

BOOST_AUTO_TEST_CASE(AddsExtensionGivenAsParts) {
  Outcome r = Patch(kTwoIdentifiers,
                    {Operation({{"type", R"("valueCode":"add")"},
                                {"path", R"("valueString":"Patient.birthDate")"},
                                {"name", R"("valueString":"extension")"},
                                {"value", R"("part":[{"name":"url","valueUri":"http://e.org/x"},)"
                                          R"({"name":"valueString","valueString":"y"}])"}})});
  BOOST_TEST(r.status.ok(), r.status.message());
  BOOST_TEST(Contains(
      r.json, R"("_birthDate":{"extension":[{"url":"http://e.org/x","valueString":"y"}]})"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
