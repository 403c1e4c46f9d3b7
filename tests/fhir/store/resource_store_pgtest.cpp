// fhir/store: the ResourceStore contract, run against PostgreSQL and the in-memory store alike,
// plus PostgreSQL-only checks of atomicity (history and change-log rows commit with the version).

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "fhir/store/in_memory_resource_store.h"
#include "fhir/store/pg/connection_pool.h"
#include "fhir/store/pg/pg_resource_store.h"
#include "tests/support/test_database.h"

namespace {

using common::StatusCode;
using fhir::store::HistoryQuery;
using fhir::store::Method;
using fhir::store::ResourceStore;
using fhir::store::ResourceVersion;

common::TimePoint At(int seconds) {
  return common::TimePoint(std::chrono::seconds(1'800'000'000 + seconds));
}

ResourceVersion Version(const std::string& type, const std::string& id, int v, int at,
                        bool deleted = false) {
  ResourceVersion r;
  r.type = type;
  r.id = id;
  r.version = v;
  r.last_updated = At(at);
  r.deleted = deleted;
  r.method = deleted ? Method::kDelete : v == 1 ? Method::kCreate : Method::kUpdate;
  if (!deleted) {
    r.content = R"({"resourceType":")" + type + R"(","id":")" + id + R"(","meta":{"versionId":")" +
                std::to_string(v) + R"("}})";
  }
  return r;
}

// Runs each contract case on both implementations.
struct Stores {
  test_support::TestDatabase db;
  fhir::store::pg::ConnectionPool pool{db.dsn(), 16};
  fhir::store::pg::PgResourceStore pg{pool};
  fhir::store::InMemoryResourceStore memory;
  std::vector<std::pair<std::string, ResourceStore*>> all() {
    return {{"pg", &pg}, {"memory", &memory}};
  }
};

std::int64_t CountRows(Stores& s, const char* table) {
  auto conn = s.pool.Acquire();
  BOOST_REQUIRE(conn.has_value());
  std::string sql = std::string("SELECT count(*) FROM ") + table;  // table: a constant below
  auto r = (*conn)->ExecuteUnprepared({"test.count", sql.c_str()}, {});
  BOOST_REQUIRE(r.has_value());
  return r->GetInt64(0, 0);
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(ResourceStoreContract, Stores)

BOOST_AUTO_TEST_CASE(WritesReadsAndVersions) {
  for (auto [name, store] : all()) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST(store->Read("Patient", "p1").error().code() == StatusCode::kNotFound);
      BOOST_TEST(store->Write(Version("Patient", "p1", 1, 0), 0).ok());
      BOOST_TEST(store->Write(Version("Patient", "p1", 2, 1), 1).ok());
      auto head = store->Head("Patient", "p1");
      BOOST_REQUIRE(head.has_value());
      BOOST_TEST(head->version == 2);
      auto current = store->Read("Patient", "p1");
      BOOST_REQUIRE(current.has_value());
      BOOST_TEST(current->content == Version("Patient", "p1", 2, 1).content);
      BOOST_TEST(current->last_updated.time_since_epoch().count() ==
                 At(1).time_since_epoch().count());
      auto v1 = store->ReadVersion("Patient", "p1", 1);
      BOOST_REQUIRE(v1.has_value());
      BOOST_TEST(v1->content == Version("Patient", "p1", 1, 0).content);
      BOOST_TEST(store->ReadVersion("Patient", "p1", 3).error().code() == StatusCode::kNotFound);
      // Same id, other type: a different resource.
      BOOST_TEST(store->Read("Observation", "p1").error().code() == StatusCode::kNotFound);
    }
  }
}

BOOST_AUTO_TEST_CASE(StaleWriteIsRejectedAndWritesNothing) {
  for (auto [name, store] : all()) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST(store->Write(Version("Patient", "p2", 1, 0), 0).ok());
      BOOST_TEST(store->Write(Version("Patient", "p2", 2, 1), 1).ok());
      // A writer that read version 1 loses; so does a second "create".
      BOOST_TEST(store->Write(Version("Patient", "p2", 2, 2), 1).code() ==
                 StatusCode::kVersionConflict);
      BOOST_TEST(store->Write(Version("Patient", "p2", 1, 2), 0).code() ==
                 StatusCode::kVersionConflict);
      HistoryQuery q;
      q.type = "Patient";
      q.id = "p2";
      auto history = store->History(q);
      BOOST_REQUIRE(history.has_value());
      BOOST_TEST(history->entries.size() == 2u);
    }
  }
  BOOST_TEST(CountRows(*this, "event") == CountRows(*this, "resource_history"));
}

BOOST_AUTO_TEST_CASE(DeletionIsAVersion) {
  for (auto [name, store] : all()) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST(store->Write(Version("Patient", "p3", 1, 0), 0).ok());
      BOOST_TEST(store->Write(Version("Patient", "p3", 2, 1, true), 1).ok());
      auto current = store->Read("Patient", "p3");
      BOOST_REQUIRE(current.has_value());
      BOOST_TEST(current->deleted);
      BOOST_TEST(current->version == 2);
      BOOST_TEST(store->Write(Version("Patient", "p3", 3, 2), 2).ok());  // re-created
      BOOST_TEST(!store->Read("Patient", "p3")->deleted);
    }
  }
}

BOOST_AUTO_TEST_CASE(HistoryPagesNewestFirstWithFilters) {
  for (auto [name, store] : all()) {
    BOOST_TEST_CONTEXT(name) {
      for (int i = 1; i <= 5; ++i) {
        BOOST_TEST(store->Write(Version("Encounter", "e1", i, i * 10), i - 1).ok());
      }
      BOOST_TEST(store->Write(Version("Task", "t1", 1, 100), 0).ok());
      HistoryQuery q;
      q.type = "Encounter";
      q.count = 2;
      auto page1 = store->History(q);
      BOOST_REQUIRE(page1.has_value());
      BOOST_REQUIRE(page1->entries.size() == 2u);
      BOOST_TEST(page1->entries[0].version == 5);
      BOOST_TEST(page1->entries[1].version == 4);
      BOOST_REQUIRE(page1->next_before_seq.has_value());
      q.before_seq = page1->next_before_seq;
      auto page2 = store->History(q);
      BOOST_TEST(page2->entries[0].version == 3);
      q.before_seq.reset();
      q.count = 50;
      q.since = At(30);
      auto since = store->History(q);
      BOOST_TEST(since->entries.size() == 3u);  // versions 3, 4, 5
      BOOST_TEST(!since->next_before_seq.has_value());
      HistoryQuery all_types;
      all_types.since = At(50);
      auto system = store->History(all_types);
      BOOST_REQUIRE(system.has_value());
      BOOST_TEST(system->entries.size() == 2u);  // Encounter v5 and Task v1
      BOOST_TEST(system->entries[0].type == "Task");
    }
  }
}

// Many writers on one resource, each reading the head and writing head+1: no version is lost
// and none is written twice.
BOOST_AUTO_TEST_CASE(ConcurrentWritersNeverLoseOrDuplicateVersions) {
  constexpr int kThreads = 8;
  constexpr int kWritesEach = 25;
  for (auto [name, store] : all()) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_REQUIRE(store->Write(Version("Task", "hot", 1, 0), 0).ok());
      std::atomic<int> conflicts{0}, failures{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, store = store] {
          for (int i = 0; i < kWritesEach; ++i) {
            while (true) {
              auto head = store->Head("Task", "hot");
              if (!head.has_value()) {
                ++failures;
                return;
              }
              auto st = store->Write(Version("Task", "hot", head->version + 1, 1), head->version);
              if (st.ok()) break;
              if (st.code() != StatusCode::kVersionConflict) {
                ++failures;
                return;
              }
              ++conflicts;
            }
          }
        });
      }
      for (auto& t : threads) t.join();
      BOOST_TEST(failures.load() == 0);
      BOOST_TEST(store->Head("Task", "hot")->version == 1 + kThreads * kWritesEach);
      HistoryQuery q;
      q.type = "Task";
      q.id = "hot";
      q.count = 1000;
      auto history = store->History(q);
      std::set<int> versions;
      for (const auto& v : history->entries) versions.insert(v.version);
      BOOST_TEST(history->entries.size() == versions.size());
      BOOST_TEST(versions.size() == static_cast<std::size_t>(1 + kThreads * kWritesEach));
      BOOST_TEST(*versions.rbegin() == 1 + kThreads * kWritesEach);
    }
  }
  BOOST_TEST(CountRows(*this, "event") == CountRows(*this, "resource_history"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(PgResourceStoreAvailability)

BOOST_AUTO_TEST_CASE(UnreachableDatabaseIsUnavailableNotACrash) {
  fhir::store::pg::ConnectionPool pool("host=/nonexistent-fovea-socket-dir port=5432 user=x",
                                       2, std::chrono::milliseconds(200));
  fhir::store::pg::PgResourceStore store(pool);
  BOOST_TEST(store.Ping().code() == StatusCode::kUnavailable);
  BOOST_TEST(store.Read("Patient", "p").error().code() == StatusCode::kUnavailable);
  BOOST_TEST(store.Write(Version("Patient", "p", 1, 0), 0).code() == StatusCode::kUnavailable);
}

BOOST_AUTO_TEST_SUITE_END()
