// server/reindex_command: `fovea reindex` fills the index for resources stored without rows
// (an upgrade) and leaves a concurrently changed resource to its writer.

#include "server/reindex_command.h"

#include <boost/test/unit_test.hpp>

#include "fhir/search/pg/pg_search_backend.h"
#include "fhir/store/pg/connection_pool.h"
#include "fhir/store/pg/pg_resource_store.h"
#include "tests/support/test_database.h"

namespace {

fhir::store::ResourceVersion Patient(const std::string& id, const std::string& family) {
  fhir::store::ResourceVersion v;
  v.type = "Patient";
  v.id = id;
  v.version = 1;
  v.last_updated = common::SystemClock().Now();
  v.method = fhir::store::Method::kCreate;
  v.content = R"({"resourceType":"Patient","id":")" + id + R"(","meta":{"versionId":"1"},"name":[{"family":")" + family + R"("}]})";
  return v;  // index_rows_json left empty: as written before search existed
}

std::vector<std::string> FindByName(fhir::search::SearchBackend& backend, const std::string& name) {
  fhir::search::SearchQuery q;
  q.type = "Patient";
  fhir::search::Clause c;
  c.name = "name";
  c.param = fhir::search::SearchParameterRegistry::R4()->Find("Patient", "name");
  c.values = {name};
  q.clauses.push_back(c);
  auto result = backend.Search(q);
  BOOST_REQUIRE(result.has_value());
  std::vector<std::string> ids;
  for (const auto& m : result->matches) ids.push_back(m.id);
  return ids;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(Reindex)

BOOST_AUTO_TEST_CASE(IndexesResourcesStoredWithoutRows) {
  test_support::TestDatabase db;
  fhir::store::pg::ConnectionPool pool(db.dsn(), 4);
  fhir::store::pg::PgResourceStore store(pool);
  fhir::search::pg::PgSearchBackend backend(pool);
  BOOST_REQUIRE(store.Write(Patient("r1", "Tan"), 0).ok());
  BOOST_REQUIRE(store.Write(Patient("r2", "Lim"), 0).ok());
  BOOST_TEST(FindByName(backend, "tan").empty());
  auto report = server::Reindex(db.dsn(), *fhir::search::SearchParameterRegistry::R4());
  BOOST_REQUIRE(report.has_value());
  BOOST_TEST(report->resources == 2);
  BOOST_TEST(report->skipped == 0);
  BOOST_TEST(FindByName(backend, "tan") == std::vector<std::string>{"r1"});
  // Running it again replaces rather than duplicates.
  BOOST_REQUIRE(server::Reindex(db.dsn(), *fhir::search::SearchParameterRegistry::R4()).has_value());
  BOOST_TEST(FindByName(backend, "lim") == std::vector<std::string>{"r2"});
}

BOOST_AUTO_TEST_CASE(PendingReindexRunsOnceAfterTheMigration) {
  test_support::TestDatabase db;  // fresh: migration 0002 left its reindex task
  fhir::store::pg::ConnectionPool pool(db.dsn(), 4);
  fhir::store::pg::PgResourceStore store(pool);
  fhir::search::pg::PgSearchBackend backend(pool);
  BOOST_REQUIRE(store.Write(Patient("r3", "Ng"), 0).ok());
  BOOST_REQUIRE(server::ReindexIfPending(db.dsn(), *fhir::search::SearchParameterRegistry::R4()).ok());
  BOOST_TEST(FindByName(backend, "ng") == std::vector<std::string>{"r3"});
  // Done: a resource written without rows now stays unindexed until someone asks again.
  BOOST_REQUIRE(store.Write(Patient("r4", "Ngo"), 0).ok());
  BOOST_REQUIRE(server::ReindexIfPending(db.dsn(), *fhir::search::SearchParameterRegistry::R4()).ok());
  BOOST_TEST(FindByName(backend, "ngo").empty());
}

BOOST_AUTO_TEST_SUITE_END()
