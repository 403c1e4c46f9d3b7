// fhir/store/pg/connection: ExecuteCached forces the generic plan for its statement only, and a
// failing statement leaves the connection usable with PostgreSQL's own plan choice.
// fhir/store/pg/connection_pool: a connection that broke while idle is not handed out.

#include <boost/test/unit_test.hpp>

#include <string>

#include "fhir/store/pg/connection.h"
#include "fhir/store/pg/connection_pool.h"
#include "tests/support/test_database.h"

namespace {

using fhir::store::pg::ConnectionPool;
using fhir::store::pg::PgConnection;
using fhir::store::pg::PgQuery;
using fhir::store::pg::PgResult;

constexpr PgQuery kShowPlanMode{"test.show_plan_mode", "SELECT current_setting('plan_cache_mode')"};

std::string PlanMode(PgConnection& conn) {
  auto r = conn.ExecuteUnprepared(kShowPlanMode, {});
  BOOST_REQUIRE(r.has_value());
  return std::string(r->Get(0, 0));
}

BOOST_AUTO_TEST_CASE(CachedStatementsSeeTheGenericPlanModeAndNothingElseDoes) {
  test_support::TestDatabase db;
  auto conn = PgConnection::Connect(db.dsn());
  BOOST_REQUIRE(conn.has_value());
  const std::string sql = "SELECT current_setting('plan_cache_mode'), $1::int + 1";
  for (int i = 0; i < 3; ++i) {  // the first run prepares, the next reuse
    auto r = (*conn)->ExecuteCached("test.cached", sql, {std::to_string(i)});
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(r->Get(0, 0) == "force_generic_plan");
    BOOST_TEST(r->GetInt64(0, 1) == i + 1);
    BOOST_TEST(PlanMode(**conn) == "auto");  // gone with the statement's implicit transaction
  }
}

BOOST_AUTO_TEST_CASE(AFailingCachedStatementLeavesTheConnectionClean) {
  test_support::TestDatabase db;
  auto conn = PgConnection::Connect(db.dsn());
  BOOST_REQUIRE(conn.has_value());
  const std::string sql = "SELECT 10 / $1::int";
  auto failed = (*conn)->ExecuteCached("test.divide", sql, {"0"});
  BOOST_TEST(!failed.has_value());
  BOOST_TEST((*conn)->healthy());
  BOOST_TEST(PlanMode(**conn) == "auto");
  auto ok = (*conn)->ExecuteCached("test.divide", sql, {"5"});
  BOOST_REQUIRE(ok.has_value());
  BOOST_TEST(ok->GetInt64(0, 0) == 2);
  // A malformed value (a data exception) fails the same way, and so does an unknown text.
  BOOST_TEST(!(*conn)->ExecuteCached("test.divide", sql, {"not a number"}).has_value());
  BOOST_TEST(!(*conn)->ExecuteCached("test.bad", "SELECT no_such_column", {}).has_value());
  BOOST_TEST(PlanMode(**conn) == "auto");
  BOOST_TEST((*conn)->ExecuteCached("test.divide", sql, {"2"})->GetInt64(0, 0) == 5);
}

constexpr PgQuery kBackendPid{"test.backend_pid", "SELECT pg_backend_pid()"};

BOOST_AUTO_TEST_CASE(AConnectionThatBrokeWhileIdleIsNotHandedOut) {
  test_support::TestDatabase db;
  ConnectionPool pool(db.dsn(), 2);
  std::string pid;
  {
    auto lease = pool.Acquire();
    BOOST_REQUIRE(lease.has_value());
    auto r = (*lease)->Execute(kBackendPid, {});
    BOOST_REQUIRE(r.has_value());
    pid = std::string(r->Get(0, 0));
    BOOST_TEST((*lease)->StillConnected());
  }
  // The idle connection's session is ended from outside (as a PostgreSQL restart would).
  auto admin = PgConnection::Connect(db.dsn());
  BOOST_REQUIRE(admin.has_value());
  constexpr PgQuery kTerminate{"test.terminate",
                               "SELECT pg_terminate_backend($1::int, 5000)"};
  auto ended = (*admin)->Execute(kTerminate, {pid});
  BOOST_REQUIRE(ended.has_value());
  BOOST_REQUIRE(ended->Get(0, 0) == "t");
  // The next lease is a working connection, a new session.
  auto lease = pool.Acquire();
  BOOST_REQUIRE(lease.has_value());
  auto r = (*lease)->Execute(kBackendPid, {});
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(std::string(r->Get(0, 0)) != pid);
}

}  // namespace
