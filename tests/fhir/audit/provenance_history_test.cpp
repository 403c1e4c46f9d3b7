// MergedHistory over the in-memory stores: stored versions and the Provenances read from write
// rows, merged newest first and paged with one cursor per side, with no repeat and no gap, also
// across a long run of write rows whose Provenance was stored (they give none, and one page
// stops looking after a bounded number of them).

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "fhir/audit/audit_event.h"
#include "fhir/audit/in_memory_audit_store.h"
#include "fhir/audit/provenance_history.h"
#include "fhir/store/in_memory_resource_store.h"

namespace {

using fhir::audit::AuditHistoryCursor;
using fhir::audit::AuditRecord;
using fhir::audit::Interaction;

common::TimePoint At(int millis) {
  return common::TimePoint(std::chrono::seconds(1'780'000'000) + std::chrono::milliseconds(millis));
}

// A write's row at `millis`; `in_row`: its Provenance is the row (else it was stored).
fhir::audit::AuditRow WriteRow(int millis, std::vector<std::string> entities, std::string actions, bool in_row) {
  AuditRecord r;
  r.recorded = At(millis);
  r.interaction = actions.size() > 1 ? Interaction::kTransaction : Interaction::kCreate;
  r.agent_reference = "Practitioner/d1";
  r.entities = std::move(entities);
  r.entity_actions = actions.size() > 1 ? actions : "";
  r.provenance_in_row = in_row;
  return fhir::audit::WriteAuditRowFor(r);
}

struct Walk {
  std::vector<fhir::store::ResourceVersion> entries;
  int pages = 0;
  int short_pages = 0;  // pages with fewer entries than asked, yet a next page
};

Walk WalkHistory(fhir::store::ResourceStore& store, fhir::audit::AuditStore& audit, int count) {
  Walk walk;
  fhir::store::HistoryQuery q;
  q.count = count;
  std::optional<AuditHistoryCursor> before_audit;
  while (true) {
    BOOST_REQUIRE_MESSAGE(walk.pages < 10000, "no end to the paging");
    auto page = fhir::audit::MergedHistory(store, audit, q, before_audit);
    BOOST_REQUIRE_MESSAGE(page.has_value(), (page.has_value() ? "" : page.error().message()));
    ++walk.pages;
    BOOST_TEST(static_cast<int>(page->page.entries.size()) <= count);
    for (auto& e : page->page.entries) walk.entries.push_back(std::move(e));
    if (!page->next) break;
    if (static_cast<int>(page->page.entries.size()) < count) ++walk.short_pages;
    q.before_seq = page->next->before_seq;
    // Through the cursor's text, as a next link carries it.
    before_audit = AuditHistoryCursor::Parse(page->next->audit.ToString());
    BOOST_REQUIRE(before_audit.has_value());
  }
  return walk;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ProvenanceHistory)

BOOST_AUTO_TEST_CASE(PagesMergeBothSidesWithNoRepeatOrGap) {
  fhir::store::InMemoryResourceStore store;
  fhir::audit::InMemoryAuditStore audit;
  std::multiset<std::string> expected;
  // Stored versions every 250 ms over 10 s.
  for (int i = 0; i < 40; ++i) {
    fhir::store::ResourceVersion v;
    v.type = "Observation";
    v.id = "o" + std::to_string(i);
    v.version = 1;
    v.last_updated = At(i * 250);
    v.method = fhir::store::Method::kCreate;
    v.content = R"({"resourceType":"Observation","id":")" + v.id + R"("})";
    BOOST_REQUIRE(store.Write(v, 0).ok());
    expected.insert("Observation/" + v.id);
  }
  std::vector<fhir::audit::AuditRow> rows;
  // Old writes read back as Provenance, one a transaction with two kinds of change.
  rows.push_back(WriteRow(100, {"Observation/o0/_history/1"}, "C", true));
  rows.push_back(WriteRow(600, {"Observation/o2/_history/1", "Encounter/e/_history/3"}, "CU", true));
  // A long run of writes whose Provenance was stored (another mode): none of them count.
  for (int i = 0; i < 6000; ++i) rows.push_back(WriteRow(1000 + i, {"Observation/x/_history/1"}, "C", false));
  // Newer writes read back as Provenance, two at one instant with a stored version.
  rows.push_back(WriteRow(7500, {"Observation/o30/_history/1"}, "C", true));
  rows.push_back(WriteRow(7500, {"Observation/o30/_history/1"}, "C", true));
  rows.push_back(WriteRow(9900, {"Observation/o39/_history/1"}, "C", true));
  BOOST_REQUIRE(audit.Append(rows).ok());
  // Their ids: the rows' seqs are 1.. in order.
  const std::vector<std::string> derived = {"Provenance/audit-1-create",    "Provenance/audit-2-create",
                                            "Provenance/audit-2-update",    "Provenance/audit-6003-create",
                                            "Provenance/audit-6004-create", "Provenance/audit-6005-create"};
  for (const std::string& d : derived) expected.insert(d);

  for (int count : {1, 3, 7, 50}) {
    const Walk walk = WalkHistory(store, audit, count);
    std::multiset<std::string> got;
    for (const auto& e : walk.entries) got.insert(e.type + "/" + e.id);
    BOOST_TEST(got == expected, "count " << count);
    for (std::size_t i = 1; i < walk.entries.size(); ++i) {
      BOOST_TEST((walk.entries[i - 1].last_updated >= walk.entries[i].last_updated),
                 "count " << count << " at " << i);
    }
    // The run of 6,000 rows is read in bounded steps: a page of 50 stops short of it (the
    // stored versions older than where it stopped wait for the next page); smaller pages
    // fill up with the stored versions newer than that.
    if (count == 50) BOOST_TEST(walk.short_pages > 0);
  }
}

BOOST_AUTO_TEST_CASE(CursorsReadBackAsWritten) {
  for (const std::string text : {"0", "42", "42-1", "42~"}) {
    auto c = AuditHistoryCursor::Parse(text);
    BOOST_REQUIRE_MESSAGE(c.has_value(), text);
    BOOST_TEST(c->ToString() == text);
  }
  for (const char* bad : {"", "x", "0~", "-1", "42-", "42-0", "42-x", "42~1", "0-1", "42 "}) {
    BOOST_TEST(!AuditHistoryCursor::Parse(bad).has_value(), bad);
  }
}

BOOST_AUTO_TEST_SUITE_END()
