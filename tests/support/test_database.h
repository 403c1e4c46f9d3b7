#ifndef FOVEA_TESTS_SUPPORT_TEST_DATABASE_H_
#define FOVEA_TESTS_SUPPORT_TEST_DATABASE_H_

// A fresh, migrated PostgreSQL database per test fixture, on the throwaway cluster that
// scripts/test.sh starts (FOVEA_TEST_PG_DSN). Dropped again when the fixture ends.

#include <memory>
#include <string>

namespace test_support {

class TestDatabase {
 public:
  TestDatabase();   // creates and migrates; throws with a clear message when there is no cluster
  ~TestDatabase();  // drops the database
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& dsn() const { return dsn_; }

 private:
  std::string admin_dsn_;
  std::string name_;
  std::string dsn_;
};

}  // namespace test_support

#endif  // FOVEA_TESTS_SUPPORT_TEST_DATABASE_H_
