// fhir/format/xml_schema: the official FHIR R4 XML schema accepts every XML document Fovea writes
// (from the 142 official XML examples and their JSON twins, compact and pretty) and refuses
// invalid documents with messages that say where and why.

#include "fhir/format/xml_schema.h"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "fhir/format/json_format.h"
#include "fhir/format/xml_format.h"
#include "fhir/rest/capability_statement.h"
#include "fhir/rest/media_types.h"
#include "fhir/rest/outcome.h"
#include "fhir/search/search_parameter.h"
#include "tests/support/shared_data.h"

namespace {

using fhir::definitions::Definitions;
using fhir::format::XmlSchema;
using fhir::model::OperationOutcomeSink;
using Clock = std::chrono::steady_clock;

const Definitions& R4() { return Definitions::R4(); }

const XmlSchema& Schema() {
  auto schema = XmlSchema::R4();
  BOOST_REQUIRE_MESSAGE(schema.has_value(), (schema.has_value() ? "" : schema.error().message()));
  return **schema;
}

double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::vector<std::filesystem::path> XmlExamples() {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(test_support::SharedDir() / "testdata" /
                                                           "examples-xml")) {
    if (e.path().extension() == ".xml") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::size_t Count(const std::string& s, std::string_view part) {
  std::size_t n = 0;
  for (std::size_t at = s.find(part); at != std::string::npos; at = s.find(part, at + 1)) ++n;
  return n;
}

constexpr const char* kPatientOpen = R"(<Patient xmlns="http://hl7.org/fhir">)";

std::string InPatient(const std::string& body) { return kPatientOpen + body + "</Patient>"; }

}  // namespace

BOOST_AUTO_TEST_SUITE(XmlSchemaR4)

// Runs first, so it times the one compilation of the schema in this process.
BOOST_AUTO_TEST_CASE(CompilesOnceFromTheEmbeddedCopy) {
  auto start = Clock::now();
  auto first = XmlSchema::R4();
  double load_ms = Millis(Clock::now() - start);
  BOOST_REQUIRE_MESSAGE(first.has_value(), (first.has_value() ? "" : first.error().message()));
  BOOST_TEST_MESSAGE("XmlSchema::R4() first call (compiles fhir-single.xsd): " << load_ms << " ms");
  start = Clock::now();
  auto second = XmlSchema::R4();
  BOOST_TEST_MESSAGE("XmlSchema::R4() second call: " << Millis(Clock::now() - start) << " ms");
  BOOST_REQUIRE(second.has_value());
  BOOST_TEST(*first == *second);
}

BOOST_AUTO_TEST_CASE(AcceptsMinimalResources) {
  BOOST_TEST(Schema().Validate(R"(<Patient xmlns="http://hl7.org/fhir"/>)").ok());
  auto status = Schema().Validate(
      R"(<?xml version="1.0" encoding="UTF-8"?>)"
      "\n<Patient xmlns=\"http://hl7.org/fhir\">\n  <active value=\"true\"/>\n"
      "  <name><family value=\"Chalmers\"/><given value=\"Peter\"/></name>\n</Patient>\n");
  BOOST_TEST(status.ok(), status.message());
}

// The hint names an unreachable address: validation must neither fetch it nor fail on it.
BOOST_AUTO_TEST_CASE(IgnoresSchemaLocationHint) {
  auto status = Schema().Validate(
      R"(<Patient xmlns="http://hl7.org/fhir" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance")"
      R"( xsi:schemaLocation="http://hl7.org/fhir http://127.0.0.1:1/fhir-single.xsd">)"
      R"(<active value="true"/></Patient>)");
  BOOST_TEST(status.ok(), status.message());
}

// The official files themselves (the validator agrees with HL7), then Fovea's rewrite of each:
// compact, and indented by PrettyXml.
BOOST_AUTO_TEST_CASE(FoveaXmlFromOfficialXmlExamplesIsValid) {
  const XmlSchema& schema = Schema();
  auto examples = XmlExamples();
  BOOST_TEST(examples.size() == 142u);
  int valid_original = 0, valid_written = 0, valid_pretty = 0;
  Clock::duration validating{};
  std::size_t bytes = 0;
  for (const auto& path : examples) {
    std::string name = path.filename().string();
    std::string original = test_support::ReadFile(path);
    auto status = schema.Validate(original);
    BOOST_CHECK_MESSAGE(status.ok(), name + " (official): " + status.message());
    if (status.ok()) ++valid_original;

    OperationOutcomeSink issues;
    auto parsed = fhir::format::ParseResourceXml(original, R4(), issues);
    BOOST_REQUIRE_MESSAGE(parsed.has_value(),
                          name + ": " + (parsed.has_value() ? "" : parsed.error().message()));
    std::string written = fhir::format::WriteResourceXml(*parsed);
    auto start = Clock::now();
    status = schema.Validate(written);
    validating += Clock::now() - start;
    bytes += written.size();
    BOOST_CHECK_MESSAGE(status.ok(), name + " (written): " + status.message());
    if (status.ok()) ++valid_written;

    status = schema.Validate(fhir::format::PrettyXml(written));
    BOOST_CHECK_MESSAGE(status.ok(), name + " (pretty): " + status.message());
    if (status.ok()) ++valid_pretty;
  }
  BOOST_TEST(valid_original == 142);
  BOOST_TEST(valid_written == 142);
  BOOST_TEST(valid_pretty == 142);
  BOOST_TEST_MESSAGE("Validate: " << examples.size() << " written examples (" << bytes / 1024
                                  << " KiB) in " << Millis(validating) << " ms, "
                                  << Millis(validating) / examples.size() << " ms per document");
}

BOOST_AUTO_TEST_CASE(FoveaXmlFromJsonTwinsIsValid) {
  const XmlSchema& schema = Schema();
  int twins = 0, valid_written = 0, valid_pretty = 0;
  for (auto path : XmlExamples()) {
    path.replace_extension(".json");
    if (!std::filesystem::exists(path)) continue;
    ++twins;
    std::string name = path.filename().string();
    OperationOutcomeSink issues;
    auto parsed = fhir::format::ParseResourceJson(test_support::ReadFile(path), R4(), issues);
    BOOST_REQUIRE_MESSAGE(parsed.has_value(),
                          name + ": " + (parsed.has_value() ? "" : parsed.error().message()));
    std::string written = fhir::format::WriteResourceXml(*parsed);
    auto status = schema.Validate(written);
    BOOST_CHECK_MESSAGE(status.ok(), name + " (written): " + status.message());
    if (status.ok()) ++valid_written;
    status = schema.Validate(fhir::format::PrettyXml(written));
    BOOST_CHECK_MESSAGE(status.ok(), name + " (pretty): " + status.message());
    if (status.ok()) ++valid_pretty;
  }
  BOOST_TEST(twins == 142);
  BOOST_TEST(valid_written == 142);
  BOOST_TEST(valid_pretty == 142);
}

// The documents the server writes itself rather than stores, through the same JSON -> XML path
// the REST layer uses: the CapabilityStatement (with every option that adds content) and
// OperationOutcomes.
BOOST_AUTO_TEST_CASE(ServerGeneratedDocumentsAreValid) {
  auto registry = fhir::search::SearchParameterRegistry::R4();
  fhir::rest::CapabilityOptions options;
  options.software_version = "0.0.0-test";
  options.require_if_match = true;
  options.search = registry.get();
  options.authorize_url = "https://fovea.test/auth/authorize";
  options.token_url = "https://fovea.test/auth/token";
  options.audit_trail = true;
  // The server always names its version (an empty one would write <version value=""/>, which
  // FHIR forbids in JSON and XML alike).
  fhir::rest::CapabilityOptions minimal;
  minimal.software_version = "0.1.0";
  std::vector<std::pair<std::string, std::string>> documents = {
      {"CapabilityStatement", fhir::rest::BuildCapabilityStatement(
                                  R4(), options, "https://fovea.test/fhir", common::TimePoint{})},
      {"CapabilityStatement (no options)",
       fhir::rest::BuildCapabilityStatement(R4(), minimal, "http://127.0.0.1:8080/fhir",
                                            common::TimePoint{})},
      {"OperationOutcome (issues)",
       fhir::rest::OperationOutcomeJson(std::vector<fhir::model::Issue>{
           {fhir::model::IssueSeverity::kError, fhir::model::IssueType::kRequired,
            "Patient.name[2].given[0]", "a <b> & \"c\"\n"},
           {fhir::model::IssueSeverity::kWarning, fhir::model::IssueType::kValue, "", "w"}})},
      {"OperationOutcome (status)",
       fhir::rest::OperationOutcomeJson(common::NotFoundError("Patient/p1 is not known"))},
      {"OperationOutcome (information)", fhir::rest::InformationOutcomeJson("All OK")},
  };
  for (const auto& [name, json] : documents) {
    auto xml = fhir::rest::JsonToXml(json, R4());
    BOOST_REQUIRE_MESSAGE(xml.has_value(),
                          name + ": " + (xml.has_value() ? "" : xml.error().message()));
    auto status = Schema().Validate(*xml);
    BOOST_TEST(status.ok(), name + ": " + status.message());
    status = Schema().Validate(fhir::format::PrettyXml(*xml));
    BOOST_TEST(status.ok(), name + " (pretty): " + status.message());
  }
}

// Each document is refused with kInvalid, and the message names the place and the cause.
struct InvalidCase {
  const char* name;
  std::string xml;
  const char* location;  // the "line L, column C" the first problem must carry
  const char* message_part;
};

std::ostream& operator<<(std::ostream& os, const InvalidCase& c) { return os << c.name; }

const InvalidCase kInvalid[] = {
    {"unknown element", InPatient(R"(<nickname value="x"/>)"), "line 1, column 59",
     "no declaration found for element 'nickname' (in <Patient>)"},
    {"elements out of order", InPatient(R"(<gender value="male"/><active value="true"/>)"),
     "line 1, column 92", "element 'active' is not allowed for content model '(id?,meta?,"},
    {"missing value attribute", InPatient(R"(<name><family/></name>)"), "line 1, column 53",
     "'family' has neither a value attribute nor child elements"},
    {"only an id", InPatient(R"(<birthDate id="b1"/>)"), "line 1, column 58",
     "'birthDate' has neither a value attribute nor child elements"},
    {"empty value attribute", InPatient(R"(<name><family value=""/></name>)"), "line 1, column 62",
     "value '' has length '0'"},
    {"bad boolean", InPatient(R"(<active value="yes"/>)"), "line 1, column 59", "'yes'"},
    {"bad date", InPatient(R"(<birthDate value="1970-13-01"/>)"), "line 1, column 69",
     "'1970-13-01'"},
    {"unknown attribute", InPatient(R"(<active value="true" certain="yes"/>)"), "line 1, column 74",
     "attribute 'certain' is not declared for element 'active'"},
    {"text content", InPatient(R"(<active value="true">yes</active>)"), "line 1, column 62",
     "no character data is allowed by content model (in <Patient><active>)"},
    {"wrong root namespace",
     R"(<Patient xmlns="http://hl7.org/fhir/R4"><active value="true"/></Patient>)",
     "line 1, column 41", "must be in the FHIR namespace"},
    {"no namespace", R"(<Patient><active value="true"/></Patient>)", "line 1, column 10",
     "must be in the FHIR namespace (xmlns=\"http://hl7.org/fhir\"), not in no namespace"},
    {"datatype root", R"(<HumanName xmlns="http://hl7.org/fhir"/>)", "line 1, column 41",
     "'HumanName'"},
    {"script in narrative",
     InPatient(R"(<text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">)"
               R"(<script>alert(1)</script></div></text>)"),
     "line 1, column 121", "element 'script' (in <Patient><text><div>)"},
    {"internal DTD and entity",
     R"(<?xml version="1.0"?><!DOCTYPE Patient [<!ENTITY x "Chalmers">]>)" +
         InPatient(R"(<name><family value="&x;"/></name>)"),
     "line 1, column", "DOCTYPE declaration is not allowed"},
    {"XXE file",
     R"(<!DOCTYPE Patient [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>)" +
         InPatient(R"(<name><family value="&xxe;"/></name>)"),
     "line 1, column", "DOCTYPE declaration is not allowed"},
    {"external DTD", R"(<!DOCTYPE Patient SYSTEM "http://127.0.0.1:1/evil.dtd">)" + InPatient(""),
     "line 1, column", "DOCTYPE declaration is not allowed"},
    {"undeclared entity", InPatient(R"(<name><family value="&x;"/></name>)"), "line 1, column",
     "'x'"},
    {"unclosed element", InPatient(R"(<active value="true">)"), "line 1, column", "'active'"},
    {"not XML", R"({"resourceType":"Patient"})", "line 1, column 1", ""},
    {"empty document", "", "line 1, column 1", ""},
};

BOOST_DATA_TEST_CASE(RefusesWithLocatedMessage, boost::unit_test::data::make(kInvalid), c) {
  auto status = Schema().Validate(c.xml);
  BOOST_TEST_MESSAGE(c.name << ": " << status.message());
  BOOST_REQUIRE_MESSAGE(!status.ok(), c.name);
  BOOST_TEST(status.code() == common::StatusCode::kInvalid);
  BOOST_TEST(status.message().rfind(c.location, 0) == 0u, status.message());
  BOOST_TEST(status.message().find(c.message_part) != std::string::npos, status.message());
  BOOST_TEST(status.message().find("Chalmers") == std::string::npos, "entity expanded");
  BOOST_TEST(status.message().find("root:") == std::string::npos, "file read");
}

// One line per mistake: the follow-on errors Xerces reports for an unknown element (its
// attributes, the parent's content model) are dropped, and later siblings are still checked.
BOOST_AUTO_TEST_CASE(ReportsEachMistakeOnce) {
  auto status = Schema().Validate(
      "<Patient xmlns=\"http://hl7.org/fhir\">\n"
      "  <nickname value=\"x\"><given value=\"y\"/></nickname>\n"
      "  <name><family/><given value=\"A\" use=\"official\"/></name>\n"
      "  <birthDate value=\"1970-13-01\"/>\n"
      "</Patient>");
  BOOST_TEST_MESSAGE(status.message());
  BOOST_TEST(status.message() ==
             "line 2, column 23: no declaration found for element 'nickname' (in <Patient>); "
             "line 3, column 18: element 'family' has neither a value attribute nor child "
             "elements (FHIR rule ele-1) (in <Patient><name>); "
             "line 3, column 51: attribute 'use' is not declared for element 'given' "
             "(in <Patient><name>); "
             "line 4, column 34: value '1970-13-01' does not match any member types of the union "
             "(in <Patient>)");
}

BOOST_AUTO_TEST_CASE(ReportsUpToMaxErrors) {
  std::string body;
  for (int i = 0; i < 20; ++i) body += R"(<nickname value="x"/>)";
  std::string xml = InPatient(body);

  auto status = Schema().Validate(xml, 3);
  BOOST_REQUIRE(!status.ok());
  BOOST_TEST(Count(status.message(), "line 1, column ") == 3u, status.message());
  BOOST_TEST(status.message().find("; further problems not shown") != std::string::npos);

  status = Schema().Validate(xml);
  BOOST_TEST(Count(status.message(), "line 1, column ") == 10u, status.message());

  status = Schema().Validate(InPatient(R"(<nickname value="x"/>)"), 0);  // 0 means 1
  BOOST_TEST(Count(status.message(), "line 1, column ") == 1u, status.message());
  BOOST_TEST(status.message().find("further problems") == std::string::npos);
}

// Strict mode validates request bodies on the request threads: one grammar, many parsers.
BOOST_AUTO_TEST_CASE(ConcurrentValidationsAgree) {
  const XmlSchema& schema = Schema();
  std::vector<std::string> documents;
  for (const auto& path : XmlExamples()) {
    if (documents.size() == 12) break;
    documents.push_back(test_support::ReadFile(path));
  }
  for (const auto& c : kInvalid) documents.push_back(c.xml);
  std::vector<std::string> expected;
  for (const auto& d : documents) expected.push_back(schema.Validate(d).message());

  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        for (std::size_t i = 0; i < documents.size(); ++i) {
          std::size_t k = (i + t * 7) % documents.size();  // threads start at different documents
          if (schema.Validate(documents[k]).message() != expected[k]) ++mismatches[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) BOOST_TEST(m == 0);
}

BOOST_AUTO_TEST_SUITE_END()
