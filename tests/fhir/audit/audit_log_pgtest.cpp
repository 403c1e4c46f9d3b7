// fhir/audit on PostgreSQL: AuditLog batches become audit blocks that AuditStore::Search
// finds, and the AuditEvent row and Provenance of a write commit with it or not at all (run on
// the in-memory stores too).

#include "fhir/audit/audit_log.h"

#include <boost/test/unit_test.hpp>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fhir/audit/in_memory_audit_store.h"
#include "fhir/audit/pg/pg_audit_store.h"
#include "fhir/model/issues.h"
#include "fhir/search/live_registry.h"
#include "fhir/search/pg/pg_search_backend.h"
#include "fhir/search/search_query.h"
#include "fhir/store/in_memory_resource_store.h"
#include "fhir/store/pg/connection_pool.h"
#include "fhir/store/pg/pg_resource_store.h"
#include "tests/support/test_database.h"

namespace {

using common::StatusCode;
using fhir::audit::AuditLog;
using fhir::audit::AuditQuery;
using fhir::audit::AuditRecord;
using fhir::audit::AuditRow;
using fhir::audit::AuditStore;
using fhir::audit::Interaction;
using fhir::search::SearchParameterRegistry;
using fhir::store::ResourceStore;
using fhir::store::ResourceVersion;

// Every row matching `q`, following the cursor.
std::vector<AuditRow> All(AuditStore& store, AuditQuery q) {
  q.count = 100;
  std::vector<AuditRow> rows;
  while (true) {
    auto page = store.Search(q);
    BOOST_REQUIRE(page.has_value());
    rows.insert(rows.end(), page->rows.begin(), page->rows.end());
    if (!page->next_after_seq) return rows;
    q.after_seq = page->next_after_seq;
  }
}

std::set<std::string> RequestIds(const std::vector<AuditRow>& rows) {
  std::set<std::string> ids;
  for (const AuditRow& row : rows) ids.insert(row.request_id);
  return ids;
}

struct Pg {
  test_support::TestDatabase db;
  fhir::store::pg::ConnectionPool pool{db.dsn(), 8};
  fhir::store::pg::PgResourceStore store{pool};
  fhir::audit::pg::PgAuditStore audit_store{pool};
  fhir::search::pg::PgSearchBackend search{pool};
  std::shared_ptr<fhir::search::LiveRegistry> registry =
      std::make_shared<fhir::search::LiveRegistry>(SearchParameterRegistry::R4());
  common::SystemClock clock;

  // The ids of the resources of `type` matching `params`.
  std::set<std::string> Find(const std::string& type,
                             std::vector<std::pair<std::string, std::string>> params) {
    params.emplace_back("_count", "1000");
    fhir::model::OperationOutcomeSink issues;
    fhir::search::SearchOptions options;
    options.strict = true;
    auto query = fhir::search::ParseSearch(type, params, *registry->Get(), options, issues);
    BOOST_REQUIRE(!issues.HasErrors());
    auto result = search.Search(query);
    BOOST_REQUIRE(result.has_value());
    std::set<std::string> ids;
    for (const auto& m : result->matches) ids.insert(m.id);
    return ids;
  }

  std::int64_t Count(const char* sql) {
    auto conn = pool.Acquire();
    BOOST_REQUIRE(conn.has_value());
    auto r = (*conn)->ExecuteUnprepared({"test.count", sql}, {});
    BOOST_REQUIRE(r.has_value());
    return r->GetInt64(0, 0);
  }
};

// Record n of a mixed workload: reads, vreads, searches and logins over five patients.
AuditRecord Workload(int n) {
  AuditRecord r;
  switch (n % 4) {
    case 0: r.interaction = Interaction::kRead; break;
    case 1: r.interaction = Interaction::kVread; break;
    case 2: r.interaction = Interaction::kSearchType; r.query = "Observation?patient=p"; break;
    default: r.interaction = Interaction::kLogin; break;
  }
  r.http_status = n % 10 == 9 ? 404 : 200;
  r.agent_reference = "Practitioner/prac-" + std::to_string(n % 3);
  r.client_id = "app";
  r.source_address = "10.0.0." + std::to_string(n % 250);
  r.observer = "fovea-test";
  r.request_id = "req-" + std::to_string(n);
  r.patients = {"Patient/p" + std::to_string(n % 5)};
  if (r.interaction != Interaction::kLogin && r.interaction != Interaction::kSearchType) {
    r.entities = {"Observation/o" + std::to_string(n) + "/_history/1"};
  }
  return r;
}

ResourceVersion Observation(const std::string& id, int version) {
  ResourceVersion v;
  v.type = "Observation";
  v.id = id;
  v.version = version;
  v.last_updated = common::SystemClock().Now();
  v.method = version == 1 ? fhir::store::Method::kCreate : fhir::store::Method::kUpdate;
  v.content = R"({"resourceType":"Observation","id":")" + id + R"(","meta":{"versionId":")" +
              std::to_string(version) + R"("},"status":"final","code":{"text":"x"}})";
  return v;
}

// Writes `id` at `version` with its audit trail, as the REST layer does: the Provenance as a
// companion, the AuditEvent as a row, both in the write's statement.
common::Status WriteAudited(ResourceStore& store, const std::string& id, int version,
                            int expected, const SearchParameterRegistry* registry) {
  ResourceVersion v = Observation(id, version);
  const std::string target = "Observation/" + id + "/_history/" + std::to_string(version);
  AuditRecord audit;
  audit.recorded = v.last_updated;
  audit.interaction = version == 1 ? Interaction::kCreate : Interaction::kUpdate;
  audit.http_status = version == 1 ? 201 : 200;
  audit.agent_reference = "Practitioner/prac-1";
  audit.client_id = "app";
  audit.request_id = "req-write-" + id + "-" + std::to_string(version);
  audit.patients = {"Patient/p1"};
  audit.entities = {target};
  fhir::audit::ProvenanceRecord prov;
  prov.targets = {target};
  prov.activity = version == 1 ? fhir::audit::ProvenanceActivity::kCreate
                               : fhir::audit::ProvenanceActivity::kUpdate;
  prov.agent_reference = "Practitioner/prac-1";
  prov.client_id = "app";
  prov.request_id = audit.request_id;
  auto provenance = fhir::audit::ProvenanceCompanion(prov, v.last_updated, registry);
  BOOST_REQUIRE(provenance.has_value());
  return store.WriteWith(v, expected, {*provenance},
                         fhir::audit::AuditRowsJson({fhir::audit::WriteAuditRowFor(audit)}));
}

std::size_t CountOfType(ResourceStore& store, const std::string& type) {
  fhir::store::HistoryQuery q;
  q.type = type;
  q.count = 100'000;
  return store.History(q)->entries.size();
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(AuditLogOnPostgres, Pg)

BOOST_AUTO_TEST_CASE(RecordsFromManyThreadsAreAllStoredAndSearchable) {
  constexpr int kThreads = 4;
  constexpr int kEach = 100;
  constexpr int kTotal = kThreads * kEach;
  fhir::audit::AuditLogOptions options;
  options.max_batch = 32;
  AuditLog log(audit_store, clock, options);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    // Each thread takes every kThreads-th record: arrival order differs from numbering.
    threads.emplace_back([&, t] {
      for (int n = kTotal - 1 - t; n >= 0; n -= kThreads) log.Record(Workload(n));
    });
  }
  for (auto& t : threads) t.join();
  log.Flush();
  BOOST_TEST(log.stats().written == static_cast<std::uint64_t>(kTotal));
  BOOST_TEST(log.stats().failed == 0u);

  // Every record is there once, whatever the order of arrival, and only in audit blocks.
  std::set<std::string> expected;
  for (int n = 0; n < kTotal; ++n) expected.insert("req-" + std::to_string(n));
  BOOST_TEST((RequestIds(All(audit_store, {})) == expected));
  BOOST_TEST(Count("SELECT sum(event_count) FROM audit_block") == kTotal);
  BOOST_TEST(Count("SELECT count(*) FROM audit_event") == 0);
  BOOST_TEST(Count("SELECT count(*) FROM resource") == 0);
  BOOST_TEST(Count("SELECT count(*) FROM event") == 0);

  // And the audit search finds them by subtype, patient, agent, outcome, entity and action.
  auto count = [&](AuditQuery q) { return All(audit_store, std::move(q)).size(); };
  AuditQuery q;
  q.subtype = "read";
  BOOST_TEST(count(q) == static_cast<std::size_t>(kTotal / 4));
  q = {};
  q.subtype = "110122";  // DICOM Login, the AuditEvent.subtype of a login
  BOOST_TEST(count(q) == static_cast<std::size_t>(kTotal / 4));
  q = {};
  q.patient = "Patient/p1";
  BOOST_TEST(count(q) == static_cast<std::size_t>(kTotal / 5));
  std::size_t by_prac2 = 0;
  for (int n = 0; n < kTotal; ++n) by_prac2 += n % 3 == 2 ? 1 : 0;
  q = {};
  q.agent = "Practitioner/prac-2";
  BOOST_TEST(count(q) == by_prac2);
  q = {};
  q.outcome = 4;
  BOOST_TEST(count(q) == static_cast<std::size_t>(kTotal / 10));
  q = {};
  q.entity = "Observation/o8";
  BOOST_TEST(count(q) == 1u);
  q = {};
  q.action = 'E';
  BOOST_TEST(count(q) == static_cast<std::size_t>(kTotal / 2));
}

BOOST_AUTO_TEST_CASE(DestructionStoresEverythingQueued) {
  {
    fhir::audit::AuditLogOptions options;
    options.linger = std::chrono::seconds(30);
    AuditLog log(audit_store, clock, options);
    for (int n = 0; n < 300; ++n) log.Record(Workload(n));
  }
  BOOST_TEST(Count("SELECT sum(event_count) FROM audit_block") == 300);
  AuditQuery q;
  q.patient = "Patient/p3";
  BOOST_TEST(All(audit_store, q).size() == 60u);
}

BOOST_AUTO_TEST_CASE(WriteAuditAndProvenanceCommitWithTheWrite) {
  auto snapshot = registry->Get();
  BOOST_REQUIRE(WriteAudited(store, "o1", 1, 0, snapshot.get()).ok());
  BOOST_REQUIRE(WriteAudited(store, "o1", 2, 1, snapshot.get()).ok());
  // A stale writer loses: no version 3, no AuditEvent, no Provenance.
  BOOST_TEST(WriteAudited(store, "o1", 2, 1, snapshot.get()).code() == StatusCode::kVersionConflict);
  BOOST_TEST(store.Head("Observation", "o1")->version == 2);
  AuditQuery q;
  q.entity = "Observation/o1";
  const auto rows = All(audit_store, q);
  BOOST_REQUIRE(rows.size() == 2u);
  BOOST_TEST(rows[0].subtype == "update");  // newest first
  BOOST_TEST(rows[1].subtype == "create");
  BOOST_TEST(rows[0].request_id == "req-write-o1-2");
  q = {};
  q.patient = "Patient/p1";
  q.action = 'U';
  BOOST_TEST(All(audit_store, q).size() == 1u);
  BOOST_TEST(Find("Provenance", {{"target", "Observation/o1"}}).size() == 2u);
  BOOST_TEST(Find("Provenance", {{"agent", "Practitioner/prac-1"}}).size() == 2u);
  BOOST_TEST(Count("SELECT count(*) FROM resource") == 3);  // o1 + 2 Provenances
  BOOST_TEST(Count("SELECT count(*) FROM audit_event") == 2);
  BOOST_TEST(Count("SELECT count(*) FROM event") == Count("SELECT count(*) FROM resource_history"));
  // The Provenance is indexed only by what it is searched by: no full text, no agent types.
  BOOST_TEST(Count("SELECT count(*) FROM sp_text WHERE type = 'Provenance'") == 0);
  BOOST_TEST(Count("SELECT count(*) FROM sp_token WHERE type = 'Provenance'") == 0);
  BOOST_TEST(Count("SELECT count(*) FROM sp_date WHERE type = 'Provenance' AND param = 'recorded'") ==
             2);
}

// A transaction's AuditEvent names every resource it wrote; `entity` holds the first only, so
// the entity filter must find the others through `targets` (migration 0019), in rows and blocks.
BOOST_AUTO_TEST_CASE(EveryResourceOfATransactionFindsItsAuditEvent) {
  std::vector<fhir::store::PlannedWrite> writes;
  AuditRecord audit;
  audit.recorded = clock.Now();
  audit.interaction = Interaction::kTransaction;
  audit.http_status = 200;
  audit.agent_reference = "Practitioner/prac-1";
  audit.request_id = "req-transaction";
  for (const char* id : {"t1", "t2", "t3"}) {
    writes.push_back({Observation(id, 1), 0});
    audit.entities.push_back(std::string("Observation/") + id + "/_history/1");
  }
  audit.entities.push_back("Observation/t2/_history/1");  // named twice: one target
  const AuditRow row = fhir::audit::WriteAuditRowFor(audit);
  BOOST_TEST(row.entity == "Observation/t1");
  BOOST_TEST(row.targets == (std::vector<std::string>{"Observation/t1", "Observation/t2", "Observation/t3"}),
             boost::test_tools::per_element());
  BOOST_REQUIRE(store.WriteAll(writes, {}, fhir::audit::AuditRowsJson({row})).ok());
  // A read of t3 audited through the AuditLog (a block): found by entity as before, no targets.
  {
    AuditLog log(audit_store, clock);
    AuditRecord read = Workload(0);
    read.entities = {"Observation/t3/_history/1"};
    read.request_id = "req-read-t3";
    log.Record(read);
  }
  for (const char* id : {"t1", "t2", "t3"}) {
    AuditQuery q;
    q.entity = std::string("Observation/") + id;
    const auto rows = All(audit_store, q);
    const std::set<std::string> expected =
        std::string(id) == "t3" ? std::set<std::string>{"req-transaction", "req-read-t3"}
                                : std::set<std::string>{"req-transaction"};
    BOOST_TEST(RequestIds(rows) == expected, id);
  }
  AuditQuery q;
  q.entity = "Observation/t2";
  const auto rows = All(audit_store, q);
  BOOST_REQUIRE(rows.size() == 1u);
  BOOST_TEST(rows[0].targets == row.targets, boost::test_tools::per_element());
  auto read = audit_store.Read(rows[0].seq);
  BOOST_REQUIRE(read.has_value());
  BOOST_TEST(read->targets == row.targets, boost::test_tools::per_element());
  // Rows not written with data have none.
  q.entity = "Observation/t3";
  for (const AuditRow& r : All(audit_store, q)) {
    BOOST_TEST(r.targets.empty() == (r.request_id == "req-read-t3"), r.request_id);
  }
  // Any of several resources, writes only: the transaction, not t3's read (in a block).
  q = {};
  q.entity_any = {"Observation/t3", "Observation/none"};
  BOOST_TEST(RequestIds(All(audit_store, q)) == (std::set<std::string>{"req-transaction", "req-read-t3"}));
  q.writes_only = true;
  BOOST_TEST(RequestIds(All(audit_store, q)) == std::set<std::string>{"req-transaction"});
  // The multi-resource row is in the partial GIN index; a one-resource write is not.
  BOOST_REQUIRE(WriteAudited(store, "single", 1, 0, registry->Get().get()).ok());
  BOOST_TEST(Count("SELECT count(*) FROM audit_event WHERE cardinality(targets) > 1") == 1);
  BOOST_TEST(Count("SELECT count(*) FROM audit_event WHERE targets = ARRAY['Observation/single']") == 1);
}

// A block's keys (one per patient and user: a few hundred random ids when the block's reads
// concern that many patients) are compressed with the codec its events get, lz4 where the
// server has it (migrations 0016 and 0020), not pglz.
BOOST_AUTO_TEST_CASE(BlockKeysAreCompressedLikeTheirEvents) {
  std::vector<AuditRow> batch;
  for (int n = 0; n < 200; ++n) {
    AuditRecord r = Workload(4 * n);  // reads, each of its own patient
    r.patients = {"Patient/" + std::to_string(1'000'003 * n) + "-a-longer-id-" + std::to_string(n)};
    batch.push_back(fhir::audit::AuditRowFor(r));
  }
  BOOST_REQUIRE(audit_store.Append(batch).ok());
  BOOST_TEST(Count("SELECT count(*) FROM audit_block WHERE pg_column_compression(keys) IS NOT NULL "
                   "AND pg_column_compression(events) IS NOT NULL") == 1);
  BOOST_TEST(Count("SELECT count(*) FROM audit_block WHERE pg_column_compression(keys) "
                   "IS DISTINCT FROM pg_column_compression(events)") == 0);
}

BOOST_AUTO_TEST_SUITE_END()

// The same contract on the in-memory stores.
BOOST_AUTO_TEST_SUITE(AuditLogInMemory)

BOOST_AUTO_TEST_CASE(WriteAuditAndProvenanceCommitWithTheWriteOrNotAtAll) {
  fhir::store::InMemoryResourceStore store;
  auto registry = SearchParameterRegistry::R4();
  BOOST_REQUIRE(WriteAudited(store, "o1", 1, 0, registry.get()).ok());
  BOOST_TEST(WriteAudited(store, "o1", 1, 0, registry.get()).code() == StatusCode::kVersionConflict);
  BOOST_TEST(WriteAudited(store, "o1", 3, 2, registry.get()).code() == StatusCode::kVersionConflict);
  BOOST_TEST(CountOfType(store, "Observation") == 1u);
  BOOST_TEST(CountOfType(store, "Provenance") == 1u);
  BOOST_TEST(CountOfType(store, "AuditEvent") == 0u);
  const auto rows = store.AuditRowsForTesting();
  BOOST_REQUIRE(rows.size() == 1u);
  BOOST_TEST(rows[0].find(R"("q":"req-write-o1-1")") != std::string::npos, rows[0]);
}

BOOST_AUTO_TEST_CASE(RecordsFromManyThreadsAreAllStored) {
  fhir::audit::InMemoryAuditStore audit_store;
  common::SystemClock clock;
  {
    AuditLog log(audit_store, clock);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int n = t; n < 400; n += 4) log.Record(Workload(n));
      });
    }
    for (auto& t : threads) t.join();
    log.Flush();
    BOOST_TEST(audit_store.size() == 400u);
  }
  std::set<std::string> expected;
  for (int n = 0; n < 400; ++n) expected.insert("req-" + std::to_string(n));
  BOOST_TEST((RequestIds(All(audit_store, {})) == expected));
}

BOOST_AUTO_TEST_SUITE_END()
