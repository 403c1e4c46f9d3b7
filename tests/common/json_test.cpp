// common/json: the lexeme-preserving JSON reader/writer.

#include "common/json.h"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

BOOST_AUTO_TEST_SUITE(JsonParse)

BOOST_AUTO_TEST_CASE(KeepsNumberLexemes) {
  auto v = common::ParseJson(R"({"a":1.50,"b":-0.0e+10,"c":100})");
  BOOST_REQUIRE(v.has_value());
  BOOST_TEST(v->Find("a")->scalar() == "1.50");
  BOOST_TEST(v->Find("b")->scalar() == "-0.0e+10");
  BOOST_TEST(common::ToJson(*v) == R"({"a":1.50,"b":-0.0e+10,"c":100})");
}

BOOST_AUTO_TEST_CASE(DecodesEscapesAndSurrogates) {
  auto v = common::ParseJson(R"(["\u00e9\ud83d\ude00\n\"\\\/"])");
  BOOST_REQUIRE(v.has_value());
  BOOST_TEST(v->items()[0].scalar() == "\xc3\xa9\xf0\x9f\x98\x80\n\"\\/");
  BOOST_TEST(common::ToJson(*v) == "[\"\xc3\xa9\xf0\x9f\x98\x80\\n\\\"\\\\/\"]");
}

const char* const kMalformed[] = {
    "",           "{",           R"({"a":})",      R"({"a":1,})",  R"([1,2)",
    R"({"a" 1})", R"({'a':1})",  R"({"a":01})",    R"({"a":1.})",  R"({"a":tru})",
    R"({"a":1}x)", "\"\xff\"",   R"("\ud800")",    R"({"a":1,"a":2})", "\"a\tb\"",
};

BOOST_DATA_TEST_CASE(RejectsMalformed, boost::unit_test::data::make(kMalformed), text) {
  auto v = common::ParseJson(text);
  BOOST_TEST(!v.has_value());
  if (!v.has_value()) {
    BOOST_TEST(v.error().message().find("line") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(SkipsAUtf8ByteOrderMark) {
  auto v = common::ParseJson("\xEF\xBB\xBF{\"a\":1}");
  BOOST_REQUIRE(v.has_value());
  BOOST_TEST(v->Find("a")->scalar() == "1");
}

BOOST_AUTO_TEST_CASE(BoundsNestingDepth) {
  std::string deep(101, '[');
  deep += std::string(101, ']');
  auto v = common::ParseJson(deep, {.max_depth = 100});
  BOOST_REQUIRE(!v.has_value());
  BOOST_TEST(v.error().message().find("nesting") != std::string::npos);
  std::string ok(100, '[');
  ok += std::string(100, ']');
  BOOST_TEST(common::ParseJson(ok, {.max_depth = 100}).has_value());
}

BOOST_AUTO_TEST_CASE(EqualityIgnoresMemberOrderButNotLexemes) {
  auto a = common::ParseJson(R"({"x":1,"y":[true,null]})");
  auto b = common::ParseJson(R"({"y":[true,null],"x":1})");
  auto c = common::ParseJson(R"({"y":[true,null],"x":1.0})");
  BOOST_TEST(common::JsonEquals(*a, *b));
  BOOST_TEST(!common::JsonEquals(*a, *c));
}

BOOST_AUTO_TEST_CASE(PrettyJsonIndentsAndKeepsContent) {
  const std::string compact =
      R"({"a":[1,{"b":"x, y: {z} [w] \"q\" \\"}],"c":{},"d":[],"e":true})";
  std::string pretty = common::PrettyJson(compact);
  BOOST_TEST(pretty == "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"x, y: {z} [w] \\\"q\\\" \\\\\"\n"
                       "    }\n  ],\n  \"c\": {},\n  \"d\": [],\n  \"e\": true\n}");
  auto a = common::ParseJson(compact);
  auto b = common::ParseJson(pretty);
  BOOST_REQUIRE(b.has_value());
  BOOST_TEST(common::JsonEquals(*a, *b));
}

BOOST_AUTO_TEST_SUITE_END()

