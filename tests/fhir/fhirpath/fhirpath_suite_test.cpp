// fhir/fhirpath against the official FHIRPath R4 test suite
// (../shared/testdata/fhirpath/tests-fhir-r4.xml, from github.com/FHIR/fhir-test-cases).
//
// Every test runs in strict mode (the suite's conformance mode). The pass count must not drop
// below kPassFloor, and the outcome of each test must match kKnownFailures: a listed test that
// starts passing, or an unlisted one that fails, fails this test so the table stays accurate.

#include <boost/test/unit_test.hpp>

#include <cctype>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/fhirpath/fhirpath.h"
#include "fhir/format/json_format.h"
#include "fhir/format/xml_format.h"
#include "tests/support/shared_data.h"

namespace {

using fhir::fhirpath::Collection;
using fhir::fhirpath::Value;
using fhir::model::Element;

// ---- a reader for the suite's simple XML (elements, attributes, text, comments) ----

struct XmlNode {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::string text;
  std::vector<XmlNode> children;

  std::string Attribute(const std::string& n) const {
    auto it = attributes.find(n);
    return it == attributes.end() ? std::string() : it->second;
  }
};

std::string DecodeEntities(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    std::size_t end = s.find(';', i);
    std::string_view e = s.substr(i + 1, end - i - 1);
    if (e == "lt") out += '<';
    else if (e == "gt") out += '>';
    else if (e == "amp") out += '&';
    else if (e == "quot") out += '"';
    else if (e == "apos") out += '\'';
    else if (!e.empty() && e[0] == '#') {
      unsigned long cp = e.size() > 1 && e[1] == 'x' ? std::strtoul(std::string(e.substr(2)).c_str(), nullptr, 16)
                                                      : std::strtoul(std::string(e.substr(1)).c_str(), nullptr, 10);
      out += static_cast<char>(cp);  // the suite only uses ASCII references
    }
    i = end;
  }
  return out;
}

class XmlReader {
 public:
  explicit XmlReader(std::string_view text) : s_(text) {}

  XmlNode ReadDocument() {
    SkipMisc();
    return ReadElement();
  }

 private:
  void SkipMisc() {
    while (true) {
      while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
      if (s_.compare(i_, 4, "<!--") == 0) {
        i_ = s_.find("-->", i_) + 3;
      } else if (s_.compare(i_, 2, "<?") == 0) {
        i_ = s_.find("?>", i_) + 2;
      } else {
        return;
      }
    }
  }
  XmlNode ReadElement() {
    XmlNode node;
    ++i_;  // '<'
    std::size_t start = i_;
    while (!std::isspace(static_cast<unsigned char>(s_[i_])) && s_[i_] != '>' && s_[i_] != '/') ++i_;
    node.name = std::string(s_.substr(start, i_ - start));
    while (true) {
      while (std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
      if (s_[i_] == '/') {
        i_ += 2;
        return node;
      }
      if (s_[i_] == '>') {
        ++i_;
        break;
      }
      std::size_t eq = s_.find('=', i_);
      std::string key(s_.substr(i_, eq - i_));
      char quote = s_[eq + 1];
      std::size_t close = s_.find(quote, eq + 2);
      node.attributes[key] = DecodeEntities(s_.substr(eq + 2, close - eq - 2));
      i_ = close + 1;
    }
    while (true) {
      std::size_t lt = s_.find('<', i_);
      node.text += DecodeEntities(s_.substr(i_, lt - i_));
      i_ = lt;
      if (s_.compare(i_, 4, "<!--") == 0) {
        i_ = s_.find("-->", i_) + 3;
      } else if (s_.compare(i_, 2, "</") == 0) {
        i_ = s_.find('>', i_) + 1;
        return node;
      } else {
        node.children.push_back(ReadElement());
      }
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

// ---- the known failures: name -> reason ----

const std::map<std::string, std::string>& KnownFailures() {
  static const std::map<std::string, std::string> kTable = {
      {"testPolymorphismAsB",
       "needs static typing: '.unit' on the empty result of 'as Period' is only an error when "
       "the path is checked against the declared type; the engine checks names dynamically"},
      {"testDollarOrderNotAllowed",
       "needs static typing: skip() after children() (an unordered collection) is a semantic "
       "error only a type checker reports"},
      {"LowBoundaryDecimal15",
       "(-0.0034).lowBoundary(1) is -0.0 in the reference implementation; rounding the "
       "interval edge outward gives -0.1"},
      {"HighBoundaryDecimal15",
       "0.0034.highBoundary(1) is 0.0 in the reference implementation; rounding the interval "
       "edge outward gives 0.1"},
      {"HighBoundaryDecimal16", "-(0.0034.highBoundary(1)): as HighBoundaryDecimal15"},
      {"testPrimitiveExtensions",
       "patient-name-extensions.json has a '_given' array shorter than 'given': fhir/format's "
       "JSON parser then builds no given elements, so the expression sees none"},
  };
  return kTable;
}

// ---- running one test ----

struct Outcome {
  bool passed = false;
  std::string detail;
};

std::string TypeNameOf(const Value& v) {
  if (v.kind() == Value::Kind::kElement) return std::string(v.type_name());
  std::string n(v.type_name());
  if (n != "Quantity") n[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(n[0])));
  return n;
}

std::string LexicalOf(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kBoolean: return v.boolean() ? "true" : "false";
    case Value::Kind::kInteger: return std::to_string(v.integer());
    case Value::Kind::kQuantity: {
      const auto& q = v.quantity();
      static const char* kCalendar[] = {"year", "month", "week", "day", "hour", "minute", "second",
                                        "millisecond"};
      for (const char* c : kCalendar) {
        if (q.unit == c) return q.value + " " + q.unit;
      }
      return q.value + " '" + q.unit + "'";
    }
    case Value::Kind::kElement:
      if (v.element()->type() != nullptr && v.element()->type()->name == "Quantity") {
        const Element* value = v.element()->Child("value");
        const Element* code = v.element()->Child("code");
        if (value != nullptr && code != nullptr) return value->value() + " '" + code->value() + "'";
      }
      return v.text();
    default: return v.text();
  }
}

bool SameNumber(const std::string& a, const std::string& b) {
  char* ea = nullptr;
  char* eb = nullptr;
  long double x = std::strtold(a.c_str(), &ea);
  long double y = std::strtold(b.c_str(), &eb);
  if (ea == a.c_str() || eb == b.c_str() || *ea != '\0' || *eb != '\0') return false;
  long double diff = x - y;
  return diff < 1e-12L && diff > -1e-12L;
}

bool ValueMatches(const Value& actual, const XmlNode& expected, std::string& why) {
  std::string type = expected.Attribute("type");
  std::string want = expected.text;
  std::string got = LexicalOf(actual);
  std::string got_type = TypeNameOf(actual);
  if (!type.empty() && type != got_type) {
    why = "type " + got_type + " != " + type;
    return false;
  }
  bool temporal = got_type == "date" || got_type == "dateTime" || got_type == "time" ||
                  got_type == "instant";
  if (temporal && !want.empty() && want[0] == '@') {
    want.erase(0, 1);
    if (got_type == "time" && !want.empty() && want[0] == 'T') want.erase(0, 1);
  }
  if (got == want) return true;
  if ((got_type == "decimal" || got_type == "integer") && SameNumber(got, want)) return true;
  if (got_type == "Quantity") {
    auto split = [](const std::string& s) {
      auto sp = s.find(' ');
      return std::make_pair(s.substr(0, sp), sp == std::string::npos ? "" : s.substr(sp + 1));
    };
    auto [gv, gu] = split(got);
    auto [wv, wu] = split(want);
    if (gu == wu && SameNumber(gv, wv)) return true;
  }
  why = "value '" + got + "' != '" + want + "'";
  return false;
}

struct InputCache {
  std::map<std::string, std::unique_ptr<Element>> trees;

  const Element* Get(const std::string& file, std::string& error) {
    if (auto it = trees.find(file); it != trees.end()) return it->second.get();
    auto path = test_support::SharedDir() / "testdata" / "fhirpath" / file;
    std::string text = test_support::ReadFile(path);
    fhir::model::OperationOutcomeSink issues;
    const auto& defs = fhir::definitions::Definitions::R4();
    auto parsed = file.size() > 4 && file.substr(file.size() - 4) == ".xml"
                      ? fhir::format::ParseResourceXml(text, defs, issues)
                      : fhir::format::ParseResourceJson(text, defs, issues);
    if (!parsed.has_value()) {
      error = "cannot parse " + file + ": " + parsed.error().message();
      return nullptr;
    }
    auto tree = std::make_unique<Element>(std::move(parsed).value());
    const Element* p = tree.get();
    trees.emplace(file, std::move(tree));
    return p;
  }
};

Outcome RunTest(const XmlNode& test, InputCache& inputs) {
  const XmlNode* expression = nullptr;
  std::vector<const XmlNode*> outputs;
  for (const XmlNode& c : test.children) {
    if (c.name == "expression") expression = &c;
    if (c.name == "output") outputs.push_back(&c);
  }
  if (expression == nullptr) return {false, "no expression"};
  std::string invalid = expression->Attribute("invalid");
  static const Element kNoInput;
  const Element* focus = &kNoInput;
  if (std::string file = test.Attribute("inputfile"); !file.empty()) {
    std::string error;
    focus = inputs.Get(file, error);
    if (focus == nullptr) return {false, error};
  }
  auto compiled = fhir::fhirpath::Compile(expression->text);
  if (!compiled.has_value()) {
    if (!invalid.empty()) return {true, ""};
    return {false, "compile: " + compiled.error().message()};
  }
  fhir::fhirpath::EvaluationContext context;
  context.strict = true;
  auto result = fhir::fhirpath::Evaluate(**compiled, *focus, context);
  if (!result.has_value()) {
    if (!invalid.empty()) return {true, ""};
    return {false, "evaluate: " + result.error().message()};
  }
  if (!invalid.empty()) {
    return {false, "expected an error, got " + fhir::fhirpath::CollectionToJson(*result)};
  }
  Collection actual = *result;
  if (test.Attribute("predicate") == "true") {
    actual = {Value::Boolean(!actual.empty())};
  }
  if (actual.size() != outputs.size()) {
    return {false, "expected " + std::to_string(outputs.size()) + " items, got " +
                       fhir::fhirpath::CollectionToJson(actual)};
  }
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    std::string why;
    if (!ValueMatches(actual[i], *outputs[i], why)) {
      return {false, "item " + std::to_string(i) + ": " + why};
    }
  }
  return {true, ""};
}

// Pass count reached by this implementation; raise it when tests start passing.
constexpr int kPassFloor = 929;

BOOST_AUTO_TEST_SUITE(FhirpathSuite)

BOOST_AUTO_TEST_CASE(OfficialR4Tests) {
  std::string text =
      test_support::ReadFile(test_support::SharedDir() / "testdata" / "fhirpath" / "tests-fhir-r4.xml");
  XmlNode root = XmlReader(text).ReadDocument();
  InputCache inputs;
  int total = 0;
  int passed = 0;
  const bool verbose = std::getenv("FOVEA_FHIRPATH_VERBOSE") != nullptr;
  for (const XmlNode& group : root.children) {
    if (group.name != "group") continue;
    int unnamed = 0;
    for (const XmlNode& test : group.children) {
      if (test.name != "test") continue;
      ++total;
      std::string name = test.Attribute("name");
      if (name.empty()) name = group.Attribute("name") + "#" + std::to_string(++unnamed);
      Outcome outcome = RunTest(test, inputs);
      if (outcome.passed) ++passed;
      auto known = KnownFailures().find(name);
      if (outcome.passed && known != KnownFailures().end()) {
        BOOST_ERROR(name << " passes now: remove it from KnownFailures()");
      } else if (!outcome.passed && known == KnownFailures().end()) {
        BOOST_ERROR(name << " fails: " << outcome.detail);
      }
      if (verbose && !outcome.passed) {
        BOOST_TEST_MESSAGE("FAIL " << name << ": " << outcome.detail);
      }
    }
  }
  BOOST_TEST_MESSAGE("FHIRPath R4 suite: " << passed << "/" << total << " passed");
  // 937 <test> elements, two of them inside XML comments.
  BOOST_TEST(total == 935);
  BOOST_TEST(passed >= kPassFloor);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
