// fhir/search over PostgreSQL: the token$number$number (MolecularSequence coordinates) and
// reference$token (DocumentReference relationship) composites, on the official examples plus
// hand-made resources whose values would match only if one element's value paired with
// another's. Every query's SQL answer is checked against the expected ids and against the
// in-memory matcher (what subscriptions use) on the same rows. Also: their indexes can serve
// the searches, migration 0012 leaves a reindex task, and the reindex statement fills the new
// tables.

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "fhir/definitions/definitions.h"
#include "fhir/format/json_format.h"
#include "fhir/model/issues.h"
#include "fhir/search/index_extractor.h"
#include "fhir/search/memory_matcher.h"
#include "fhir/search/pg/pg_search_backend.h"
#include "fhir/search/sql_builder.h"
#include "fhir/store/pg/connection_pool.h"
#include "fhir/store/pg/migrations.h"
#include "fhir/store/pg/pg_resource_store.h"
#include "fhir/store/pg/queries.h"
#include "tests/support/search_queries.h"
#include "tests/support/shared_data.h"
#include "tests/support/test_database.h"

namespace {

using fhir::search::IndexRows;
using fhir::search::SearchParameterRegistry;

const SearchParameterRegistry& R4() { return *SearchParameterRegistry::R4(); }

struct Stored {
  std::string type;
  std::string id;
  IndexRows rows;
};

// Chromosome 1, variants [100, 200] and [300, 400]; window [50, 450].
const char* kTwoVariants = R"({"resourceType":"MolecularSequence","id":"two-variants","coordinateSystem":0,
  "referenceSeq":{"chromosome":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/chromosome-human","code":"1"}]},
    "referenceSeqId":{"coding":[{"system":"http://www.ncbi.nlm.nih.gov/nuccore","code":"NC_000001.11"}]},
    "windowStart":50,"windowEnd":450},
  "variant":[{"start":100,"end":200},{"start":300,"end":400}]})";

// Chromosome 1, one variant [150, 350]: what "1$lt200$gt300" should find.
const char* kWideVariant = R"({"resourceType":"MolecularSequence","id":"wide-variant","coordinateSystem":0,
  "referenceSeq":{"chromosome":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/chromosome-human","code":"1"}]},
    "windowStart":100,"windowEnd":400},
  "variant":[{"start":150,"end":350}]})";

// replaces DocumentReference/old1, appends DocumentReference/old2 (absolute).
const char* kTwoRelations = R"({"resourceType":"DocumentReference","id":"two-relations","status":"current",
  "content":[{"attachment":{"contentType":"text/plain"}}],
  "relatesTo":[{"code":"replaces","target":{"reference":"DocumentReference/old1"}},
               {"code":"appends","target":{"reference":"https://other.example/fhir/DocumentReference/old2"}}]})";

const char* kNoRelation = R"({"resourceType":"DocumentReference","id":"no-relation","status":"current",
  "content":[{"attachment":{"contentType":"text/plain"}}]})";

struct Fixture {
  test_support::TestDatabase db;
  fhir::store::pg::ConnectionPool pool{db.dsn(), 4};
  fhir::store::pg::PgResourceStore store{pool};
  fhir::search::pg::PgSearchBackend backend{pool};
  std::vector<Stored> stored;

  void Write(const std::string& json) {
    fhir::model::OperationOutcomeSink issues;
    auto root = fhir::format::ParseResourceJson(json, fhir::definitions::Definitions::R4(), issues);
    BOOST_REQUIRE(root.has_value());
    fhir::store::ResourceVersion v;
    v.type = root->type()->name;
    const fhir::model::Element* id = root->Child("id");
    BOOST_REQUIRE(id != nullptr);
    v.id = id->value();
    v.version = 1;
    v.last_updated = common::SystemClock().Now();
    v.method = fhir::store::Method::kCreate;
    v.content = fhir::format::WriteResourceJson(*root);
    IndexRows rows = fhir::search::ExtractIndex(*root, R4());
    v.index_rows_json = rows.ToJson();
    BOOST_REQUIRE(store.Write(v, 0).ok());
    stored.push_back({v.type, v.id, std::move(rows)});
  }

  void WriteExamples() {
    for (const auto& path : test_support::OfficialJsonExamples()) {
      std::string name = path.filename().string();
      if (name.rfind("MolecularSequence-", 0) == 0 || name == "DocumentReference-example.json") {
        Write(test_support::ReadFile(path));
      }
    }
    Write(kTwoVariants);
    Write(kWideVariant);
    Write(kTwoRelations);
    Write(kNoRelation);
  }

  fhir::search::SearchQuery Parse(const std::string& type, const std::string& query) {
    auto q = test_support::StrictQuery(type, query);
    q.count = 100;
    return q;
  }

  std::set<std::string> SqlIds(const std::string& type, const std::string& query) {
    auto result = backend.Search(Parse(type, query));
    BOOST_REQUIRE_MESSAGE(result.has_value(), query);
    std::set<std::string> ids;
    for (const auto& m : result->matches) ids.insert(m.id);
    return ids;
  }

  std::set<std::string> MemoryIds(const std::string& type, const std::string& query) {
    auto q = Parse(type, query);
    BOOST_REQUIRE_MESSAGE(fhir::search::CheckMatchable(q).ok(), query);
    std::set<std::string> ids;
    for (const Stored& s : stored) {
      if (s.type == type && fhir::search::MatchesInMemory(q, s.id, s.rows)) ids.insert(s.id);
    }
    return ids;
  }
};

std::string Joined(const std::set<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ",") + id;
  return out;
}

struct Case {
  const char* type;
  const char* query;
  const char* expected;  // ids, comma-separated and sorted
};

const Case kCases[] = {
    // The spec's example shape: chromosome, start < x, end > y, each number with its prefix.
    {"MolecularSequence", "chromosome-variant-coordinate=1$lt345$gt123", "two-variants,wide-variant"},
    // Start 100 < 200 is one variant, end 400 > 300 the other: only the wide variant has both.
    {"MolecularSequence", "chromosome-variant-coordinate=1$lt200$gt300", "wide-variant"},
    {"MolecularSequence", "chromosome-variant-coordinate=1$lt150$gt350", ""},
    {"MolecularSequence", "chromosome-variant-coordinate=1$300$400", "two-variants"},
    {"MolecularSequence", "chromosome-variant-coordinate=1$ge300$le400", "two-variants"},
    {"MolecularSequence", "chromosome-variant-coordinate=1$gt300$le400", ""},
    {"MolecularSequence", "chromosome-variant-coordinate=2$300$400", ""},
    {"MolecularSequence",
     "chromosome-variant-coordinate=http://terminology.hl7.org/CodeSystem/chromosome-human|1$100$200",
     "two-variants"},
    {"MolecularSequence", "chromosome-variant-coordinate=http://other.example|1$100$200", ""},
    {"MolecularSequence", "chromosome-variant-coordinate=1$ap140$ap360", "wide-variant"},
    // 3e2 is [250, 350), 4e2 [350, 450): significant figures, as for plain numbers.
    {"MolecularSequence", "chromosome-variant-coordinate=1$3e2$4e2", "two-variants"},
    {"MolecularSequence", "chromosome-variant-coordinate=1$ne100$gt0", "two-variants,wide-variant"},
    {"MolecularSequence", "chromosome-variant-coordinate=9$1$1,1$150$350", "wide-variant"},
    // The official example with a chromosome (graphic-example-4) has a window but no variant.
    {"MolecularSequence", "chromosome-window-coordinate=2$128273736$128273740", "graphic-example-4"},
    {"MolecularSequence", "chromosome-window-coordinate=2$gt128273736$128273740", ""},
    {"MolecularSequence", "chromosome-window-coordinate=1$le100$ge400", "two-variants,wide-variant"},
    {"MolecularSequence", "chromosome-window-coordinate=1$lt100$gt400", "two-variants"},
    {"MolecularSequence", "chromosome-variant-coordinate:missing=false", "two-variants,wide-variant"},
    // Official examples by reference sequence id.
    {"MolecularSequence", "referenceseqid-variant-coordinate=NC_000001.11$13116$13117",
     "fda-example,fda-vcf-comparison,fda-vcfeval-comparison"},
    {"MolecularSequence",
     "referenceseqid-variant-coordinate=http://www.ncbi.nlm.nih.gov/nuccore|NT_007592.15$ge18139000$le18140000",
     "example-TPMT-one"},
    {"MolecularSequence", "referenceseqid-variant-coordinate=NG_007726.3$gt55227975$lt55227980",
     "example-pgx-1,example-pgx-2"},
    {"MolecularSequence", "referenceseqid-variant-coordinate=NG_007726.3$gt55227977$lt55227980",
     "example-pgx-2"},
    {"MolecularSequence", "referenceseqid-window-coordinate=NC_000002.12$128273724$128273754",
     "sequence-complex-variant"},
    {"MolecularSequence", "referenceseqid-window-coordinate=NC_000002.12$le128273732$ge128273736",
     "graphic-example-5,sequence-complex-variant"},
    {"MolecularSequence", "referenceseqid-window-coordinate:missing=true",
     "coord-0-base,coord-1-base,graphic-example-2,graphic-example-3,graphic-example-4,wide-variant"},
    // relationship: the official example appends DocumentReference/example.
    {"DocumentReference", "relationship=DocumentReference/example$appends", "example"},
    {"DocumentReference", "relationship=example$appends", "example"},
    {"DocumentReference", "relationship=DocumentReference/example$replaces", ""},
    {"DocumentReference", "relationship=DocumentReference/old1$replaces", "two-relations"},
    // old1 is replaced, old2 appended: never old1 appended.
    {"DocumentReference", "relationship=DocumentReference/old1$appends", ""},
    {"DocumentReference", "relationship=DocumentReference/old2$replaces", ""},
    {"DocumentReference", "relationship=DocumentReference/old2$appends", "two-relations"},
    {"DocumentReference", "relationship=https://other.example/fhir/DocumentReference/old2$appends",
     "two-relations"},
    {"DocumentReference", "relationship=DocumentReference/old1$replaces,DocumentReference/example$appends",
     "example,two-relations"},
    {"DocumentReference", "relationship:missing=true", "no-relation"},
    {"DocumentReference", "relationship:missing=false", "example,two-relations"},
};

}  // namespace

BOOST_AUTO_TEST_SUITE(CompositeSearch)

BOOST_AUTO_TEST_CASE(SqlAndTheMemoryMatcherFindTheSameResources) {
  Fixture f;
  f.WriteExamples();
  for (const Case& c : kCases) {
    std::string sql = Joined(f.SqlIds(c.type, c.query));
    std::string memory = Joined(f.MemoryIds(c.type, c.query));
    BOOST_TEST(sql == c.expected, c.query << ": SQL found [" << sql << "]");
    BOOST_TEST(memory == c.expected, c.query << ": memory matcher found [" << memory << "]");
  }
}

BOOST_AUTO_TEST_CASE(AnIndexCanServeEachNewComposite) {
  // With sequential scans priced out, PostgreSQL still scans a table sequentially when no
  // index fits the query: so a plan without "Seq Scan on sp_composite_" shows the tables'
  // indexes serve these searches (the data set is too small for the planner to prefer them).
  Fixture f;
  f.WriteExamples();
  auto conn = f.pool.Acquire();
  BOOST_REQUIRE(conn.has_value());
  BOOST_REQUIRE((*conn)->ExecuteScript("test.no_seqscan", "SET enable_seqscan = off").ok());
  for (const auto& [type, query] : std::vector<std::pair<std::string, std::string>>{
           {"MolecularSequence", "chromosome-variant-coordinate=1$lt345$gt123"},
           {"MolecularSequence", "referenceseqid-window-coordinate=NC_000002.12$le128273732$ge128273736"},
           {"DocumentReference", "relationship=DocumentReference/old1$replaces"},
           {"DocumentReference", "relationship=https://other.example/fhir/DocumentReference/old2$appends"},
           {"DocumentReference", "relationship:missing=true"}}) {
    auto sql = fhir::search::BuildSearchSql(f.Parse(type, query));
    BOOST_REQUIRE(sql.has_value());
    std::string text = "EXPLAIN " + sql->page.text;
    auto plan = (*conn)->ExecuteUnprepared({"test.explain", text.c_str()}, sql->page.params);
    BOOST_REQUIRE_MESSAGE(plan.has_value(), query);
    std::string lines;
    for (int i = 0; i < plan->rows(); ++i) lines += std::string(plan->Get(i, 0)) + "\n";
    BOOST_TEST(lines.find("Seq Scan on sp_composite_") == std::string::npos, query << "\n" << lines);
    BOOST_TEST(lines.find("sp_composite_") != std::string::npos, query << "\n" << lines);
  }
}

BOOST_AUTO_TEST_CASE(AnUpdateOrDeletionReplacesTheRows) {
  Fixture f;
  f.Write(kTwoRelations);
  BOOST_TEST(Joined(f.SqlIds("DocumentReference", "relationship=old1$replaces")) == "two-relations");
  // Version 2 swaps the codes.
  auto current = f.store.Read("DocumentReference", "two-relations");
  BOOST_REQUIRE(current.has_value());
  std::string json = kTwoRelations;
  json.replace(json.find("replaces"), 8, "signs");
  fhir::model::OperationOutcomeSink issues;
  auto root = fhir::format::ParseResourceJson(json, fhir::definitions::Definitions::R4(), issues);
  BOOST_REQUIRE(root.has_value());
  fhir::store::ResourceVersion v = *current;
  v.version = 2;
  v.method = fhir::store::Method::kUpdate;
  v.content = fhir::format::WriteResourceJson(*root);
  v.index_rows_json = fhir::search::ExtractIndex(*root, R4()).ToJson();
  BOOST_REQUIRE(f.store.Write(v, 1).ok());
  BOOST_TEST(f.SqlIds("DocumentReference", "relationship=old1$replaces").empty());
  BOOST_TEST(Joined(f.SqlIds("DocumentReference", "relationship=old1$signs")) == "two-relations");
  fhir::store::ResourceVersion gone = v;
  gone.version = 3;
  gone.deleted = true;
  gone.method = fhir::store::Method::kDelete;
  gone.content.clear();
  gone.index_rows_json.clear();
  BOOST_REQUIRE(f.store.Write(gone, 2).ok());
  BOOST_TEST(f.SqlIds("DocumentReference", "relationship=old1$signs").empty());
  auto conn = f.pool.Acquire();
  BOOST_REQUIRE(conn.has_value());
  static constexpr fhir::store::pg::PgQuery kCount{
      "test.count", "SELECT count(*) FROM sp_composite_reference WHERE id = 'two-relations'"};
  auto left = (*conn)->ExecuteUnprepared(kCount, {});
  BOOST_REQUIRE(left.has_value());
  BOOST_TEST(left->Get(0, 0) == "0");
}

BOOST_AUTO_TEST_CASE(TheMigrationAsksForAReindexAndReindexingFillsTheTables) {
  Fixture f;
  auto conn = f.pool.Acquire();
  BOOST_REQUIRE(conn.has_value());
  fhir::store::pg::PgConnection& c = **conn;
  // As a database before 0012: the task done, the tables not there yet.
  BOOST_REQUIRE(c.ExecuteScript("test.undo_0012",
                                "DELETE FROM maintenance; DELETE FROM schema_migrations WHERE version = 12;"
                                " DROP TABLE sp_composite_number, sp_composite_reference;")
                    .ok());
  BOOST_REQUIRE(fhir::store::pg::Migrate(c).has_value());
  auto pending = c.ExecuteUnprepared(fhir::store::pg::kReindexPending, {});
  BOOST_REQUIRE(pending.has_value());
  BOOST_TEST(pending->rows() == 1);

  // A resource stored without its composite rows, then reindexed as `fovea reindex` does.
  fhir::store::ResourceVersion v;
  v.type = "MolecularSequence";
  v.id = "two-variants";
  v.version = 1;
  v.last_updated = common::SystemClock().Now();
  v.method = fhir::store::Method::kCreate;
  v.content = kTwoVariants;
  BOOST_REQUIRE(f.store.Write(v, 0).ok());
  BOOST_TEST(f.SqlIds("MolecularSequence", "chromosome-variant-coordinate=1$100$200").empty());
  fhir::model::OperationOutcomeSink issues;
  auto root = fhir::format::ParseResourceJson(kTwoVariants, fhir::definitions::Definitions::R4(), issues);
  BOOST_REQUIRE(root.has_value());
  auto replaced = c.ExecuteUnprepared(
      fhir::store::pg::kReplaceIndex,
      {"MolecularSequence", "two-variants", fhir::search::ExtractIndex(*root, R4()).ToJson(), "1"});
  BOOST_REQUIRE(replaced.has_value());
  BOOST_TEST(Joined(f.SqlIds("MolecularSequence", "chromosome-variant-coordinate=1$100$200")) ==
             "two-variants");
}

BOOST_AUTO_TEST_SUITE_END()
