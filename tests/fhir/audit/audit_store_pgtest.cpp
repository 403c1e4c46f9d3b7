// fhir/audit: the AuditStore contract, run against PostgreSQL (PgAuditStore: audit_block for what
// Append stores, audit_event for writes' rows) and the in-memory store alike: append and read,
// every search filter, date ranges, both sort orders, keyset paging; plus the served AuditEvent
// of a stored row validating as R4, and PostgreSQL's two tables searched as one trail.

#include "tests/support/validation_issues.h"
#include "fhir/audit/audit_store.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fhir/audit/in_memory_audit_store.h"
#include "fhir/audit/pg/audit_block.h"
#include "fhir/audit/pg/key_bloom.h"
#include "fhir/audit/pg/pg_audit_store.h"
#include "fhir/store/pg/connection_pool.h"
#include "fhir/store/pg/queries.h"
#include "tests/support/test_database.h"

namespace {

using common::StatusCode;
using common::TimePoint;
using fhir::audit::AuditQuery;
using fhir::audit::AuditRecord;
using fhir::audit::AuditRow;
using fhir::audit::AuditStore;
using fhir::audit::Interaction;

// 2027-01-15T08:00:00Z plus `us` microseconds.
TimePoint At(std::int64_t us) {
  return TimePoint(std::chrono::seconds(1'800'000'000) + std::chrono::microseconds(us));
}

struct Stores {
  test_support::TestDatabase db;
  fhir::store::pg::ConnectionPool pool{db.dsn(), 4};
  fhir::audit::pg::PgAuditStore pg{pool};
  fhir::audit::InMemoryAuditStore memory;
  std::vector<std::pair<std::string, AuditStore*>> all() { return {{"pg", &pg}, {"memory", &memory}}; }
};

// Row n of a varied set: a few subtypes, agents, patients, entities, addresses, outcomes;
// `recorded` advances 1 ms every 3 rows, so rows share timestamps (ties broken by seq).
AuditRow Row(int n) {
  AuditRecord r;
  r.recorded = At(static_cast<std::int64_t>(n / 3) * 1000);
  static constexpr Interaction kInteractions[] = {Interaction::kRead, Interaction::kSearchType,
                                                  Interaction::kUpdate, Interaction::kLogin};
  r.interaction = kInteractions[n % 4];
  r.http_status = n % 5 == 4 ? 403 : n % 11 == 10 ? 500 : 200;
  if (n % 3 != 0) r.agent_reference = "Practitioner/prac-" + std::to_string(n % 3);
  r.client_id = n % 2 == 0 ? "app-a" : "app-b";
  r.source_address = "10.0.0." + std::to_string(n % 4);
  r.request_id = "req-" + std::to_string(n);
  if (n % 6 != 5) r.patients = {"Patient/p" + std::to_string(n % 6)};
  if (n % 4 != 3) r.entities = {"Observation/o" + std::to_string(n % 7) + "/_history/2"};
  return fhir::audit::AuditRowFor(r);
}

std::vector<AuditRow> Rows(int count) {
  std::vector<AuditRow> rows;
  for (int n = 0; n < count; ++n) rows.push_back(Row(n));
  return rows;
}

// The request ids of every row of `q`, page by page of `page_size`; fails on duplicates.
std::vector<std::string> Collect(AuditStore& store, AuditQuery q, int page_size) {
  q.count = page_size;
  std::vector<std::string> ids;
  std::set<std::int64_t> seen;
  for (int pages = 0; pages < 10'000; ++pages) {
    auto page = store.Search(q);
    BOOST_REQUIRE(page.has_value());
    BOOST_TEST(page->rows.size() <= static_cast<std::size_t>(page_size));
    for (const AuditRow& row : page->rows) {
      BOOST_TEST(seen.insert(row.seq).second, "duplicate seq " << row.seq);
      ids.push_back(row.request_id);
    }
    if (!page->next_after_seq) return ids;
    BOOST_TEST(page->rows.size() == static_cast<std::size_t>(page_size));
    BOOST_TEST(*page->next_after_seq == page->rows.back().seq);
    q.after_seq = page->next_after_seq;
  }
  BOOST_FAIL("paging does not end");
  return ids;
}

// The request ids of the rows of `all` that `keep` selects, in the order the store must return
// them: (recorded, seq) descending, or ascending with `oldest_first`. Rows are appended in index
// order, so seq order is index order.
template <class Keep>
std::vector<std::string> Expected(const std::vector<AuditRow>& all, Keep keep,
                                  bool oldest_first = false) {
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (keep(all[i])) idx.push_back(i);
  }
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
    if (all[a].recorded != all[b].recorded) return all[a].recorded < all[b].recorded;
    return a < b;
  });
  if (!oldest_first) std::reverse(idx.begin(), idx.end());
  std::vector<std::string> ids;
  for (std::size_t i : idx) ids.push_back(all[i].request_id);
  return ids;
}

using test_support::ValidationIssues;

}  // namespace

BOOST_FIXTURE_TEST_SUITE(AuditStoreContract, Stores)

BOOST_AUTO_TEST_CASE(AppendThenReadBySeq) {
  for (auto [name, store] : all()) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST(store->Append({}).ok());
      std::vector<AuditRow> rows = Rows(3);
      rows[1].seq = 999;  // ignored
      // Rows go through COPY's text format: every byte must come back unchanged, COPY's own
      // delimiters and escapes (tab, newline, carriage return, backslash, "\N") included.
      rows[2].content = "{\"resourceType\":\"AuditEvent\",\"outcomeDesc\":\"\u00fc \xf0\x9f\x98\x80 "
                        "\\\"q\\\" \\\\ \\u00e9 \\n\\t '\"}\n\t\r";
      rows[0].request_id = "req\tone\r\n\\N\\";
      rows[1].address = "\\.";
      BOOST_REQUIRE(store->Append(rows).ok());
      BOOST_REQUIRE(store->Append({Row(3)}).ok());
      auto page = store->Search({});
      BOOST_REQUIRE(page.has_value());
      BOOST_REQUIRE(page->rows.size() == 4u);
      // Newest first; seq increases in append order.
      std::vector<std::int64_t> seqs;
      for (const AuditRow& row : page->rows) seqs.push_back(row.seq);
      BOOST_TEST(seqs[0] > seqs[1]);
      BOOST_TEST(seqs[1] > seqs[2]);
      BOOST_TEST(seqs[2] > seqs[3]);
      for (std::size_t i = 0; i < 4; ++i) {
        const AuditRow& expected = i < 3 ? rows[i] : Row(3);
        auto read = store->Read(seqs[3 - i]);
        BOOST_REQUIRE(read.has_value());
        BOOST_TEST(read->seq == seqs[3 - i]);
        BOOST_TEST(read->recorded.time_since_epoch().count() ==
                   expected.recorded.time_since_epoch().count());
        BOOST_TEST(read->subtype == expected.subtype);
        BOOST_TEST(read->action == expected.action);
        BOOST_TEST(read->outcome == expected.outcome);
        BOOST_TEST(read->agent == expected.agent);
        BOOST_TEST(read->client_id == expected.client_id);
        BOOST_TEST(read->patient == expected.patient);
        BOOST_TEST(read->entity == expected.entity);
        BOOST_TEST(read->address == expected.address);
        BOOST_TEST(read->request_id == expected.request_id);
        BOOST_TEST(read->content == expected.content);
      }
      BOOST_TEST(store->Read(seqs[0] + 1000).error().code() == StatusCode::kNotFound);
    }
  }
}

BOOST_AUTO_TEST_CASE(AppendIsAllOrNothing) {
  for (auto [name, store] : all()) {
    BOOST_TEST_CONTEXT(name) {
      std::vector<AuditRow> rows = Rows(3);
      rows[2].subtype.clear();
      BOOST_TEST(store->Append(rows).code() == StatusCode::kInvalid);
      rows[2] = Row(2);
      rows[1].content.clear();
      BOOST_TEST(store->Append(rows).code() == StatusCode::kInvalid);
      BOOST_TEST(store->Search({})->rows.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(SearchByEachFilter) {
  const std::vector<AuditRow> rows = Rows(60);
  for (auto [name, store] : all()) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_REQUIRE(store->Append(rows).ok());
      struct Case {
        const char* what;
        AuditQuery query;
        std::function<bool(const AuditRow&)> keep;
      };
      std::vector<Case> cases;
      auto add = [&](const char* what, auto set, std::function<bool(const AuditRow&)> keep) {
        AuditQuery q;
        set(q);
        cases.push_back({what, q, std::move(keep)});
      };
      add("all", [](AuditQuery&) {}, [](const AuditRow&) { return true; });
      add("subtype", [](AuditQuery& q) { q.subtype = "update"; },
          [](const AuditRow& r) { return r.subtype == "update"; });
      add("agent", [](AuditQuery& q) { q.agent = "Practitioner/prac-2"; },
          [](const AuditRow& r) { return r.agent == "Practitioner/prac-2"; });
      add("client", [](AuditQuery& q) { q.client_id = "app-b"; },
          [](const AuditRow& r) { return r.client_id == "app-b"; });
      add("patient", [](AuditQuery& q) { q.patient = "Patient/p4"; },
          [](const AuditRow& r) { return r.patient == "Patient/p4"; });
      add("entity", [](AuditQuery& q) { q.entity = "Observation/o3"; },
          [](const AuditRow& r) { return r.entity == "Observation/o3"; });
      add("address", [](AuditQuery& q) { q.address = "10.0.0.1"; },
          [](const AuditRow& r) { return r.address == "10.0.0.1"; });
      add("action", [](AuditQuery& q) { q.action = 'U'; },
          [](const AuditRow& r) { return r.action == 'U'; });
      add("outcome 4", [](AuditQuery& q) { q.outcome = 4; },
          [](const AuditRow& r) { return r.outcome == 4; });
      add("outcome 8", [](AuditQuery& q) { q.outcome = 8; },
          [](const AuditRow& r) { return r.outcome == 8; });
      add("id", [](AuditQuery& q) { q.seq = -1; }, [](const AuditRow&) { return false; });
      add("unknown patient", [](AuditQuery& q) { q.patient = "Patient/nobody"; },
          [](const AuditRow&) { return false; });
      add("patient and subtype and client",
          [](AuditQuery& q) {
            q.patient = "Patient/p0";
            q.subtype = "read";
            q.client_id = "app-a";
          },
          [](const AuditRow& r) {
            return r.patient == "Patient/p0" && r.subtype == "read" && r.client_id == "app-a";
          });
      add("agent and outcome",
          [](AuditQuery& q) {
            q.agent = "Practitioner/prac-1";
            q.outcome = 0;
          },
          [](const AuditRow& r) { return r.agent == "Practitioner/prac-1" && r.outcome == 0; });
      for (const Case& c : cases) {
        BOOST_TEST_CONTEXT(c.what) {
          const auto expected = Expected(rows, c.keep);
          BOOST_TEST(Collect(*store, c.query, 1000) == expected, boost::test_tools::per_element());
          const bool none_expected = std::string(c.what) == "id" || std::string(c.what) == "unknown patient";
          BOOST_TEST(expected.empty() == none_expected);  // the data exercises every filter
        }
      }
      // _id: the seq of a row found otherwise.
      auto newest = store->Search({});
      BOOST_REQUIRE(newest.has_value());
      AuditQuery by_id;
      by_id.seq = newest->rows.at(0).seq;
      auto found = store->Search(by_id);
      BOOST_REQUIRE(found->rows.size() == 1u);
      BOOST_TEST(found->rows[0].request_id == "req-59");
    }
  }
}

// A value in the other column does not count: the patient filter matches the patient column
// only, the resource filter the entity column only (a read of a Patient names it in both).
BOOST_AUTO_TEST_CASE(PatientAndEntityFiltersLookAtTheirOwnColumn) {
  auto row = [](const std::string& request, const std::string& patient, const std::string& entity) {
    AuditRecord r;
    r.recorded = At(0);
    r.interaction = Interaction::kRead;
    r.http_status = 200;
    r.request_id = request;
    r.patients = {patient};
    r.entities = {entity};
    return fhir::audit::AuditRowFor(r);
  };
  const std::vector<AuditRow> rows = {row("a", "Patient/pa", "Patient/pb"), row("b", "Patient/pb", "Patient/pb"),
                                      row("c", "Patient/pc", "Observation/o1")};
  for (auto [name, store] : all()) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_REQUIRE(store->Append(rows).ok());
      auto ids = [&](auto set) {
        AuditQuery q;
        set(q);
        auto found = Collect(*store, q, 10);
        std::sort(found.begin(), found.end());
        return found;
      };
      using V = std::vector<std::string>;
      BOOST_TEST(ids([](AuditQuery& q) { q.patient = "Patient/pb"; }) == V{"b"}, boost::test_tools::per_element());
      BOOST_TEST(ids([](AuditQuery& q) { q.entity = "Patient/pb"; }) == (V{"a", "b"}), boost::test_tools::per_element());
      BOOST_TEST(ids([](AuditQuery& q) { q.patient = "Patient/pa"; }) == V{"a"}, boost::test_tools::per_element());
      BOOST_TEST(ids([](AuditQuery& q) { q.entity = "Patient/pa"; }).empty());
      BOOST_TEST(ids([](AuditQuery& q) {
                   q.patient = "Patient/pb";
                   q.entity = "Patient/pb";
                 }) == V{"b"},
                 boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(DateRangesAreFromInclusiveUntilExclusive) {
  const std::vector<AuditRow> rows = Rows(30);  // recorded: At(0) .. At(9000), three per ms
  for (auto [name, store] : all()) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_REQUIRE(store->Append(rows).ok());
      auto between = [&](std::optional<TimePoint> from, std::optional<TimePoint> until) {
        AuditQuery q;
        q.recorded_from = from;
        q.recorded_until = until;
        return Collect(*store, q, 1000);
      };
      auto expected = [&](std::optional<TimePoint> from, std::optional<TimePoint> until) {
        return Expected(rows, [&](const AuditRow& r) {
          return (!from || r.recorded >= *from) && (!until || r.recorded < *until);
        });
      };
      for (auto [from, until] : std::vector<std::pair<std::optional<TimePoint>, std::optional<TimePoint>>>{
               {At(2000), At(5000)},        // exact boundaries: 2000 in, 5000 out
               {At(1999), At(5001)},        // one microsecond either side
               {At(2001), At(4999)},
               {At(3000), std::nullopt},
               {std::nullopt, At(1000)},
               {At(5000), At(5000)},        // empty
               {At(100'000), std::nullopt}}) {  // after everything
        BOOST_TEST((between(from, until) == expected(from, until)));
      }
      BOOST_TEST(between(At(2000), At(5000)).size() == 9u);
      BOOST_TEST(between(At(1999), At(5001)).size() == 12u);
      BOOST_TEST(between(At(2001), At(4999)).size() == 6u);
    }
  }
}

BOOST_AUTO_TEST_CASE(BothSortOrdersBreakTiesBySeq) {
  const std::vector<AuditRow> rows = Rows(12);
  for (auto [name, store] : all()) {
    BOOST_TEST_CONTEXT(name) {
      // Appended in two batches, the second one older: sort is by recorded, not by arrival.
      std::vector<AuditRow> newer(rows.begin() + 6, rows.end());
      std::vector<AuditRow> older(rows.begin(), rows.begin() + 6);
      BOOST_REQUIRE(store->Append(newer).ok());
      BOOST_REQUIRE(store->Append(older).ok());
      AuditQuery q;
      q.count = 100;
      std::vector<std::string> newest_first;
      auto newest = store->Search(q);
      BOOST_REQUIRE(newest.has_value());
      for (const AuditRow& r : newest->rows) newest_first.push_back(r.request_id);
      BOOST_TEST(newest_first == Expected(rows, [](const AuditRow&) { return true; }),
                 boost::test_tools::per_element());
      BOOST_TEST(newest_first.front() == "req-11");
      q.oldest_first = true;
      std::vector<std::string> oldest_first;
      auto oldest = store->Search(q);
      BOOST_REQUIRE(oldest.has_value());
      for (const AuditRow& r : oldest->rows) oldest_first.push_back(r.request_id);
      BOOST_TEST(oldest_first == Expected(rows, [](const AuditRow&) { return true; }, true),
                 boost::test_tools::per_element());
      BOOST_TEST(oldest_first.front() == "req-0");
    }
  }
}

// More rows than a page, timestamps shared across page boundaries: every row once, in order,
// in both directions, with and without a filter, whatever the page size.
BOOST_AUTO_TEST_CASE(CursorPagesWithoutDuplicatesOrGaps) {
  const std::vector<AuditRow> rows = Rows(47);
  for (auto [name, store] : all()) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_REQUIRE(store->Append(rows).ok());
      for (bool oldest_first : {false, true}) {
        for (int page_size : {1, 2, 3, 10, 46, 47, 48}) {
          BOOST_TEST_CONTEXT("oldest_first " << oldest_first << " page " << page_size) {
            AuditQuery q;
            q.oldest_first = oldest_first;
            BOOST_TEST(Collect(*store, q, page_size) ==
                       Expected(rows, [](const AuditRow&) { return true; }, oldest_first));
            q.client_id = "app-a";
            q.recorded_from = At(2000);
            BOOST_TEST(Collect(*store, q, page_size) ==
                       Expected(rows, [](const AuditRow& r) {
                         return r.client_id == "app-a" && r.recorded >= At(2000);
                       }, oldest_first));
          }
        }
      }
      // Exactly one page: no cursor. A cursor row that does not exist: an empty page.
      AuditQuery q;
      q.count = 47;
      auto full = store->Search(q);
      BOOST_TEST(full->rows.size() == 47u);
      BOOST_TEST(!full->next_after_seq.has_value());
      q.after_seq = 1'000'000;
      BOOST_TEST(store->Search(q)->rows.empty());
      q.after_seq.reset();
      q.count = 0;
      auto none = store->Search(q);
      BOOST_TEST(none->rows.empty());
      BOOST_TEST(!none->next_after_seq.has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(StoredRowsServeValidR4) {
  for (auto [name, store] : all()) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_REQUIRE(store->Append(Rows(8)).ok());
      auto page = store->Search({});
      BOOST_REQUIRE(page.has_value());
      BOOST_TEST(page->rows.size() == 8u);
      for (const AuditRow& row : page->rows) {
        const std::string json = fhir::audit::ServedAuditEventJson(row);
        BOOST_TEST(ValidationIssues(json) == "", json);
        BOOST_TEST(json.find("\"id\":\"" + std::to_string(row.seq) + "\"") != std::string::npos);
        BOOST_TEST(json.find("\"lastUpdated\":\"" + common::FormatInstant(row.recorded) + "\"") !=
                   std::string::npos);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// A write's AuditEvent is a row of audit_event, stored by the write's own statement; everything
// else is in blocks. Search, paging and Read see one trail, ordered across both.
BOOST_FIXTURE_TEST_SUITE(PgAuditStoreTrail, Stores)

// As a write's statement stores them (kAppendAuditEvents: the same SQL fragment).
void AppendAsWriteRows(fhir::store::pg::ConnectionPool& pool, const std::vector<AuditRow>& rows) {
  auto conn = pool.Acquire();
  BOOST_REQUIRE(conn.has_value());
  auto r = (*conn)->Execute(fhir::store::pg::kAppendAuditEvents,
                            {fhir::audit::AuditRowsJson(rows)});
  BOOST_REQUIRE(r.has_value());
}

std::vector<AuditRow> Slice(const std::vector<AuditRow>& rows, std::size_t from, std::size_t to) {
  return {rows.begin() + static_cast<std::ptrdiff_t>(from),
          rows.begin() + static_cast<std::ptrdiff_t>(to)};
}

std::int64_t Count(fhir::store::pg::ConnectionPool& pool, const char* sql) {
  auto conn = pool.Acquire();
  BOOST_REQUIRE(conn.has_value());
  auto r = (*conn)->ExecuteUnprepared({"test.count", sql}, {});
  BOOST_REQUIRE(r.has_value());
  return r->GetInt64(0, 0);
}

BOOST_AUTO_TEST_CASE(WriteRowsAndBlocksPageAsOneTrail) {
  // Split where no two rows sharing a timestamp land in different tables out of seq order
  // (Row(n) shares its time with n's group of three; audit_event's seqs are below every block's).
  const std::vector<AuditRow> rows = Rows(47);
  AppendAsWriteRows(pool, Slice(rows, 0, 10));
  BOOST_REQUIRE(pg.Append(Slice(rows, 10, 30)).ok());
  AppendAsWriteRows(pool, Slice(rows, 30, 35));
  // One block per event from here: more blocks than a search reads in one round trip.
  for (std::size_t n = 35; n < 47; ++n) BOOST_REQUIRE(pg.Append({rows[n]}).ok());
  BOOST_TEST(Count(pool, "SELECT count(*) FROM audit_event") == 15);
  BOOST_TEST(Count(pool, "SELECT sum(event_count) FROM audit_block") == 32);

  for (bool oldest_first : {false, true}) {
    for (int page_size : {1, 3, 10, 47, 48}) {
      BOOST_TEST_CONTEXT("oldest_first " << oldest_first << " page " << page_size) {
        AuditQuery q;
        q.oldest_first = oldest_first;
        BOOST_TEST(Collect(pg, q, page_size) ==
                   Expected(rows, [](const AuditRow&) { return true; }, oldest_first));
        q.patient = "Patient/p2";
        BOOST_TEST(Collect(pg, q, page_size) ==
                   Expected(rows, [](const AuditRow& r) { return r.patient == "Patient/p2"; },
                            oldest_first));
        q = {};
        q.oldest_first = oldest_first;
        q.agent = "Practitioner/prac-1";
        q.entity = "Observation/o3";
        q.recorded_until = At(14'000);
        BOOST_TEST(Collect(pg, q, page_size) ==
                   Expected(rows, [](const AuditRow& r) {
                     return r.agent == "Practitioner/prac-1" && r.entity == "Observation/o3" &&
                            r.recorded < At(14'000);
                   }, oldest_first));
      }
    }
  }
  // _id finds an event in either table, and only with the other filters true of it.
  auto everything = pg.Search({.count = 100});
  BOOST_REQUIRE(everything.has_value());
  for (const AuditRow& row : everything->rows) {
    AuditQuery q;
    q.seq = row.seq;
    auto page = pg.Search(q);
    BOOST_REQUIRE(page.has_value());
    BOOST_REQUIRE(page->rows.size() == 1u);
    BOOST_TEST(page->rows[0].request_id == row.request_id);
    q.client_id = row.client_id == "app-a" ? "app-b" : "app-a";
    BOOST_TEST(pg.Search(q)->rows.empty());
  }
}

BOOST_AUTO_TEST_CASE(AnAppendLargerThanABlockIsSeveralBlocksAllOrNone) {
  std::vector<AuditRow> rows;
  for (int n = 0; n < 2'500; ++n) rows.push_back(Row(n % 60));
  for (int n = 0; n < 2'500; ++n) rows[static_cast<std::size_t>(n)].request_id = "big-" + std::to_string(n);
  BOOST_REQUIRE(pg.Append(rows).ok());
  BOOST_TEST(Count(pool, "SELECT count(*) FROM audit_block") == 3);
  BOOST_TEST(Count(pool, "SELECT sum(event_count) FROM audit_block") == 2'500);
  AuditQuery q;
  q.oldest_first = true;
  q.count = 2'500;
  auto page = pg.Search(q);
  BOOST_REQUIRE(page.has_value());
  BOOST_REQUIRE(page->rows.size() == 2'500u);
  std::set<std::string> ids;
  for (const AuditRow& row : page->rows) {
    ids.insert(row.request_id);
    auto read = pg.Read(row.seq);
    BOOST_REQUIRE(read.has_value());
    BOOST_TEST(read->request_id == row.request_id);
  }
  BOOST_TEST(ids.size() == 2'500u);

  // One invalid row: no block of the batch is stored.
  rows[2'400].content.clear();
  BOOST_TEST(pg.Append(rows).code() == StatusCode::kInvalid);
  BOOST_TEST(Count(pool, "SELECT count(*) FROM audit_block") == 3);
}

// A filter no block index serves (here: a client) and matches only in the oldest and newest
// blocks: the walk goes on past several round trips of blocks without a match, in both orders.
BOOST_AUTO_TEST_CASE(ARareMatchIsFoundPastManyBlocksWithout) {
  constexpr int kBlocks = 150;
  for (int n = 0; n < kBlocks; ++n) {
    AuditRow row = Row(n);
    row.client_id = n == 0 || n == kBlocks - 1 ? "rare-app" : "common-app";
    BOOST_REQUIRE(pg.Append({row}).ok());
  }
  for (bool oldest_first : {false, true}) {
    BOOST_TEST_CONTEXT("oldest_first " << oldest_first) {
      AuditQuery q;
      q.oldest_first = oldest_first;
      q.client_id = "rare-app";
      const std::vector<std::string> expected =
          oldest_first ? std::vector<std::string>{"req-0", "req-149"}
                       : std::vector<std::string>{"req-149", "req-0"};
      BOOST_TEST(Collect(pg, q, 1) == expected, boost::test_tools::per_element());
      BOOST_TEST(Collect(pg, q, 5) == expected, boost::test_tools::per_element());
    }
  }
}

// Migration 0021's audit_bloom_may_contain and BloomMayContain give the same answer for every
// key, in the filter or not, at several filter sizes: a search in SQL finds what C++ stored.
BOOST_AUTO_TEST_CASE(TheSqlFilterTestAgreesWithBloomMayContain) {
  auto conn = pool.Acquire();
  BOOST_REQUIRE(conn.has_value());
  for (int count : {0, 5, 200, 1000}) {
    std::vector<std::string> keys;
    for (int n = 0; n < count; ++n) keys.push_back("Observation/in-" + std::to_string(n));
    const std::string filter =
        fhir::audit::pg::MakeBloom(std::vector<std::string_view>(keys.begin(), keys.end()));
    std::vector<std::string> probes = keys;
    for (int n = 0; n < 3000; ++n) probes.push_back("Observation/out-" + std::to_string(n));
    std::vector<std::string> h1s, h2s;
    std::string expected;
    for (const std::string& key : probes) {
      const fhir::audit::pg::BloomProbe probe = fhir::audit::pg::ProbeOf(key);
      h1s.push_back(std::to_string(probe.h1));
      h2s.push_back(std::to_string(probe.h2));
      expected += fhir::audit::pg::BloomMayContain(filter, probe) ? 't' : 'f';
    }
    auto r = (*conn)->ExecuteUnprepared(
        {"test.bloom",
         "SELECT string_agg(CASE WHEN audit_bloom_may_contain($1::bytea, h1, h2) THEN 't' ELSE 'f'"
         " END, '' ORDER BY i) FROM unnest($2::bigint[], $3::bigint[]) WITH ORDINALITY AS p(h1, h2, i)"},
        {fhir::store::pg::PgByteaHex(filter), fhir::store::pg::PgTextArray(h1s),
         fhir::store::pg::PgTextArray(h2s)});
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST_CONTEXT(count << " keys") {
      BOOST_TEST(std::string(r->Get(0, 0)) == expected);
      BOOST_TEST(expected.substr(0, keys.size()) == std::string(keys.size(), 't'));
    }
  }
}

// A block's patients and users are its GIN keys, its resources are in its filter: the keys of
// a block of reads stay a handful however many resources were read. Searches by resource (one
// or any of several) find the block's events through the filter.
BOOST_AUTO_TEST_CASE(ABlockKeysItsPatientsAndUsersAndFiltersItsResources) {
  const std::vector<AuditRow> rows = Rows(40);
  BOOST_REQUIRE(pg.Append(rows).ok());
  BOOST_TEST(Count(pool, "SELECT count(*) FROM audit_block, unnest(keys) k WHERE k LIKE 'e|%'") == 0);
  // Patients p0..p4, agents prac-1 and prac-2.
  BOOST_TEST(Count(pool, "SELECT sum(cardinality(keys)) FROM audit_block") == 7);
  BOOST_TEST(Count(pool, "SELECT count(*) FROM audit_block WHERE entity_bloom IS NOT NULL") == 1);
  for (const char* entity : {"Observation/o3", "Observation/o6", "Observation/none"}) {
    BOOST_TEST_CONTEXT(entity) {
      AuditQuery q;
      q.entity = entity;
      BOOST_TEST(Collect(pg, q, 4) ==
                 Expected(rows, [&](const AuditRow& r) { return r.entity == entity; }));
      q = {};
      q.entity_any = {entity, "Observation/o1"};
      BOOST_TEST(Collect(pg, q, 4) == Expected(rows, [&](const AuditRow& r) {
                   return r.entity == entity || r.entity == "Observation/o1";
                 }));
    }
  }
}

// A block stored before migration 0021 lists its resources as "e|" keys and has no filter: a
// search by resource still finds its events, beside those of a block stored since.
BOOST_AUTO_TEST_CASE(ABlockStoredBeforeFiltersIsFoundByItsEntityKeys) {
  const std::vector<AuditRow> rows = Rows(24);
  const std::vector<AuditRow> old_rows = Slice(rows, 0, 12);
  const std::string old_text = fhir::audit::pg::EncodeAuditBlock(old_rows);
  auto old_index = fhir::audit::IndexAuditLines(old_text);
  BOOST_REQUIRE(old_index.has_value());
  std::vector<std::string> keys = fhir::audit::pg::AuditBlockKeys(old_index->lines);
  for (const AuditRow& row : old_rows) {
    if (!row.entity.empty()) keys.push_back(fhir::audit::pg::EntityKey(row.entity));
  }
  {
    auto conn = pool.Acquire();
    BOOST_REQUIRE(conn.has_value());
    auto r = (*conn)->ExecuteUnprepared(
        {"test.old_block",
         "INSERT INTO audit_block (recorded_from, recorded_to, event_count, keys, events)"
         " VALUES ($1::timestamptz, $2::timestamptz, 12, $3::text[], $4)"},
        {common::FormatInstantMicros(old_rows.front().recorded),
         common::FormatInstantMicros(old_rows.back().recorded),
         fhir::store::pg::PgTextArray(keys), old_text});
    BOOST_REQUIRE(r.has_value());
  }
  BOOST_REQUIRE(pg.Append(Slice(rows, 12, 24)).ok());
  for (bool oldest_first : {false, true}) {
    BOOST_TEST_CONTEXT("oldest_first " << oldest_first) {
      AuditQuery q;
      q.oldest_first = oldest_first;
      q.entity = "Observation/o2";
      const std::vector<std::string> expected = Expected(
          rows, [](const AuditRow& r) { return r.entity == "Observation/o2"; }, oldest_first);
      BOOST_TEST(expected.size() == 3u);  // in both blocks
      BOOST_TEST(Collect(pg, q, 2) == expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(ReadOfAnEventNoBlockHoldsIsNotFound) {
  BOOST_REQUIRE(pg.Append(Rows(5)).ok());
  auto page = pg.Search({});
  BOOST_REQUIRE(page.has_value());
  BOOST_REQUIRE(!page->rows.empty());
  const std::int64_t newest = page->rows.front().seq;
  BOOST_TEST(fhir::audit::pg::IsBlockSeq(newest));
  BOOST_TEST(pg.Read(newest).has_value());
  BOOST_TEST(pg.Read(newest + 1).error().code() == StatusCode::kNotFound);  // past its last line
  BOOST_TEST(pg.Read(fhir::audit::pg::BlockSeq(fhir::audit::pg::BlockOfSeq(newest) + 1, 0))
                 .error().code() == StatusCode::kNotFound);  // no such block
  // A cursor on either is the end of the paging, as for a row that does not exist.
  AuditQuery q;
  q.after_seq = newest + 1;
  BOOST_TEST(pg.Search(q)->rows.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(PgAuditStoreAvailability)

BOOST_AUTO_TEST_CASE(UnreachableDatabaseIsUnavailableNotACrash) {
  fhir::store::pg::ConnectionPool pool("host=/nonexistent-fovea-socket-dir port=5432 user=x", 2,
                                       std::chrono::milliseconds(200));
  fhir::audit::pg::PgAuditStore store(pool);
  BOOST_TEST(store.Append({Row(1)}).code() == StatusCode::kUnavailable);
  BOOST_TEST(store.Read(1).error().code() == StatusCode::kUnavailable);
  BOOST_TEST(store.Search({}).error().code() == StatusCode::kUnavailable);
}

BOOST_AUTO_TEST_SUITE_END()
