// fhir/validation/primitives: the lexical rules of the R4 primitive types, table-driven.

#include "fhir/validation/primitives.h"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

namespace {

struct Case {
  const char* type;
  const char* value;
  bool valid;
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.type << " '" << c.value << "' " << (c.valid ? "valid" : "invalid");
}

const Case kCases[] = {
    {"date", "2026", true},          {"date", "2026-11", true},       {"date", "2026-11-28", true},
    {"date", "2024-02-29", true},    {"date", "2026-02-29", false},   {"date", "2026-13-01", false},
    {"date", "26-11-28", false},     {"date", "2026-11-28T10:00:00Z", false},
    {"dateTime", "2026-11-28T10:00:00Z", true},  {"dateTime", "2026-11-28T10:00:00.123+05:30", true},
    {"dateTime", "2026-11-28T10:00:00", false},  {"dateTime", "2026-11-28T24:00:00Z", false},
    {"dateTime", "2026-11", true},   {"dateTime", "2026-11T10:00:00Z", false},
    {"instant", "2026-11-28T10:00:00.5Z", true}, {"instant", "2026-11-28", false},
    {"time", "10:00:00", true},      {"time", "10:00", false},        {"time", "10:61:00", false},
    {"id", "abc-1.2", true},         {"id", "a_b", false},            {"id", "", false},
    {"id", "0123456789012345678901234567890123456789012345678901234567890123", true},
    {"id", "01234567890123456789012345678901234567890123456789012345678901234", false},
    {"code", "final", true},         {"code", "a b", true},           {"code", " a", false},
    {"code", "a  b", false},         {"code", "", false},
    {"integer", "-5", true},         {"integer", "2147483647", true}, {"integer", "2147483648", false},
    {"integer", "1.0", false},       {"integer", "01", false},        {"integer", "-0", false},
    {"unsignedInt", "0", true},      {"unsignedInt", "-1", false},
    {"positiveInt", "1", true},      {"positiveInt", "0", false},
    {"uri", "http://x", true},       {"uri", "a b", false},
    {"oid", "urn:oid:1.2.3", true},  {"oid", "urn:oid:1.02", false},
    {"uuid", "urn:uuid:c757873d-ec9a-4326-a141-556f43239520", true},
    {"uuid", "urn:uuid:c757873d", false},
    {"base64Binary", "aGVsbG8=", true}, {"base64Binary", "aGVsbG8", false},
    {"string", "x", true},           {"string", "", false},
    {"xhtml", "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>", true},
    {"xhtml", "<p>x</p>", false},
};

}  // namespace

BOOST_AUTO_TEST_SUITE(PrimitiveLexicalRules)

BOOST_DATA_TEST_CASE(AcceptsValidRejectsInvalid, boost::unit_test::data::make(kCases), c) {
  std::string why;
  BOOST_TEST(fhir::validation::IsValidPrimitive(c.type, c.value, &why) == c.valid);
  if (!c.valid) BOOST_TEST(!why.empty());
}

BOOST_AUTO_TEST_SUITE_END()
