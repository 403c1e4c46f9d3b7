// fhir/format/xml_format: FHIR XML <-> element tree, on hand-made cases, on the 142 official
// examples that have a JSON twin, and on the FHIRPath test-suite inputs.

#include "fhir/format/xml_format.h"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include "common/json.h"
#include "fhir/format/json_format.h"
#include "fhir/validation/validator.h"
#include "tests/support/shared_data.h"

namespace {

using fhir::definitions::Definitions;
using fhir::model::IssueSeverity;
using fhir::model::OperationOutcomeSink;

const Definitions& R4() { return Definitions::R4(); }

std::string IssuesText(const OperationOutcomeSink& issues) {
  std::string s;
  for (const auto& i : issues.issues()) s += i.location + ": " + i.diagnostics + "\n";
  return s;
}

// XML -> tree -> JSON, requiring a tree.
std::string XmlToJson(const std::string& xml, OperationOutcomeSink& issues) {
  auto parsed = fhir::format::ParseResourceXml(xml, R4(), issues);
  BOOST_REQUIRE_MESSAGE(parsed.has_value(), (parsed.has_value() ? "" : parsed.error().message()));
  return fhir::format::WriteResourceJson(*parsed);
}

bool SameJson(const std::string& a, const std::string& b) {
  auto x = common::ParseJson(a);
  auto y = common::ParseJson(b);
  return x.has_value() && y.has_value() && common::JsonEquals(*x, *y);
}

std::vector<std::filesystem::path> FilesWithExtension(const std::filesystem::path& dir,
                                                      const std::string& ext) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ext) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

constexpr const char* kPatientOpen = R"(<Patient xmlns="http://hl7.org/fhir">)";

}  // namespace

BOOST_AUTO_TEST_SUITE(XmlFormatParse)

BOOST_AUTO_TEST_CASE(KeepsDecimalLexemeChoiceAndDefinitionOrder) {
  OperationOutcomeSink issues;
  std::string json = XmlToJson(
      R"(<?xml version="1.0" encoding="UTF-8"?>
         <Observation xmlns="http://hl7.org/fhir">
           <status value="final"/>
           <code><text value="BP"/></code>
           <valueQuantity><value value="1.50"/><unit value="mmHg"/></valueQuantity>
         </Observation>)",
      issues);
  BOOST_TEST(issues.issues().empty(), IssuesText(issues));
  BOOST_TEST(json == R"({"resourceType":"Observation","status":"final","code":{"text":"BP"},)"
                     R"("valueQuantity":{"value":1.50,"unit":"mmHg"}})");
}

BOOST_AUTO_TEST_CASE(PrimitiveIdAndExtensionsAreChildrenOfThePrimitive) {
  OperationOutcomeSink issues;
  std::string json = XmlToJson(
      std::string(kPatientOpen) +
          R"(<name id="n1"><given value="A"/><given><extension url="http://e">)"
          R"(<valueString value="x"/></extension></given></name>)"
          R"(<birthDate id="b1" value="1970-03-30"/></Patient>)",
      issues);
  BOOST_TEST(issues.issues().empty(), IssuesText(issues));
  BOOST_TEST(SameJson(
                 json,
                 R"({"resourceType":"Patient","name":[{"id":"n1","given":["A",null],)"
                 R"("_given":[null,{"extension":[{"url":"http://e","valueString":"x"}]}]}],)"
                 R"("birthDate":"1970-03-30","_birthDate":{"id":"b1"}})"),
             json);
}

BOOST_AUTO_TEST_CASE(ContainedBundleAndParametersResourcesAreWrapped) {
  OperationOutcomeSink issues;
  std::string json = XmlToJson(
      R"(<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/>)"
      R"(<entry><resource><Observation><contained><Patient><id value="p1"/></Patient></contained>)"
      R"(<status value="final"/><code><text value="x"/></code>)"
      R"(<subject><reference value="#p1"/></subject></Observation></resource></entry>)"
      R"(<entry><resource><Parameters><parameter><name value="p"/>)"
      R"(<resource><Patient><active value="true"/></Patient></resource></parameter>)"
      R"(</Parameters></resource></entry></Bundle>)",
      issues);
  BOOST_TEST(issues.issues().empty(), IssuesText(issues));
  BOOST_TEST(SameJson(
                 json,
                 R"({"resourceType":"Bundle","type":"collection","entry":[{"resource":)"
                 R"({"resourceType":"Observation","contained":[{"resourceType":"Patient","id":"p1"}],)"
                 R"("status":"final","code":{"text":"x"},"subject":{"reference":"#p1"}}},)"
                 R"({"resource":{"resourceType":"Parameters","parameter":[{"name":"p","resource":)"
                 R"({"resourceType":"Patient","active":true}}]}}]})"),
             json);
}

BOOST_AUTO_TEST_CASE(NarrativeDivBecomesXhtmlText) {
  OperationOutcomeSink issues;
  auto parsed = fhir::format::ParseResourceXml(
      std::string(kPatientOpen) +
          "<text><status value=\"generated\"/><div xmlns=\"http://www.w3.org/1999/xhtml\">\n"
          "  <p class=\"x\">a &amp; b &lt; c<br/>&#160;<b></b></p><!-- dropped -->\n"
          "</div></text></Patient>",
      R4(), issues);
  BOOST_REQUIRE(parsed.has_value());
  BOOST_TEST(issues.issues().empty(), IssuesText(issues));
  const auto* div = parsed->Child("text")->Child("div");
  BOOST_REQUIRE(div != nullptr);
  BOOST_TEST(div->value() ==
             "<div xmlns=\"http://www.w3.org/1999/xhtml\">\n"
             "  <p class=\"x\">a &amp; b &lt; c<br/>\u00a0<b/></p>\n</div>");
}

BOOST_AUTO_TEST_CASE(OutOfOrderElementsWarnAndAreSorted) {
  OperationOutcomeSink issues;
  std::string json = XmlToJson(std::string(kPatientOpen) +
                                   R"(<gender value="male"/><active value="true"/></Patient>)",
                               issues);
  BOOST_TEST(!issues.HasErrors());
  BOOST_REQUIRE(issues.issues().size() == 1u);
  BOOST_TEST((issues.issues().front().severity == IssueSeverity::kWarning));
  BOOST_TEST(issues.issues().front().location == "Patient.active");
  BOOST_TEST(json == R"({"resourceType":"Patient","active":true,"gender":"male"})");
}

BOOST_AUTO_TEST_CASE(IgnoresSchemaLocationHint) {
  OperationOutcomeSink issues;
  std::string json = XmlToJson(
      R"(<Patient xmlns="http://hl7.org/fhir" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance")"
      R"( xsi:schemaLocation="http://hl7.org/fhir http://127.0.0.1:1/fhir-single.xsd">)"
      R"(<active value="true"/></Patient>)",
      issues);
  BOOST_TEST(issues.issues().empty(), IssuesText(issues));
  BOOST_TEST(json == R"({"resourceType":"Patient","active":true})");
}

// Parses happen on request threads; Xerces is initialised once, each parse has its own reader.
BOOST_AUTO_TEST_CASE(ConcurrentParsesAgree) {
  const std::string xml = std::string(kPatientOpen) +
                          R"(<name><family value="Chalmers"/><given value="Peter"/></name></Patient>)";
  std::vector<std::string> results(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        OperationOutcomeSink issues;
        auto parsed = fhir::format::ParseResourceXml(xml, R4(), issues);
        results[t] = parsed.has_value() ? fhir::format::WriteResourceJson(*parsed) : "error";
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& r : results) {
    BOOST_TEST(r == R"({"resourceType":"Patient","name":[{"family":"Chalmers","given":["Peter"]}]})");
  }
}

// Inputs the parser must refuse outright: a Status, never a tree, never a crash.
struct RejectedCase {
  const char* name;
  std::string xml;
  const char* message_part;
};

std::ostream& operator<<(std::ostream& os, const RejectedCase& c) { return os << c.name; }

std::string Nested(int levels) {
  std::string xml = kPatientOpen;
  for (int i = 0; i < levels; ++i) xml += R"(<extension url="http://e">)";
  xml += R"(<valueString value="deep"/>)";
  for (int i = 0; i < levels; ++i) xml += "</extension>";
  return xml + "</Patient>";
}

const RejectedCase kRejected[] = {
    {"unclosed element", std::string(kPatientOpen) + R"(<active value="true"></Patient>)",
     "Malformed XML at line 1, column"},
    {"JSON body", R"({"resourceType":"Patient"})", "Malformed XML at line 1"},
    {"empty body", "", "Malformed XML"},
    {"undeclared entity", std::string(kPatientOpen) + R"(<name><family value="&x;"/></name></Patient>)",
     "Malformed XML at line 1"},
    {"XXE file", R"(<?xml version="1.0"?><!DOCTYPE Patient [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>)" +
         std::string(kPatientOpen) + R"(<name><family value="&xxe;"/></name></Patient>)",
     "DOCTYPE"},
    {"external DTD", R"(<!DOCTYPE Patient SYSTEM "http://127.0.0.1:1/evil.dtd">)" +
         std::string(kPatientOpen) + "</Patient>",
     "DOCTYPE"},
    {"entity expansion bomb",
     R"(<!DOCTYPE Patient [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">)"
     R"(<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>)" +
         std::string(kPatientOpen) + R"(<name><family value="&d;&d;&d;&d;"/></name></Patient>)",
     "DOCTYPE"},
    {"unknown root", R"(<Patients xmlns="http://hl7.org/fhir"/>)", "\"Patients\" is not a FHIR R4"},
    {"abstract root", R"(<DomainResource xmlns="http://hl7.org/fhir"/>)", "DomainResource"},
    {"datatype root", R"(<HumanName xmlns="http://hl7.org/fhir"/>)", "HumanName"},
    {"too deep", Nested(120), "nesting deeper than 100 levels"},
};

BOOST_DATA_TEST_CASE(RejectsWithStatus, boost::unit_test::data::make(kRejected), c) {
  OperationOutcomeSink issues;
  auto parsed = fhir::format::ParseResourceXml(c.xml, R4(), issues);
  BOOST_REQUIRE_MESSAGE(!parsed.has_value(), c.name);
  BOOST_TEST(parsed.error().code() == common::StatusCode::kInvalid);
  BOOST_TEST(parsed.error().message().find(c.message_part) != std::string::npos,
             parsed.error().message());
  BOOST_TEST(issues.issues().empty());
}

BOOST_AUTO_TEST_CASE(NestingWithinTheLimitParses) {
  OperationOutcomeSink issues;
  auto parsed = fhir::format::ParseResourceXml(Nested(90), R4(), issues);
  BOOST_TEST(parsed.has_value());
  BOOST_TEST(issues.issues().empty(), IssuesText(issues));
}

// Data problems: a (partial) tree and an error issue at the right FHIRPath location.
struct IssueCase {
  const char* name;
  std::string xml;
  const char* location;
};

std::ostream& operator<<(std::ostream& os, const IssueCase& c) { return os << c.name; }

std::string InPatient(const std::string& body) { return kPatientOpen + body + "</Patient>"; }

std::string InObservation(const std::string& body) {
  return R"(<Observation xmlns="http://hl7.org/fhir"><status value="final"/><code><text value="x"/></code>)" +
         body + "</Observation>";
}

const IssueCase kIssues[] = {
    {"wrong root namespace", R"(<Patient xmlns="http://hl7.org/fhir/R4"><active value="true"/></Patient>)",
     "Patient"},
    {"no namespace", R"(<Patient><active value="true"/></Patient>)", "Patient"},
    {"wrong child namespace", InPatient(R"(<active xmlns="urn:x" value="true"/>)"), "Patient.active"},
    {"div outside XHTML namespace",
     InPatient(R"(<text><status value="generated"/><div>x</div></text>)"), "Patient.text.div"},
    {"unknown element", InPatient(R"(<nickname value="x"/>)"), "Patient.nickname"},
    {"unknown attribute", InPatient(R"(<active value="true" certain="yes"/>)"), "Patient.active"},
    {"attribute on resource", R"(<Patient xmlns="http://hl7.org/fhir" id="p1"/>)", "Patient"},
    {"missing value attribute", InPatient(R"(<name><family/></name>)"), "Patient.name[0].family"},
    {"missing value in repeat", InPatient(R"(<name><given value="A"/><given/></name>)"),
     "Patient.name[0].given[1]"},
    {"empty complex element", InPatient(R"(<maritalStatus/>)"), "Patient.maritalStatus"},
    {"text content", InPatient(R"(<active value="true">yes</active>)"), "Patient.active"},
    {"single element repeated", InPatient(R"(<gender value="male"/><gender value="female"/>)"),
     "Patient.gender"},
    {"Element.id as element", InPatient(R"(<name><id value="n"/><family value="x"/></name>)"),
     "Patient.name[0].id"},
    {"boolean lexical form", InPatient(R"(<active value="yes"/>)"), "Patient.active"},
    {"integer lexical form", InPatient(R"(<multipleBirthInteger value="two"/>)"),
     "Patient.multipleBirth.ofType(integer)"},
    {"illegal choice type", InObservation(R"(<valueUri value="http://x"/>)"), "Observation.valueUri"},
    {"empty choice", InObservation(R"(<valueQuantity/>)"), "Observation.value.ofType(Quantity)"},
    {"unknown contained type", InObservation(R"(<contained><Patients/></contained>)"),
     "Observation.contained[0]"},
    {"empty contained", InObservation(R"(<contained/>)"), "Observation.contained[0]"},
    {"inside contained", InObservation(R"(<contained><Patient><nick value="x"/></Patient></contained>)"),
     "Observation.contained[0].nick"},
    {"inside entry resource",
     R"(<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/><entry><entry/></entry>)"
     R"(<entry><resource><Patient><foo value="x"/></Patient></resource></entry></Bundle>)",
     "Bundle.entry[0].entry"},
    {"second entry",
     R"(<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/><entry><fullUrl value="urn:a"/></entry>)"
     R"(<entry><resource><Patient><foo value="x"/></Patient></resource></entry></Bundle>)",
     "Bundle.entry[1].resource.foo"},
};

BOOST_DATA_TEST_CASE(ReportsIssuesWithLocation, boost::unit_test::data::make(kIssues), c) {
  OperationOutcomeSink issues;
  auto parsed = fhir::format::ParseResourceXml(c.xml, R4(), issues);
  BOOST_REQUIRE_MESSAGE(parsed.has_value(), (parsed.has_value() ? "" : parsed.error().message()));
  BOOST_REQUIRE_MESSAGE(issues.HasErrors(), c.name);
  auto first_error = std::find_if(issues.issues().begin(), issues.issues().end(), [](const auto& i) {
    return i.severity == IssueSeverity::kError;
  });
  BOOST_REQUIRE(first_error != issues.issues().end());
  BOOST_TEST(first_error->location == c.location, IssuesText(issues));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(XmlFormatWrite)

BOOST_AUTO_TEST_CASE(CanonicalFormWithAttributesAndEscaping) {
  OperationOutcomeSink issues;
  auto tree = fhir::format::ParseResourceJson(
      R"({"resourceType":"Observation","id":"o1","status":"final","code":{"text":"a \"b\" <c> & d\ne"},)"
      R"("valueQuantity":{"id":"q","extension":[{"url":"http://e?a=1&b=2","valueBoolean":true}],"value":1.50},)"
      R"("note":[{"text":"x","_text":{"id":"t1"}}]})",
      R4(), issues);
  BOOST_REQUIRE(tree.has_value());
  BOOST_TEST(issues.issues().empty(), IssuesText(issues));
  std::string xml = fhir::format::WriteResourceXml(*tree);
  BOOST_TEST(xml ==
             R"(<Observation xmlns="http://hl7.org/fhir"><id value="o1"/><status value="final"/>)"
             R"(<code><text value="a &quot;b&quot; &lt;c&gt; &amp; d&#xA;e"/></code>)"
             R"(<valueQuantity id="q"><extension url="http://e?a=1&amp;b=2"><valueBoolean value="true"/>)"
             R"(</extension><value value="1.50"/></valueQuantity>)"
             R"(<note><text id="t1" value="x"/></note></Observation>)");
  OperationOutcomeSink again;
  auto reparsed = fhir::format::ParseResourceXml(xml, R4(), again);
  BOOST_REQUIRE(reparsed.has_value());
  BOOST_TEST(again.issues().empty(), IssuesText(again));
  BOOST_TEST(fhir::format::WriteResourceJson(*reparsed) == fhir::format::WriteResourceJson(*tree));
}

BOOST_AUTO_TEST_CASE(EmptyResourceAndContained) {
  OperationOutcomeSink issues;
  auto tree = fhir::format::ParseResourceJson(
      R"({"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o"}],)"
      R"("text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}})",
      R4(), issues);
  BOOST_REQUIRE(tree.has_value());
  BOOST_TEST(fhir::format::WriteResourceXml(*tree) ==
             R"(<Patient xmlns="http://hl7.org/fhir"><text><status value="generated"/>)"
             R"(<div xmlns="http://www.w3.org/1999/xhtml">x</div></text>)"
             R"(<contained><Organization><id value="o"/></Organization></contained></Patient>)");
  auto empty = fhir::format::ParseResourceJson(R"({"resourceType":"Basic"})", R4(), issues);
  BOOST_REQUIRE(empty.has_value());
  BOOST_TEST(fhir::format::WriteResourceXml(*empty) == R"(<Basic xmlns="http://hl7.org/fhir"/>)");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(XmlOfficialExamples)

// XHTML that the JSON twin serialises differently from the XML file, with the same content.
// For these the narrative divs are compared after NormalizedXhtml (attribute order and
// whitespace ignored); every other element, and the divs of the other examples, exactly.
const std::map<std::string, std::string> kTwinDivSerialisedDifferently = {
    {"consent-example-pkb.xml", "the twin writes <img src alt>, the XML <img alt src>"},
    {"external-resources.xml", "the twin drops the line break before the first <a>"},
    {"list-example-familyhistory-genetics-profile-annie.xml",
     "the twin writes <img src alt>, the XML <img alt src>"},
    {"media-example-sound.xml", "the twin writes <img src alt>, the XML <img alt src>"},
    {"plandefinition-exclusive-breastfeeding-intervention-03.xml",
     "the twin writes <p style class>, the XML <p class style>"},
};

// Sorts the attributes inside each tag and drops all whitespace. Good enough for the generated
// narratives above (attribute values there contain no '>' and no whitespace-sensitive text).
std::string NormalizedXhtml(std::string_view s) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '<' && i + 1 < s.size() && s[i + 1] != '/') {
      std::size_t end = s.find('>', i);
      if (end == std::string_view::npos) end = s.size();
      std::string_view tag = s.substr(i + 1, end - i - 1);
      bool empty = !tag.empty() && tag.back() == '/';
      if (empty) tag.remove_suffix(1);
      std::vector<std::string> parts(1);
      bool quoted = false;
      for (char c : tag) {
        if (c == '"') quoted = !quoted;
        if (!quoted && std::isspace(static_cast<unsigned char>(c))) {
          if (!parts.back().empty()) parts.emplace_back();
        } else {
          parts.back() += c;
        }
      }
      if (parts.back().empty()) parts.pop_back();
      std::sort(parts.begin() + 1, parts.end());
      out += '<';
      for (const auto& p : parts) out += p + "|";
      out += empty ? "/>" : ">";
      i = end + 1;
    } else {
      if (!std::isspace(static_cast<unsigned char>(s[i]))) out += s[i];
      ++i;
    }
  }
  return out;
}

void NormalizeDivs(common::JsonValue& v) {
  for (auto& [key, member] : v.members()) {
    if (key == "div" && member.is_string()) {
      member = common::JsonValue::String(NormalizedXhtml(member.scalar()));
    } else {
      NormalizeDivs(member);
    }
  }
  for (auto& item : v.items()) NormalizeDivs(item);
}

bool SameContent(const std::string& a, const std::string& b) {
  auto x = common::ParseJson(a);
  auto y = common::ParseJson(b);
  if (!x.has_value() || !y.has_value()) return false;
  NormalizeDivs(*x);
  NormalizeDivs(*y);
  return common::JsonEquals(*x, *y);
}

BOOST_AUTO_TEST_CASE(NormalizedXhtmlIgnoresAttributeOrderAndWhitespace) {
  BOOST_TEST(NormalizedXhtml("<p>\n a <img src=\"x y\" alt=\"b\"/></p>") ==
             NormalizedXhtml("<p>a<img alt=\"b\"  src=\"x y\"/>\n</p>"));
  BOOST_TEST(NormalizedXhtml("<img src=\"x\"/>") != NormalizedXhtml("<img src=\"y\"/>"));
}

// Every XML example parses without issues and converts to the same JSON as its twin; XML ->
// tree -> XML -> tree -> JSON is stable. PROVENANCE.md warns that two twins differ in content
// from the official JSON; comparing the twins here with the official examples-json files found
// no content difference (only narrative), and every XML file equals its own twin on content.
BOOST_AUTO_TEST_CASE(ParseMatchJsonTwinAndRoundTrip) {
  auto dir = test_support::SharedDir() / "testdata" / "examples-xml";
  auto examples = FilesWithExtension(dir, ".xml");
  BOOST_TEST(examples.size() == 142u);
  int clean = 0, same_as_twin = 0, round_tripped = 0;
  for (const auto& path : examples) {
    std::string name = path.filename().string();
    OperationOutcomeSink issues;
    auto parsed = fhir::format::ParseResourceXml(test_support::ReadFile(path), R4(), issues);
    BOOST_REQUIRE_MESSAGE(parsed.has_value(),
                          name + ": " + (parsed.has_value() ? "" : parsed.error().message()));
    BOOST_CHECK_MESSAGE(issues.issues().empty(), name + " has issues:\n" + IssuesText(issues));
    if (issues.issues().empty()) ++clean;

    std::string json = fhir::format::WriteResourceJson(*parsed);
    auto twin_path = path;
    twin_path.replace_extension(".json");
    std::string twin = test_support::ReadFile(twin_path);
    bool loose = kTwinDivSerialisedDifferently.count(name) > 0;
    bool same = loose ? SameContent(json, twin) : SameJson(json, twin);
    BOOST_CHECK_MESSAGE(same, name + " differs from its JSON twin:\n" + json);
    BOOST_CHECK_MESSAGE(!loose || !SameJson(json, twin),
                        name + " now equals its twin exactly: drop it from the exceptions");
    if (same) ++same_as_twin;

    std::string xml = fhir::format::WriteResourceXml(*parsed);
    OperationOutcomeSink again;
    auto reparsed = fhir::format::ParseResourceXml(xml, R4(), again);
    BOOST_REQUIRE_MESSAGE(reparsed.has_value(),
                          name + " writes malformed XML: " +
                              (reparsed.has_value() ? "" : reparsed.error().message()));
    BOOST_CHECK_MESSAGE(again.issues().empty(), name + " rewritten has issues:\n" + IssuesText(again));
    bool stable = fhir::format::WriteResourceJson(*reparsed) == json &&
                  fhir::format::WriteResourceXml(*reparsed) == xml;
    BOOST_CHECK_MESSAGE(stable, name + " does not round-trip through XML");
    if (stable) ++round_tripped;
  }
  BOOST_TEST(clean == 142);
  BOOST_TEST(same_as_twin == 142);
  BOOST_TEST(round_tripped == 142);
}

// The FHIRPath suite's input resources (tests-fhir-r4.xml itself is the suite, not a resource).
// PROVENANCE.md: observation-example.xml and myconsent-ext.xml are deliberately not
// schema-valid; they must still parse into a tree, with the problems reported as issues.
const std::map<std::string, std::vector<std::string>> kFhirPathInputIssues = {
    // <extension> after <status>: out of definition order (a warning; the tree is sorted).
    {"observation-example.xml", {"Observation.extension[0]"}},
    // An STU3 StructureDefinition: R4 has no contextType, and context is a backbone there.
    {"myconsent-ext.xml", {"StructureDefinition.contextType", "StructureDefinition.context[0]"}},
};

BOOST_AUTO_TEST_CASE(FhirPathInputsParse) {
  auto files = FilesWithExtension(test_support::SharedDir() / "testdata" / "fhirpath", ".xml");
  int parsed_count = 0;
  for (const auto& path : files) {
    std::string name = path.filename().string();
    if (name == "tests-fhir-r4.xml") continue;
    OperationOutcomeSink issues;
    auto parsed = fhir::format::ParseResourceXml(test_support::ReadFile(path), R4(), issues);
    BOOST_REQUIRE_MESSAGE(parsed.has_value(),
                          name + ": " + (parsed.has_value() ? "" : parsed.error().message()));
    ++parsed_count;
    std::vector<std::string> locations;
    for (const auto& i : issues.issues()) locations.push_back(i.location);
    auto expected = kFhirPathInputIssues.find(name);
    BOOST_CHECK_MESSAGE(
        locations == (expected != kFhirPathInputIssues.end() ? expected->second
                                                             : std::vector<std::string>{}),
        name + " issues:\n" + IssuesText(issues));
    // Validation is reported, not asserted: these inputs exercise FHIRPath, not conformance.
    OperationOutcomeSink validation;
    fhir::validation::ValidateResource(
        *parsed, fhir::model::IssueScope(validation, parsed->type()->name));
    BOOST_TEST_MESSAGE(name + ": " + std::to_string(issues.issues().size()) +
                       " parse issue(s), " + std::to_string(validation.issues().size()) +
                       " validation issue(s)\n" + IssuesText(issues) + IssuesText(validation));
  }
  BOOST_TEST(parsed_count == 15);
}

BOOST_AUTO_TEST_SUITE_END()
