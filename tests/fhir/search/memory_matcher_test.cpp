// fhir/search/memory_matcher: search criteria on one resource version in memory, with the SQL
// search's semantics for the clauses subscriptions use, and refusals for the ones they cannot.

#include "fhir/search/memory_matcher.h"

#include <boost/test/unit_test.hpp>

#include "fhir/definitions/definitions.h"
#include "fhir/format/json_format.h"
#include "fhir/model/issues.h"
#include "fhir/search/index_extractor.h"
#include "tests/support/search_queries.h"

namespace {

using fhir::search::SearchParameterRegistry;

const SearchParameterRegistry& R4() { return *SearchParameterRegistry::R4(); }

fhir::search::IndexRows Rows(const std::string& json) {
  fhir::model::OperationOutcomeSink issues;
  auto root = fhir::format::ParseResourceJson(json, fhir::definitions::Definitions::R4(), issues);
  BOOST_REQUIRE(root.has_value());
  return fhir::search::ExtractIndex(*root, R4());
}

bool Matches(const std::string& type, const std::string& query, const std::string& json,
             const std::string& id = "t1") {
  auto q = test_support::StrictQuery(type, query);
  BOOST_REQUIRE_MESSAGE(fhir::search::CheckMatchable(q).ok(), query);
  return fhir::search::MatchesInMemory(q, id, Rows(json));
}

const char* kTask = R"({"resourceType":"Task","id":"t1","status":"ready","intent":"order",
  "code":{"coding":[{"system":"https://fovea.health/step","code":"acuity"}],"text":"Visual acuity"},
  "encounter":{"reference":"Encounter/e1"},"for":{"reference":"Patient/p1"},
  "owner":{"reference":"https://fovea.test/fhir/R4/Practitioner/d1"},
  "authoredOn":"2026-12-05T09:30:00Z","description":"Measure visual acuity"})";

BOOST_AUTO_TEST_SUITE(MemoryMatcher)

BOOST_AUTO_TEST_CASE(TokensReferencesStringsDatesAndIds) {
  BOOST_TEST(Matches("Task", "status=ready", kTask));
  BOOST_TEST(Matches("Task", "status=completed,ready", kTask));
  BOOST_TEST(!Matches("Task", "status=completed", kTask));
  BOOST_TEST(Matches("Task", "status:not=completed", kTask));
  BOOST_TEST(!Matches("Task", "status:not=ready", kTask));
  BOOST_TEST(Matches("Task", "code=https://fovea.health/step|acuity", kTask));
  BOOST_TEST(Matches("Task", "code=acuity", kTask));
  BOOST_TEST(!Matches("Task", "code=http://other|acuity", kTask));
  BOOST_TEST(!Matches("Task", "code=|acuity", kTask));
  BOOST_TEST(Matches("Task", "code:text=visual", kTask));
  BOOST_TEST(Matches("Task", "encounter=Encounter/e1", kTask));
  BOOST_TEST(Matches("Task", "encounter=e1", kTask));
  BOOST_TEST(Matches("Task", "encounter=https://fovea.test/fhir/R4/Encounter/e1", kTask));
  BOOST_TEST(!Matches("Task", "encounter=Encounter/e2", kTask));
  BOOST_TEST(Matches("Task", "patient:Patient=p1", kTask));
  BOOST_TEST(Matches("Task", "owner=Practitioner/d1", kTask));  // absolute on our base
  BOOST_TEST(Matches("Task", "authored-on=2026-12-05", kTask));
  BOOST_TEST(Matches("Task", "authored-on=ge2026-12-01", kTask));
  BOOST_TEST(!Matches("Task", "authored-on=lt2026-12-01", kTask));
  BOOST_TEST(Matches("Task", "_id=t1", kTask));
  BOOST_TEST(!Matches("Task", "_id=t2", kTask));
  BOOST_TEST(Matches("Task", "status=ready&encounter=Encounter/e1", kTask));  // AND
  BOOST_TEST(!Matches("Task", "status=ready&encounter=Encounter/e9", kTask));
  BOOST_TEST(Matches("Task", "business-status:missing=true", kTask));
  BOOST_TEST(!Matches("Task", "status:missing=true", kTask));
  BOOST_TEST(Matches("Patient", "name=ta", R"({"resourceType":"Patient","name":[{"family":"Tan"}]})"));
  BOOST_TEST(Matches("Patient", "name:exact=Tan", R"({"resourceType":"Patient","name":[{"family":"Tan"}]})"));
  BOOST_TEST(!Matches("Patient", "name:exact=tan", R"({"resourceType":"Patient","name":[{"family":"Tan"}]})"));
  BOOST_TEST(Matches("Patient", "name:contains=an", R"({"resourceType":"Patient","name":[{"family":"Tan"}]})"));
}

// Token :below/:above follow the hierarchies of the shipped code systems (request-intent:
// order > original-order, reflex-order, filler-order > instance-order).
// A date window (ge/gt with lt/le on one parameter) needs one value in it, as in the SQL: two
// events on either side of it do not make a match.
BOOST_AUTO_TEST_CASE(ADateWindowNeedsOneValueInIt) {
  const char* two_events = R"({"resourceType":"Observation","id":"o1","status":"final",
    "code":{"text":"x"},"effectiveTiming":{"event":["2026-09-01","2026-12-15"]}})";
  BOOST_TEST(Matches("Observation", "date=ge2026-10-01", two_events));
  BOOST_TEST(Matches("Observation", "date=lt2026-12-01", two_events));
  BOOST_TEST(!Matches("Observation", "date=ge2026-10-01&date=lt2026-12-01", two_events));
  BOOST_TEST(Matches("Observation", "date=ge2026-12-01&date=lt2026-12-31", two_events));
  BOOST_TEST(Matches("Observation", "date=gt2026-08&date=le2026-09-01", two_events));
  BOOST_TEST(!Matches("Observation", "date=gt2026-09-01&date=lt2026-12-15", two_events));
  // An empty window stays two conditions, each met by one of the events.
  BOOST_TEST(Matches("Observation", "date=ge2026-12-01&date=lt2026-10-01", two_events));
  // A Period overlapping the window matches it.
  const char* period = R"({"resourceType":"Observation","id":"o2","status":"final","code":{"text":"x"},
    "effectivePeriod":{"start":"2026-09-20","end":"2026-10-05"}})";
  BOOST_TEST(Matches("Observation", "date=ge2026-10-01&date=lt2026-11-01", period, "o2"));
  BOOST_TEST(!Matches("Observation", "date=ge2026-10-06&date=lt2026-11-01", period, "o2"));
}

BOOST_AUTO_TEST_CASE(TokensBelowAndAboveFollowShippedHierarchies) {
  auto task = [](const std::string& intent) {
    return R"({"resourceType":"Task","status":"ready","intent":")" + intent + R"("})";
  };
  BOOST_TEST(Matches("Task", "intent:below=order", task("order")));
  BOOST_TEST(Matches("Task", "intent:below=order", task("instance-order")));  // two levels down
  BOOST_TEST(Matches("Task", "intent:below=order", task("reflex-order")));
  BOOST_TEST(!Matches("Task", "intent:below=order", task("plan")));
  BOOST_TEST(!Matches("Task", "intent:below=filler-order", task("order")));
  BOOST_TEST(Matches("Task", "intent:above=instance-order", task("order")));
  BOOST_TEST(Matches("Task", "intent:above=instance-order", task("filler-order")));
  BOOST_TEST(!Matches("Task", "intent:above=instance-order", task("reflex-order")));
  // With a system, only codes indexed with that system match (a code element has none).
  BOOST_TEST(!Matches("Task", "intent:below=http://hl7.org/fhir/request-intent|order", task("order")));
  // And on uris, :above is "a prefix of what was asked".
  const char* vs = R"({"resourceType":"ValueSet","status":"active","url":"http://x.test/a"})";
  BOOST_TEST(Matches("ValueSet", "url:above=http://x.test/a/b", vs));
  BOOST_TEST(!Matches("ValueSet", "url:above=http://x.test/c", vs));
}

BOOST_AUTO_TEST_CASE(CriteriaItCannotEvaluateAreRefused) {
  for (const char* q : {"subject:Patient.name=tan", "_has:Observation:subject:code=x",
                        "value-quantity=5", "_text=acuity", "_content=acuity"}) {
    auto query = test_support::StrictQuery("Observation", q);
    auto st = fhir::search::CheckMatchable(query);
    BOOST_TEST(st.code() == common::StatusCode::kNotSupported, q);
    BOOST_TEST(!st.message().empty());
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
