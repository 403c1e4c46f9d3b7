// server/embedded_postgres: the private cluster of `fovea serve` without --database-url:
// initialised once, reachable through its unix socket, stopped, and reused with its data.

#include "server/embedded_postgres.h"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>

#include "fhir/store/pg/connection.h"

namespace {

// A scratch directory under /tmp: as root the cluster belongs to an unprivileged user, who must
// be able to reach it.
struct ScratchDir {
  ScratchDir() {
    char name[] = "/tmp/fovea-embedded-test.XXXXXX";
    path = mkdtemp(name);
    std::filesystem::permissions(path, std::filesystem::perms::owner_all |
                                           std::filesystem::perms::group_exec |
                                           std::filesystem::perms::others_exec);
  }
  ~ScratchDir() { std::filesystem::remove_all(path); }
  std::string path;
};

std::unique_ptr<fhir::store::pg::PgConnection> Connect(const server::EmbeddedPostgres& pg) {
  auto conn = fhir::store::pg::PgConnection::Connect(pg.ConnectionString());
  BOOST_REQUIRE_MESSAGE(conn.has_value(), "cannot connect to the embedded cluster");
  return std::move(conn).value();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(EmbeddedPostgres)

BOOST_AUTO_TEST_CASE(InitialisesStopsAndReusesTheCluster) {
  ScratchDir dir;
  {
    server::EmbeddedPostgres pg(dir.path + "/var");
    BOOST_REQUIRE(pg.Start().ok());
    BOOST_TEST(std::filesystem::exists(dir.path + "/var/pg/PG_VERSION"));
    auto conn = Connect(pg);
    BOOST_REQUIRE(conn->ExecuteScript("test.create", "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)").ok());
    BOOST_REQUIRE(pg.Stop().ok());
  }
  BOOST_TEST(!std::filesystem::exists(dir.path + "/var/pg/postmaster.pid"));  // cleanly stopped
  {
    server::EmbeddedPostgres pg(dir.path + "/var");
    BOOST_REQUIRE(pg.Start().ok());  // no initdb this time: the same cluster, the same data
    auto conn = Connect(pg);
    auto r = conn->ExecuteUnprepared({"test.read", "SELECT v FROM kept"}, {});
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(r->GetInt64(0, 0) == 42);
  }  // the destructor stops it
  BOOST_TEST(!std::filesystem::exists(dir.path + "/var/pg/postmaster.pid"));
}

BOOST_AUTO_TEST_CASE(NoTcpListener) {
  ScratchDir dir;
  server::EmbeddedPostgres pg(dir.path + "/var");
  BOOST_REQUIRE(pg.Start().ok());
  auto conn = Connect(pg);
  auto r = conn->ExecuteUnprepared({"test.listen", "SHOW listen_addresses"}, {});
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->Get(0, 0).empty());
  BOOST_TEST(pg.ConnectionString().find("host=/") == 0u);  // a unix socket directory
}

BOOST_AUTO_TEST_SUITE_END()
