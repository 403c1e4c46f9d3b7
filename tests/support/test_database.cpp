#include "tests/support/test_database.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>

#include "fhir/store/pg/connection.h"
#include "fhir/store/pg/migrations.h"

namespace test_support {

using fhir::store::pg::PgConnection;
using fhir::store::pg::PgQuery;

namespace {

std::unique_ptr<PgConnection> ConnectOrThrow(const std::string& dsn) {
  auto c = PgConnection::Connect(dsn);
  if (!c.has_value()) throw std::runtime_error("cannot connect to the test cluster: " + c.error().message());
  return std::move(c).value();
}

}  // namespace

TestDatabase::TestDatabase() {
  const char* dsn = std::getenv("FOVEA_TEST_PG_DSN");
  if (dsn == nullptr || *dsn == '\0') {
    throw std::runtime_error(
        "FOVEA_TEST_PG_DSN is not set: run the PostgreSQL tests through scripts/test.sh");
  }
  admin_dsn_ = dsn;
  static std::atomic<int> counter{0};
  name_ = "fovea_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  auto admin = ConnectOrThrow(admin_dsn_);
  // CREATE DATABASE takes no parameters; the name is generated above from digits only.
  if (!admin->ExecuteScript("test.create_database", "CREATE DATABASE " + name_).ok()) {
    throw std::runtime_error("cannot create test database");
  }
  dsn_ = admin_dsn_ + " dbname=" + name_;  // later keywords override earlier ones
  auto conn = ConnectOrThrow(dsn_);
  auto migrated = fhir::store::pg::Migrate(*conn);
  if (!migrated.has_value()) throw std::runtime_error("migration failed: " + migrated.error().message());
}

TestDatabase::~TestDatabase() {
  auto admin = PgConnection::Connect(admin_dsn_);
  if (admin.has_value()) {
    (void)(*admin)->ExecuteScript("test.drop_database",
                                  "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  }
}

}  // namespace test_support
