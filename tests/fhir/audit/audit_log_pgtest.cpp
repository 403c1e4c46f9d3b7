// fhir/audit on PostgreSQL: AuditLog batches become rows that the FHIR search finds, and the
// companions of a write commit with it or not at all (run on the in-memory store too).

#include "fhir/audit/audit_log.h"

#include <boost/test/unit_test.hpp>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

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
using fhir::audit::AuditRecord;
using fhir::audit::Interaction;
using fhir::search::SearchParameterRegistry;
using fhir::store::ResourceStore;
using fhir::store::ResourceVersion;

struct Pg {
  test_support::TestDatabase db;
  fhir::store::pg::ConnectionPool pool{db.dsn(), 8};
  fhir::store::pg::PgResourceStore store{pool};
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

std::set<std::string> RequestIdsStored(ResourceStore& store) {
  fhir::store::HistoryQuery q;
  q.type = "AuditEvent";
  q.count = 100'000;
  auto page = store.History(q);
  BOOST_REQUIRE(page.has_value());
  std::set<std::string> ids;
  for (const auto& v : page->entries) {
    auto at = v.content.find(R"("value":"req-)");
    BOOST_REQUIRE(at != std::string::npos);
    auto start = at + 9;
    ids.insert(v.content.substr(start, v.content.find('"', start) - start));
  }
  return ids;
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

// The AuditEvent and Provenance of writing `id` at `version`.
std::vector<ResourceVersion> Companions(const std::string& id, int version,
                                        const SearchParameterRegistry* registry) {
  const std::string target = "Observation/" + id + "/_history/" + std::to_string(version);
  AuditRecord audit;
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
  auto companions =
      fhir::audit::WriteCompanions(audit, prov, common::SystemClock().Now(), registry);
  BOOST_REQUIRE(companions.has_value());
  return std::move(companions).value();
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
  AuditLog log(store, clock, registry, options);
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

  // Every record is there once, whatever the order of arrival.
  std::set<std::string> expected;
  for (int n = 0; n < kTotal; ++n) expected.insert("req-" + std::to_string(n));
  BOOST_TEST((RequestIdsStored(store) == expected));
  BOOST_TEST(Count("SELECT count(*) FROM resource WHERE type = 'AuditEvent'") == kTotal);
  BOOST_TEST(Count("SELECT count(*) FROM event") == Count("SELECT count(*) FROM resource_history"));

  // And the FHIR search finds them by their BALP codes, patient, agent and outcome.
  BOOST_TEST(Find("AuditEvent", {}).size() == static_cast<std::size_t>(kTotal));
  BOOST_TEST(Find("AuditEvent", {{"type", "rest"}}).size() == static_cast<std::size_t>(kTotal * 3 / 4));
  BOOST_TEST(Find("AuditEvent", {{"type", "http://dicom.nema.org/resources/ontology/DCM|110114"}}).size() ==
             static_cast<std::size_t>(kTotal / 4));
  BOOST_TEST(Find("AuditEvent", {{"subtype", "read"}}).size() == static_cast<std::size_t>(kTotal / 4));
  BOOST_TEST(Find("AuditEvent", {{"subtype", "search-type"}}).size() == static_cast<std::size_t>(kTotal / 4));
  BOOST_TEST(Find("AuditEvent", {{"patient", "Patient/p1"}}).size() == static_cast<std::size_t>(kTotal / 5));
  std::size_t by_prac2 = 0;
  for (int n = 0; n < kTotal; ++n) by_prac2 += n % 3 == 2 ? 1 : 0;
  BOOST_TEST(Find("AuditEvent", {{"agent", "Practitioner/prac-2"}}).size() == by_prac2);
  BOOST_TEST(Find("AuditEvent", {{"outcome", "4"}}).size() == static_cast<std::size_t>(kTotal / 10));
  BOOST_TEST(Find("AuditEvent", {{"entity", "Observation/o8"}}).size() == 1u);
  BOOST_TEST(Find("AuditEvent", {{"action", "E"}}).size() == static_cast<std::size_t>(kTotal / 2));
}

BOOST_AUTO_TEST_CASE(DestructionStoresEverythingQueued) {
  {
    fhir::audit::AuditLogOptions options;
    options.linger = std::chrono::seconds(30);
    AuditLog log(store, clock, registry, options);
    for (int n = 0; n < 300; ++n) log.Record(Workload(n));
  }
  BOOST_TEST(Count("SELECT count(*) FROM resource WHERE type = 'AuditEvent'") == 300);
  BOOST_TEST(Find("AuditEvent", {{"patient", "Patient/p3"}}).size() == 60u);
}

BOOST_AUTO_TEST_CASE(WriteCompanionsAreSearchableWithTheWrite) {
  auto snapshot = registry->Get();
  BOOST_REQUIRE(store.WriteWith(Observation("o1", 1), 0, Companions("o1", 1, snapshot.get())).ok());
  BOOST_REQUIRE(store.WriteWith(Observation("o1", 2), 1, Companions("o1", 2, snapshot.get())).ok());
  // A stale writer loses: no version 3, no AuditEvent, no Provenance.
  BOOST_TEST(store.WriteWith(Observation("o1", 2), 1, Companions("o1", 2, snapshot.get())).code() ==
             StatusCode::kVersionConflict);
  BOOST_TEST(store.Head("Observation", "o1")->version == 2);
  BOOST_TEST(Find("AuditEvent", {{"entity", "Observation/o1"}}).size() == 2u);
  BOOST_TEST(Find("AuditEvent", {{"subtype", "create"}}).size() == 1u);
  BOOST_TEST(Find("AuditEvent", {{"subtype", "update"}}).size() == 1u);
  BOOST_TEST(Find("AuditEvent", {{"patient", "Patient/p1"}, {"action", "U"}}).size() == 1u);
  BOOST_TEST(Find("Provenance", {{"target", "Observation/o1"}}).size() == 2u);
  BOOST_TEST(Find("Provenance", {{"agent", "Practitioner/prac-1"}}).size() == 2u);
  BOOST_TEST(Count("SELECT count(*) FROM resource") == 5);  // o1 + 2 AuditEvents + 2 Provenances
  BOOST_TEST(Count("SELECT count(*) FROM event") == Count("SELECT count(*) FROM resource_history"));
}

BOOST_AUTO_TEST_SUITE_END()

// The same contract on the in-memory store.
BOOST_AUTO_TEST_SUITE(AuditLogInMemory)

BOOST_AUTO_TEST_CASE(WriteCompanionsCommitWithTheWriteOrNotAtAll) {
  fhir::store::InMemoryResourceStore store;
  auto registry = SearchParameterRegistry::R4();
  BOOST_REQUIRE(store.WriteWith(Observation("o1", 1), 0, Companions("o1", 1, registry.get())).ok());
  BOOST_TEST(store.WriteWith(Observation("o1", 1), 0, Companions("o1", 1, registry.get())).code() ==
             StatusCode::kVersionConflict);
  BOOST_TEST(store.WriteWith(Observation("o1", 3), 2, Companions("o1", 3, registry.get())).code() ==
             StatusCode::kVersionConflict);
  BOOST_TEST(CountOfType(store, "Observation") == 1u);
  BOOST_TEST(CountOfType(store, "AuditEvent") == 1u);
  BOOST_TEST(CountOfType(store, "Provenance") == 1u);
}

BOOST_AUTO_TEST_CASE(RecordsFromManyThreadsAreAllStored) {
  fhir::store::InMemoryResourceStore store;
  common::SystemClock clock;
  auto registry = std::make_shared<fhir::search::LiveRegistry>(SearchParameterRegistry::R4());
  {
    AuditLog log(store, clock, registry);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int n = t; n < 400; n += 4) log.Record(Workload(n));
      });
    }
    for (auto& t : threads) t.join();
    log.Flush();
    BOOST_TEST(CountOfType(store, "AuditEvent") == 400u);
  }
  std::set<std::string> expected;
  for (int n = 0; n < 400; ++n) expected.insert("req-" + std::to_string(n));
  BOOST_TEST((RequestIdsStored(store) == expected));
}

BOOST_AUTO_TEST_SUITE_END()
