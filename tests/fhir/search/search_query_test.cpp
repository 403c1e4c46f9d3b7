// fhir/search: implicit ranges, query parsing and SQL generation (no database).

#include <algorithm>
#include <boost/test/unit_test.hpp>

#include "fhir/search/ranges.h"
#include "fhir/search/search_query.h"
#include "fhir/search/sql_builder.h"

namespace {

using fhir::search::SearchParameterRegistry;

std::string Instant(common::TimePoint t) { return common::FormatInstantMicros(t); }

fhir::search::SearchQuery Parse(const std::string& type,
                                std::vector<std::pair<std::string, std::string>> params,
                                fhir::model::OperationOutcomeSink& issues, bool strict = false) {
  fhir::search::SearchOptions options;
  options.strict = strict;
  return fhir::search::ParseSearch(type, params, *SearchParameterRegistry::R4(), options, issues);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ImplicitRanges)

BOOST_AUTO_TEST_CASE(DatesCoverTheirPrecision) {
  common::TimePoint lo, hi;
  BOOST_REQUIRE(fhir::search::DateRange("2026", lo, hi));
  BOOST_TEST(Instant(lo) == "2026-01-01T00:00:00.000000Z");
  BOOST_TEST(Instant(hi) == "2026-12-31T23:59:59.999999Z");
  BOOST_REQUIRE(fhir::search::DateRange("2024-02", lo, hi));
  BOOST_TEST(Instant(hi) == "2024-02-29T23:59:59.999999Z");
  BOOST_REQUIRE(fhir::search::DateRange("2026-11-28T10:00+02:00", lo, hi));
  BOOST_TEST(Instant(lo) == "2026-11-28T08:00:00.000000Z");
  BOOST_TEST(Instant(hi) == "2026-11-28T08:00:59.999999Z");
  BOOST_REQUIRE(fhir::search::DateRange("2026-11-28T10:00:00.5Z", lo, hi));
  BOOST_TEST(Instant(lo) == "2026-11-28T10:00:00.500000Z");
  BOOST_TEST(Instant(hi) == "2026-11-28T10:00:00.599999Z");
  BOOST_TEST(!fhir::search::DateRange("2026-13", lo, hi));
  BOOST_TEST(!fhir::search::DateRange("tomorrow", lo, hi));
}

BOOST_AUTO_TEST_CASE(NumbersCoverTheirSignificantFigures) {
  std::string lo, hi;
  BOOST_REQUIRE(fhir::search::DecimalRange("100", lo, hi));
  BOOST_TEST(lo == "99.5");
  BOOST_TEST(hi == "100.5");
  BOOST_REQUIRE(fhir::search::DecimalRange("1.50", lo, hi));
  BOOST_TEST(lo == "1.495");
  BOOST_TEST(hi == "1.505");
  BOOST_REQUIRE(fhir::search::DecimalRange("1e2", lo, hi));
  BOOST_TEST(lo == "50");
  BOOST_TEST(hi == "150");
  BOOST_TEST(!fhir::search::DecimalRange("1.", lo, hi));
  BOOST_TEST(!fhir::search::DecimalRange("1e400", lo, hi));  // not indexable, not an error
  BOOST_TEST(!fhir::search::DecimalRange("abc", lo, hi));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(QueryParsing)

BOOST_AUTO_TEST_CASE(SplitsOrValuesAndKeepsEscapedCommas) {
  auto v = fhir::search::SplitValues(R"(a,b\,c,d\|e)");
  BOOST_REQUIRE(v.size() == 3u);
  BOOST_TEST(v[1] == "b,c");
  BOOST_TEST(v[2] == R"(d\|e)");
}

BOOST_AUTO_TEST_CASE(RecognisesModifiersControlsAndUnknowns) {
  fhir::model::OperationOutcomeSink issues;
  auto q = Parse("Patient", {{"name:exact", "Tan"}, {"_count", "5"}, {"bogus", "1"},
                             {"_sort", "-birthdate"}, {"_total", "accurate"}}, issues);
  BOOST_REQUIRE(q.clauses.size() == 1u);
  BOOST_TEST(q.clauses[0].modifier == "exact");
  BOOST_TEST(q.count == 5);
  BOOST_REQUIRE(q.sort.size() == 1u);
  BOOST_TEST(q.sort[0].descending);
  BOOST_TEST((q.total == fhir::search::TotalMode::kAccurate));
  BOOST_TEST(!issues.HasErrors());            // lenient: a warning only
  BOOST_TEST(issues.issues().size() == 1u);
  fhir::model::OperationOutcomeSink strict_issues;
  Parse("Patient", {{"bogus", "1"}}, strict_issues, true);
  BOOST_TEST(strict_issues.HasErrors());
}

BOOST_AUTO_TEST_CASE(CountIsCapped) {
  fhir::model::OperationOutcomeSink issues;
  BOOST_TEST(Parse("Patient", {{"_count", "100000"}}, issues).count == 1000);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(SqlGeneration)

// Values never appear in the SQL text: only $n placeholders.
BOOST_AUTO_TEST_CASE(ValuesAreAlwaysParameters) {
  fhir::model::OperationOutcomeSink issues;
  auto q = Parse("Patient", {{"name", "O'Brien'; DROP TABLE resource;--"},
                             {"identifier", "urn:zz-system|zz-value"}, {"birthdate", "ge2010"},
                             {"_id", "x1"}}, issues);
  BOOST_REQUIRE(q.clauses.size() == 4u);
  auto sql = fhir::search::BuildSearchSql(q);
  BOOST_REQUIRE(sql.has_value());
  for (const std::string* text : {&sql->page.text, &sql->count.text}) {
    BOOST_TEST(text->find("DROP") == std::string::npos);
    BOOST_TEST(text->find("O'Brien") == std::string::npos);
    BOOST_TEST(text->find("zz-") == std::string::npos);
    BOOST_TEST(text->find("x1") == std::string::npos);
  }
  bool found = false;
  for (const auto& p : sql->page.params) found |= p && p->find("o'brien") != std::string::npos;
  BOOST_TEST(found);
}

BOOST_AUTO_TEST_CASE(CursorsRoundTripAndRejectGarbage) {
  std::string cursor = fhir::search::EncodeCursor({"2026-11-28 10:00:00+00", "2026-11-28 10:00:01.5+00"}, "Patient", "id~1!");
  fhir::model::OperationOutcomeSink issues;
  auto q = Parse("Patient", {{"_sort", "-birthdate,_lastUpdated"}}, issues);
  q.cursor = cursor;
  BOOST_TEST(fhir::search::BuildSearchSql(q).has_value());
  q.cursor = "only-one-value";
  BOOST_TEST(!fhir::search::BuildSearchSql(q).has_value());
}

// Only searches anchored on an equality that finds a handful of rows, with no ranges or
// patterns, may reuse a prepared plan (a generic plan cannot see a date window's values).
BOOST_AUTO_TEST_CASE(OnlyAnchoredEqualitySearchesReuseAPlan) {
  auto reuse = [](const std::string& type, std::vector<std::pair<std::string, std::string>> params) {
    fhir::model::OperationOutcomeSink issues;
    auto q = Parse(type, std::move(params), issues);
    BOOST_REQUIRE(!issues.HasErrors());
    auto sql = fhir::search::BuildSearchSql(q);
    BOOST_REQUIRE(sql.has_value());
    BOOST_TEST(sql->page.reuse_plan == sql->count.reuse_plan);
    return sql->page.reuse_plan;
  };
  BOOST_TEST(reuse("Observation", {{"subject", "Patient/p1"}, {"code", "http://loinc.org|1234-5"}}));
  BOOST_TEST(reuse("Observation", {{"subject:Patient", "p1"}, {"_sort", "-date"}, {"_count", "50"}}));
  BOOST_TEST(reuse("Patient", {{"identifier", "urn:mrn|123"}}));
  BOOST_TEST(reuse("Patient", {{"_id", "a,b"}}));
  // No anchor: a code alone may match a tenth of the table.
  BOOST_TEST(!reuse("Observation", {{"code", "http://loinc.org|1234-5"}}));
  BOOST_TEST(!reuse("Patient", {{"identifier", "123"}}));  // no system: not unique
  // Ranges and patterns, even next to an anchor.
  BOOST_TEST(!reuse("Observation", {{"subject", "Patient/p1"}, {"date", "ge2026-01-01"}}));
  // A _lastUpdated window alone walks resource_type_updated from its bound, whatever the values.
  BOOST_TEST(reuse("Observation", {{"_lastUpdated", "ge2026-01-01"}}));
  BOOST_TEST(reuse("Observation", {{"_lastUpdated", "ge2026-01-01"}, {"_lastUpdated", "lt2026-02-01"},
                                   {"_sort", "-_lastUpdated"}}));
  BOOST_TEST(!reuse("Observation", {{"_lastUpdated", "ge2026-01-01"}, {"_sort", "date"}}));
  BOOST_TEST(!reuse("Observation", {{"_lastUpdated", "ge2026-01-01"}, {"code", "http://loinc.org|1"}}));
  BOOST_TEST(!reuse("Patient", {{"name", "smi"}}));
  BOOST_TEST(!reuse("Observation", {{"subject", "Patient/p1"}, {"code:not", "http://loinc.org|1"}}));
  BOOST_TEST(!reuse("Observation", {{"subject:missing", "true"}}));
  BOOST_TEST(!reuse("Observation", {{"subject:Patient.name", "peter"}}));  // a chain
  // A chain ending in an identifier with its system anchors; without the system it does not.
  BOOST_TEST(reuse("Observation", {{"subject:Patient.identifier", "urn:mrn|123"}}));
  BOOST_TEST(reuse("Observation", {{"patient.identifier", "urn:mrn|123"}}));  // Patient or Group
  BOOST_TEST(!reuse("Observation", {{"subject:Patient.identifier", "123"}}));
  BOOST_TEST(!reuse("Observation", {{"subject:Patient._id", "p1"}}));
  BOOST_TEST(!reuse("Patient", {{"_has:Observation:subject:code", "http://loinc.org|1"}}));
}

// In a search whose plan is reused, the anchor drives and every other condition is fenced, so
// no generic plan can start from a code that matches a tenth of the table.
BOOST_AUTO_TEST_CASE(AReusedPlanStartsFromTheAnchor) {
  fhir::model::OperationOutcomeSink issues;
  auto q = Parse("Observation", {{"code", "http://loinc.org|1234-5"}, {"subject", "Patient/p1"}}, issues);
  auto sql = fhir::search::BuildSearchSql(q);
  BOOST_REQUIRE(sql.has_value());
  BOOST_REQUIRE(sql->page.reuse_plan);
  const std::string& text = sql->page.text;
  std::size_t token = text.find("FROM sp_token");
  std::size_t reference = text.find("FROM sp_reference");
  BOOST_REQUIRE(token != std::string::npos);
  BOOST_REQUIRE(reference != std::string::npos);
  // The subject drives: its ids, each kept if the code's fenced EXISTS, probed on the subject's
  // index row (not on a resource row), finds it.
  std::size_t fence = text.find(" OFFSET 0)");
  BOOST_REQUIRE(fence != std::string::npos);
  BOOST_TEST(text.find("r.id IN (SELECT sp0.id FROM sp_reference sp0") != std::string::npos);
  BOOST_TEST(reference < token);
  BOOST_TEST(fence > token);
  BOOST_TEST(text.find("sp1.type = sp0.type AND sp1.id = sp0.id") != std::string::npos);
  // One more fence only, around the whole anchored set: it is found first, then sorted (no
  // plan may walk every Observation in last_updated order to fill the LIMIT).
  std::size_t outer = text.find(" OFFSET 0)", fence + 1);
  BOOST_REQUIRE(outer != std::string::npos);
  BOOST_TEST(outer == text.find(" OFFSET 0) s ORDER BY"));
  BOOST_TEST(text.find(" OFFSET 0)", outer + 1) == std::string::npos);
  BOOST_TEST(sql->count.text.find(" OFFSET 0)") != std::string::npos);
  // Searches planned per execution are left as they were.
  auto free = fhir::search::BuildSearchSql(Parse("Observation", {{"code", "http://loinc.org|1234-5"}}, issues));
  BOOST_REQUIRE(free.has_value());
  BOOST_TEST(free->page.text.find("OFFSET 0") == std::string::npos);
  // So is a _lastUpdated window: no anchor, and its index serves the order and the LIMIT.
  auto window = fhir::search::BuildSearchSql(Parse("Observation", {{"_lastUpdated", "ge2026-01-01"}}, issues));
  BOOST_REQUIRE(window.has_value());
  BOOST_REQUIRE(window->page.reuse_plan);
  BOOST_TEST(window->page.text.find("OFFSET 0") == std::string::npos);
}

// An anchoring chain computes its target ids once and probes the reference index with them:
// as a join or EXISTS, a generic plan could scan every reference row instead.
BOOST_AUTO_TEST_CASE(AnAnchoringChainProbesWithItsTargetIds) {
  fhir::model::OperationOutcomeSink issues;
  auto q = Parse("Observation", {{"subject:Patient.identifier", "urn:mrn|123"}}, issues);
  auto sql = fhir::search::BuildSearchSql(q);
  BOOST_REQUIRE(sql.has_value());
  BOOST_REQUIRE(sql->page.reuse_plan);
  const std::string& text = sql->page.text;
  BOOST_TEST(text.find("sp0.target_id = ANY (ARRAY(SELECT sp1.id FROM sp_token sp1") != std::string::npos);
  BOOST_TEST(text.find("EXISTS") == std::string::npos);
  BOOST_TEST(text.find(" OFFSET 0) s ORDER BY") != std::string::npos);  // found, then sorted
  // The chained resources are of the target type only, named as a parameter.
  const auto& params = sql->page.params;
  BOOST_TEST(std::count(params.begin(), params.end(), std::optional<std::string>("Patient")) == 2);
  // Several target types: one probe per type.
  auto both = fhir::search::BuildSearchSql(Parse("Observation", {{"patient.identifier", "urn:mrn|123"}}, issues));
  BOOST_REQUIRE(both.has_value());
  BOOST_TEST(both->page.text.find(" OR (sp0.target_type = ") != std::string::npos);
  BOOST_TEST(std::count(both->page.params.begin(), both->page.params.end(), std::optional<std::string>("Group")) == 2);
  // A chain that does not anchor keeps its EXISTS, planned per execution.
  auto name = fhir::search::BuildSearchSql(Parse("Observation", {{"subject:Patient.name", "peter"}}, issues));
  BOOST_REQUIRE(name.has_value());
  BOOST_TEST(name->page.text.find("ARRAY(") == std::string::npos);
  BOOST_TEST(name->page.text.find("EXISTS (SELECT 1 FROM sp_string") != std::string::npos);
}

// An _include reads each referenced resource once, however many matches refer to it: the keys
// are made distinct (a semi-join) before resource rows are read.
BOOST_AUTO_TEST_CASE(AnIncludeReadsEachTargetOnce) {
  fhir::search::Include inc;
  inc.source_type = "Observation";
  inc.param = "subject";
  auto q = fhir::search::BuildIncludeSql(inc, "Observation", {"o1", "o2"}, 100);
  BOOST_TEST(q.reuse_plan);
  BOOST_TEST(q.text.find("DISTINCT") == std::string::npos);
  BOOST_TEST(q.text.find("(r2.type, r2.id) IN (SELECT ref.target_type, ref.target_id FROM sp_reference ref") !=
             std::string::npos);
  inc.reverse = true;
  inc.source_type = "Provenance";
  inc.param = "target";
  auto rev = fhir::search::BuildIncludeSql(inc, "Observation", {"o1"}, 100);
  BOOST_TEST(rev.text.find("(r2.type, r2.id) IN (SELECT ref.type, ref.id FROM sp_reference ref") !=
             std::string::npos);
}

// A ge/gt and an lt/le on one date parameter make a window (one stored value in it), written as
// one range overlap on sp_date; anything else stays as separate conditions.
BOOST_AUTO_TEST_CASE(DateBoundsOnOneParameterMakeAWindow) {
  fhir::model::OperationOutcomeSink issues;
  auto windows = [&](std::vector<std::pair<std::string, std::string>> params) {
    auto q = Parse("Observation", std::move(params), issues);
    BOOST_REQUIRE(!issues.HasErrors());
    std::string pairs;
    for (const auto& w : fhir::search::FindDateWindows(q.clauses)) {
      pairs += std::to_string(w.lower) + "-" + std::to_string(w.upper) + " ";
    }
    return pairs;
  };
  BOOST_TEST(windows({{"date", "ge2025-05-01"}, {"date", "lt2025-06-01"}}) == "0-1 ");
  BOOST_TEST(windows({{"date", "le2025-06"}, {"code", "1"}, {"date", "gt2025-05"}}) == "2-0 ");
  BOOST_TEST(windows({{"date", "ge2025-05-01"}}).empty());
  BOOST_TEST(windows({{"date", "ge2025-05-01"}, {"date", "ge2025-06-01"}}).empty());
  BOOST_TEST(windows({{"date", "ge2025-05-01,ge2025-04-01"}, {"date", "lt2025-06-01"}}).empty());  // an OR
  BOOST_TEST(windows({{"date", "sa2025-05-01"}, {"date", "lt2025-06-01"}}).empty());
  // Empty windows stay two conditions: no value lies in them, but two values may meet both.
  BOOST_TEST(windows({{"date", "ge2025-06-01"}, {"date", "lt2025-05-01"}}).empty());
  BOOST_TEST(windows({{"date", "ge2025-06-01"}, {"date", "lt2025-06-01"}}).empty());
  BOOST_TEST(windows({{"date", "ge2025-06-01"}, {"date", "le2025-06-01"}}) == "0-1 ");  // one day
  BOOST_TEST(windows({{"date", "gt2025-06-01"}, {"date", "lt2025-06-01"}}).empty());

  auto sql = fhir::search::BuildSearchSql(
      Parse("Observation", {{"date", "ge2025-05-01"}, {"code", "1"}, {"date", "lt2025-06-01"}}, issues));
  BOOST_REQUIRE(sql.has_value());
  const std::string& text = sql->page.text;
  BOOST_TEST(text.find("greatest(") != std::string::npos);
  BOOST_TEST(text.find(" && tstzrange(") != std::string::npos);
  BOOST_TEST(text.find("'[)'") != std::string::npos);
  BOOST_TEST(text.find("FROM sp_date") == text.rfind("FROM sp_date"));  // one condition, not two
  // Planned per search: the index conditions are nested id sets, not per-row EXISTS probes.
  BOOST_TEST(text.find("r.id IN (SELECT sp") != std::string::npos);
  BOOST_TEST(text.find("EXISTS") == std::string::npos);
  // A day is a containment, which the same index serves.
  auto day = fhir::search::BuildSearchSql(Parse("Observation", {{"date", "2025-05-01"}}, issues));
  BOOST_REQUIRE(day.has_value());
  BOOST_TEST(day->page.text.find(" <@ tstzrange(") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
