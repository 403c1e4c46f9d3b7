// common/json_patch: RFC 6902 JSON Patch, against the official test cases shipped with the FHIR
// test suite (../shared/testdata/patch/json-patch-tests.json) and a few edges of RFC 6901.

#include <boost/test/unit_test.hpp>

#include "common/json.h"
#include "common/json_patch.h"
#include "tests/support/shared_data.h"

namespace {

using common::JsonValue;

JsonValue Parse(const std::string& text) {
  auto v = common::ParseJson(text);
  BOOST_REQUIRE_MESSAGE(v.has_value(), text);
  return std::move(v).value();
}

BOOST_AUTO_TEST_SUITE(JsonPatch)

BOOST_AUTO_TEST_CASE(OfficialCases) {
  JsonValue cases = Parse(test_support::ReadFile(test_support::SharedDir() / "testdata" / "patch" /
                                                 "json-patch-tests.json"));
  int run = 0;
  for (const JsonValue& c : cases.items()) {
    std::string comment = c.Find("comment") != nullptr ? c.Find("comment")->scalar() : "";
    auto result = common::ApplyJsonPatch(*c.Find("doc"), *c.Find("patch"));
    if (const JsonValue* expected = c.Find("expected")) {
      BOOST_TEST_REQUIRE(result.has_value(),
                         comment << ": " << (result.has_value() ? "" : result.error().message()));
      BOOST_TEST(common::JsonEquals(*result, *expected), comment << ": " << common::ToJson(*result));
    } else {
      BOOST_TEST(!result.has_value(), comment << " should fail");
    }
    ++run;
  }
  BOOST_TEST(run == 16);
}

BOOST_AUTO_TEST_CASE(PointerEscapesAndEdges) {
  JsonValue doc = Parse(R"({"a/b":1,"m~n":2,"arr":[1,2,3]})");
  auto r = common::ApplyJsonPatch(doc, Parse(R"([{"op":"replace","path":"/a~1b","value":9},
      {"op":"remove","path":"/m~0n"},{"op":"add","path":"/arr/-","value":4},
      {"op":"move","from":"/arr/0","path":"/first"}])"));
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(common::JsonEquals(*r, Parse(R"({"a/b":9,"arr":[2,3,4],"first":1})")));
  for (const char* bad : {R"([{"op":"add","path":"/arr/07","value":0}])",
                          R"([{"op":"move","from":"/arr","path":"/arr/0"}])",
                          R"([{"op":"frobnicate","path":"/a"}])",
                          R"([{"op":"add","path":"a","value":1}])",
                          R"([{"op":"add","path":"/x~2","value":1}])",
                          R"({"op":"add"})"}) {
    BOOST_TEST(!common::ApplyJsonPatch(doc, Parse(bad)).has_value(), bad);
  }
  // All or nothing: a failing test leaves the document as it was (the caller's copy).
  auto failed = common::ApplyJsonPatch(
      doc, Parse(R"([{"op":"remove","path":"/arr"},{"op":"test","path":"/a~1b","value":0}])"));
  BOOST_TEST(!failed.has_value());
  BOOST_TEST(doc.Find("arr") != nullptr);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
