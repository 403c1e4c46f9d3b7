// fhir/store: the ResourceStore contract, run against PostgreSQL and the in-memory store alike,
// plus PostgreSQL-only checks of atomicity (history, change-log and index rows commit with the
// version, and with the companions and AuditEvent rows of WriteWith).

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

// A companion or batch member: a new resource with one token index row (param "type").
ResourceVersion Created(const std::string& type, const std::string& id, int at) {
  ResourceVersion r = Version(type, id, 1, at);
  r.index_rows_json = R"({"token":[{"p":"type","s":"http://example.org/t","c":")" + id + R"("}]})";
  return r;
}

// WriteWith's AuditEvent rows, as fhir/audit's AuditRowsJson writes them (the store does not
// know fhir/audit): `n` rows about `entity`, without agent.
std::string AuditRows(const std::string& entity, int n) {
  std::string out = "[";
  for (int i = 0; i < n; ++i) {
    if (i > 0) out += ',';
    out += R"({"r":"2027-01-15T08:00:00.000001Z","s":"update","a":"U","o":0,"c":"app","e":")" +
           entity + R"(","q":"req-)" + std::to_string(i) +
           R"(","x":"{\"resourceType\":\"AuditEvent\"}"})";
  }
  return out + "]";
}

bool Exists(ResourceStore& store, const std::string& type, const std::string& id) {
  return store.Read(type, id).has_value();
}

std::int64_t CountRows(Stores& s, const char* table) {
  auto conn = s.pool.Acquire();
  BOOST_REQUIRE(conn.has_value());
  std::string sql = std::string("SELECT count(*) FROM ") + table;  // table: a constant below
  auto r = (*conn)->ExecuteUnprepared({"test.count", sql.c_str()}, {});
  BOOST_REQUIRE(r.has_value());
  return r->GetInt64(0, 0);
}

// AuditEvent rows stored: in audit_event for PostgreSQL, in the test accessor in memory.
std::int64_t AuditRowCount(Stores& s, const std::string& name, const char* where = "true") {
  if (name == "memory") return static_cast<std::int64_t>(s.memory.AuditRowsForTesting().size());
  auto conn = s.pool.Acquire();
  BOOST_REQUIRE(conn.has_value());
  std::string sql = std::string("SELECT count(*) FROM audit_event WHERE ") + where;  // a constant
  auto r = (*conn)->ExecuteUnprepared({"test.count_audit", sql.c_str()}, {});
  BOOST_REQUIRE(r.has_value());
  return r->GetInt64(0, 0);
}

// Index rows written for one resource id (sp_token only: what Created() indexes).
std::int64_t CountTokenRows(Stores& s, const std::string& id) {
  auto conn = s.pool.Acquire();
  BOOST_REQUIRE(conn.has_value());
  auto r = (*conn)->ExecuteUnprepared({"test.count_tokens", "SELECT count(*) FROM sp_token WHERE id = $1"},
                                      {id});
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

BOOST_AUTO_TEST_CASE(WriteWithCommitsCompanionsWithTheWrite) {
  for (auto [name, store] : all()) {
    BOOST_TEST_CONTEXT(name) {
      const std::string n(name);
      BOOST_TEST(store->WriteWith(Version("Patient", "w1", 1, 0), 0,
                                  {Created("AuditEvent", n + "-a1", 0),
                                   Created("Provenance", n + "-p1", 0)},
                                  AuditRows("Patient/w1", 1))
                     .ok());
      BOOST_TEST(store->WriteWith(Version("Patient", "w1", 2, 1), 1,
                                  {Created("AuditEvent", n + "-a2", 1)}, AuditRows("Patient/w1", 2))
                     .ok());
      BOOST_TEST(store->Head("Patient", "w1")->version == 2);
      BOOST_TEST(AuditRowCount(*this, n) == 3);
      for (const char* id : {"-a1", "-a2"}) {
        auto audit = store->Read("AuditEvent", n + id);
        BOOST_REQUIRE(audit.has_value());
        BOOST_TEST(audit->version == 1);
        BOOST_TEST(!audit->deleted);
        BOOST_TEST(audit->content == Version("AuditEvent", n + id, 1, 0).content);
        auto v1 = store->ReadVersion("AuditEvent", n + id, 1);
        BOOST_REQUIRE(v1.has_value());
        BOOST_TEST((v1->method == Method::kCreate));
      }
      BOOST_TEST(Exists(*store, "Provenance", n + "-p1"));
      HistoryQuery q;
      q.type = "AuditEvent";
      BOOST_TEST(store->History(q)->entries.size() == 2u);
      // Audit rows without companions, then neither: the same as Write.
      BOOST_TEST(store->WriteWith(Version("Patient", "w1", 3, 2), 2, {}, AuditRows("Patient/w1", 1))
                     .ok());
      BOOST_TEST(store->WriteWith(Version("Patient", "w1", 4, 3), 3, {}, {}).ok());
      BOOST_TEST(store->WriteWith(Version("Patient", "w1", 5, 4), 4, {}, "[]").ok());
      BOOST_TEST(store->Head("Patient", "w1")->version == 5);
      BOOST_TEST(AuditRowCount(*this, n) == 4);
      // A create with audit rows alone (the write's Provenance is its audit row).
      BOOST_TEST(store->WriteWith(Version("Patient", "w2", 1, 0), 0, {}, AuditRows("Patient/w2", 1)).ok());
      BOOST_TEST(store->Head("Patient", "w2")->version == 1);
      BOOST_TEST(AuditRowCount(*this, n) == 5);
    }
  }
  BOOST_TEST(CountRows(*this, "event") == CountRows(*this, "resource_history"));
  BOOST_TEST(CountTokenRows(*this, "pg-a1") == 1);
  BOOST_TEST(CountTokenRows(*this, "pg-p1") == 1);
  // The columns as sent; absent keys are NULL (no agent, patient or address was given).
  BOOST_TEST(AuditRowCount(*this, "pg",
                           "subtype = 'update' AND action = 'U' AND outcome = 0 AND client_id = 'app'"
                           " AND entity = 'Patient/w1' AND request_id LIKE 'req-%'"
                           " AND recorded = '2027-01-15T08:00:00.000001Z'"
                           " AND content = '{\"resourceType\":\"AuditEvent\"}'") == 4);
  BOOST_TEST(AuditRowCount(*this, "pg", "agent IS NULL AND patient IS NULL AND address IS NULL") == 5);
  const auto in_memory = memory.AuditRowsForTesting();
  BOOST_REQUIRE(in_memory.size() == 5u);
  BOOST_TEST(in_memory[0].find(R"("e":"Patient/w1")") != std::string::npos, in_memory[0]);
}

BOOST_AUTO_TEST_CASE(VersionConflictWritesNeitherResourceNorCompanions) {
  for (auto [name, store] : all()) {
    BOOST_TEST_CONTEXT(name) {
      const std::string n(name);
      BOOST_TEST(store->Write(Version("Patient", "c1", 1, 0), 0).ok());
      BOOST_TEST(store->Write(Version("Patient", "c1", 2, 1), 1).ok());
      // Stale update (read version 1) and a second "create": both lose, with their companions.
      BOOST_TEST(store->WriteWith(Version("Patient", "c1", 2, 2), 1,
                                  {Created("AuditEvent", n + "-lost1", 2)}, AuditRows("Patient/c1", 1))
                     .code() == StatusCode::kVersionConflict);
      BOOST_TEST(store->WriteWith(Version("Patient", "c1", 1, 2), 0,
                                  {Created("AuditEvent", n + "-lost2", 2),
                                   Created("Provenance", n + "-lost3", 2)},
                                  AuditRows("Patient/c1", 2))
                     .code() == StatusCode::kVersionConflict);
      // Audit rows alone lose with the write too, an update's and a create's.
      BOOST_TEST(store->WriteWith(Version("Patient", "c1", 2, 2), 1, {}, AuditRows("Patient/c1", 1))
                     .code() == StatusCode::kVersionConflict);
      BOOST_TEST(store->WriteWith(Version("Patient", "c1", 1, 2), 0, {}, AuditRows("Patient/c1", 1))
                     .code() == StatusCode::kVersionConflict);
      BOOST_TEST(AuditRowCount(*this, n) == 0);
      for (const char* id : {"-lost1", "-lost2"}) {
        BOOST_TEST(store->Read("AuditEvent", n + id).error().code() == StatusCode::kNotFound);
      }
      BOOST_TEST(!Exists(*store, "Provenance", n + "-lost3"));
      BOOST_TEST(store->Head("Patient", "c1")->version == 2);
    }
  }
  BOOST_TEST(CountRows(*this, "event") == CountRows(*this, "resource_history"));
  BOOST_TEST(CountRows(*this, "event") == 2);  // c1's two versions, in PostgreSQL
  BOOST_TEST(CountRows(*this, "sp_token") == 0);
}

BOOST_AUTO_TEST_CASE(ExistingCompanionIdFailsTheWholeWrite) {
  for (auto [name, store] : all()) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST(store->CreateAll({Created("AuditEvent", "taken", 0)}).ok());
      BOOST_TEST(store->WriteWith(Version("Patient", "x1", 1, 1), 0,
                                  {Created("Provenance", "fresh", 1),
                                   Created("AuditEvent", "taken", 1)},
                                  AuditRows("Patient/x1", 1))
                     .code() == StatusCode::kVersionConflict);
      BOOST_TEST(AuditRowCount(*this, name) == 0);
      BOOST_TEST(!Exists(*store, "Patient", "x1"));
      BOOST_TEST(!Exists(*store, "Provenance", "fresh"));
      // Twice in one call, or the written resource itself: the same.
      BOOST_TEST(store->WriteWith(Version("Patient", "x1", 1, 1), 0,
                                  {Created("AuditEvent", "twice", 1),
                                   Created("AuditEvent", "twice", 1)},
                                  {})
                     .code() == StatusCode::kVersionConflict);
      BOOST_TEST(store->WriteWith(Version("Patient", "x1", 1, 1), 0,
                                  {Created("Patient", "x1", 1)}, {})
                     .code() == StatusCode::kVersionConflict);
      BOOST_TEST(!Exists(*store, "Patient", "x1"));
      BOOST_TEST(!Exists(*store, "AuditEvent", "twice"));
      // A companion must be a first version.
      ResourceVersion second = Created("AuditEvent", "v2", 1);
      second.version = 2;
      BOOST_TEST(store->WriteWith(Version("Patient", "x1", 1, 1), 0, {second}, {}).code() ==
                 StatusCode::kInvalid);
      BOOST_TEST(!Exists(*store, "Patient", "x1"));
      // Audit rows that are not an array of row objects: a caller's bug, and nothing is written.
      for (const char* bad : {"not json", R"({"s":"read","x":"{}"})"}) {
        BOOST_TEST_CONTEXT(bad) {
          BOOST_TEST(store->WriteWith(Version("Patient", "x1", 1, 1), 0, {}, bad).code() ==
                     StatusCode::kInvalid);
          BOOST_TEST(!Exists(*store, "Patient", "x1"));
        }
      }
      for (const char* bad : {"[1]", R"([{"r":"2027-01-15T08:00:00Z","x":"{}"}])"}) {
        BOOST_TEST_CONTEXT(bad) {
          BOOST_TEST(!store->WriteWith(Version("Patient", "x1", 1, 1), 0, {}, bad).ok());
          BOOST_TEST(!Exists(*store, "Patient", "x1"));
        }
      }
      BOOST_TEST(AuditRowCount(*this, name) == 0);
    }
  }
  BOOST_TEST(CountRows(*this, "event") == CountRows(*this, "resource_history"));
  BOOST_TEST(CountRows(*this, "resource") == 1);  // "taken"
  BOOST_TEST(CountTokenRows(*this, "fresh") == 0);
}

BOOST_AUTO_TEST_CASE(CreateAllIsAllOrNothing) {
  for (auto [name, store] : all()) {
    BOOST_TEST_CONTEXT(name) {
      std::vector<ResourceVersion> batch;
      for (int i = 0; i < 20; ++i) {
        std::string id = "b";
        id += std::to_string(i);
        batch.push_back(Created("AuditEvent", id, i));
      }
      BOOST_TEST(store->CreateAll(batch).ok());
      BOOST_TEST(store->CreateAll({}).ok());
      for (const auto& v : batch) {
        auto stored = store->Read(v.type, v.id);
        BOOST_REQUIRE(stored.has_value());
        BOOST_TEST(stored->content == v.content);
        BOOST_TEST(stored->last_updated.time_since_epoch().count() ==
                   v.last_updated.time_since_epoch().count());
      }
      HistoryQuery q;
      q.type = "AuditEvent";
      q.count = 100;
      BOOST_TEST(store->History(q)->entries.size() == 20u);
      // One member exists already: none of the batch is written.
      BOOST_TEST(store->CreateAll({Created("AuditEvent", "new1", 0), Created("AuditEvent", "b7", 0),
                                   Created("AuditEvent", "new2", 0)})
                     .code() == StatusCode::kVersionConflict);
      BOOST_TEST(!Exists(*store, "AuditEvent", "new1"));
      BOOST_TEST(!Exists(*store, "AuditEvent", "new2"));
      // The content goes through a JSON parameter: its bytes must come back unchanged.
      ResourceVersion tricky = Created("AuditEvent", "tricky", 0);
      tricky.content = "{\"resourceType\":\"AuditEvent\",\"outcomeDesc\":\"\u00fc \xc3\xa9 \xf0\x9f\x98\x80 "
                       "\\\"q\\\" \\\\ \\u00e9 \\n\\t '\"}";
      BOOST_TEST(store->CreateAll({tricky}).ok());
      BOOST_TEST(store->Read("AuditEvent", "tricky")->content == tricky.content);
      ResourceVersion deleted = Created("AuditEvent", "gone", 0);
      deleted.deleted = true;
      BOOST_TEST(store->CreateAll({deleted}).code() == StatusCode::kInvalid);
    }
  }
  BOOST_TEST(CountRows(*this, "event") == 21);
  BOOST_TEST(CountRows(*this, "resource_history") == 21);
  BOOST_TEST(CountRows(*this, "sp_token") == 21);
  BOOST_TEST(CountTokenRows(*this, "new1") == 0);
}

BOOST_AUTO_TEST_CASE(WriteAllIsOneTransaction) {
  for (auto [name, store] : all()) {
    BOOST_TEST_CONTEXT(name) {
      const std::string p = std::string("w-") + name;
      BOOST_REQUIRE(store->Write(Version("Patient", p + "-upd", 1, 0), 0).ok());
      BOOST_REQUIRE(store->Write(Version("Patient", p + "-del", 1, 0), 0).ok());
      using fhir::store::PlannedWrite;
      // A delete, two creates, an update: in that order, all at once.
      std::vector<PlannedWrite> writes = {
          {Version("Patient", p + "-del", 2, 5, true), 1},
          {Created("Patient", p + "-new1", 5), 0},
          {Created("Patient", p + "-new2", 5), 0},
          {Version("Patient", p + "-upd", 2, 5), 1},
      };
      BOOST_TEST(store->WriteAll(writes, {Created("Provenance", p + "-prov", 5)}, "").ok());
      BOOST_TEST(store->Read("Patient", p + "-del")->deleted);
      BOOST_TEST(store->Read("Patient", p + "-upd")->version == 2);
      BOOST_TEST(Exists(*store, "Patient", p + "-new2"));
      BOOST_TEST(Exists(*store, "Provenance", p + "-prov"));
      HistoryQuery q;
      q.type = "Patient";
      q.count = 100;
      auto history = store->History(q);
      std::vector<std::string> newest_first;
      for (const auto& v : history->entries) {
        if (v.id.rfind(p, 0) == 0) newest_first.push_back(v.id + "@" + std::to_string(v.version));
      }
      std::vector<std::string> expected = {p + "-upd@2", p + "-new2@1", p + "-new1@1",
                                           p + "-del@2", p + "-del@1", p + "-upd@1"};
      BOOST_TEST(newest_first == expected, boost::test_tools::per_element());

      // A stale expected version in the middle: nothing of the set is written, and the
      // conflict names that write.
      std::size_t conflict = 99;
      std::vector<PlannedWrite> stale = {
          {Created("Patient", p + "-new3", 6), 0},
          {Version("Patient", p + "-upd", 2, 6), 1},  // current is 2
          {Created("Patient", p + "-new4", 6), 0},
      };
      BOOST_TEST(store->WriteAll(stale, {}, "", &conflict).code() == StatusCode::kVersionConflict);
      BOOST_TEST(conflict == 1u);
      BOOST_TEST(!Exists(*store, "Patient", p + "-new3"));
      BOOST_TEST(!Exists(*store, "Patient", p + "-new4"));
      // A created resource that exists already fails the set too.
      BOOST_TEST(store->WriteAll({{Version("Patient", p + "-upd", 3, 7), 2},
                                  {Created("Patient", p + "-new1", 7), 0}},
                                 {}, "")
                     .code() == StatusCode::kVersionConflict);
      BOOST_TEST(store->Read("Patient", p + "-upd")->version == 2);
      // Malformed plans are the caller's bug.
      BOOST_TEST(store->WriteAll({{Version("Patient", p + "-upd", 5, 7), 2}}, {}, "").code() ==
                 StatusCode::kInvalid);
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
  BOOST_TEST(store.CreateAll({Created("AuditEvent", "a", 0)}).code() == StatusCode::kUnavailable);
}

BOOST_AUTO_TEST_SUITE_END()
