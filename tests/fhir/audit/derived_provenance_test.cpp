// fhir/audit/derived_provenance: the Provenance of a write rebuilt from its AuditEvent row is
// the one the write would have stored (same JSON), valid R4, one per kind of change, with ids
// that parse back and that no other id is mistaken for.

#include "fhir/audit/derived_provenance.h"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "common/json.h"
#include "tests/support/validation_issues.h"

namespace {

using fhir::audit::AuditRecord;
using fhir::audit::AuditRow;
using fhir::audit::DerivedProvenance;
using fhir::audit::Interaction;
using fhir::audit::ProvenanceActivity;
using fhir::audit::ProvenanceRecord;

common::TimePoint At2026() {
  return common::TimePoint(std::chrono::seconds(1'780'000'000) + std::chrono::microseconds(123'456));
}

// A staff user's write as the REST layer audits it.
AuditRecord UserWrite(Interaction interaction, std::vector<std::string> entities) {
  AuditRecord r;
  r.recorded = At2026();
  r.interaction = interaction;
  r.http_status = interaction == Interaction::kCreate ? 201 : 200;
  r.agent_reference = "Practitioner/prac-1";
  r.user_name = "Dr. Example";
  r.client_id = "chart-app";
  r.source_address = "10.1.2.3";
  r.request_id = "req-123";
  r.patients = {"Patient/p1"};
  r.entities = std::move(entities);
  return r;
}

// The row of a write whose Provenance is the row (--provenance audit-trail).
AuditRow Stored(AuditRecord record, std::int64_t seq) {
  record.provenance_in_row = true;
  AuditRow row = fhir::audit::WriteAuditRowFor(record);
  row.seq = seq;
  return row;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(DerivedProvenances)

// What the write path stores as a companion today, for the same write: the same JSON.
BOOST_AUTO_TEST_CASE(ASingleWriteGivesTheProvenanceItWouldHaveStored) {
  for (auto [interaction, activity, name] :
       {std::tuple{Interaction::kCreate, ProvenanceActivity::kCreate, "create"},
        std::tuple{Interaction::kUpdate, ProvenanceActivity::kUpdate, "update"},
        std::tuple{Interaction::kPatch, ProvenanceActivity::kUpdate, "update"},
        std::tuple{Interaction::kDelete, ProvenanceActivity::kDelete, "delete"}}) {
    const AuditRow row = Stored(UserWrite(interaction, {"Observation/o1/_history/3"}), 42);
    const auto derived = fhir::audit::DerivedProvenancesOf(row);
    BOOST_REQUIRE(derived.size() == 1u);
    BOOST_TEST(derived[0].id == std::string("audit-42-") + name);
    ProvenanceRecord expected;
    expected.targets = {"Observation/o1/_history/3"};
    expected.recorded = At2026();
    expected.activity = activity;
    expected.agent_reference = "Practitioner/prac-1";
    expected.client_id = "chart-app";
    expected.request_id = "req-123";
    BOOST_TEST(fhir::audit::ProvenanceJson(derived[0].record) == fhir::audit::ProvenanceJson(expected));
    const std::string served = fhir::audit::ServedProvenanceJson(derived[0]);
    BOOST_TEST(test_support::ValidationIssues(served).empty(), test_support::ValidationIssues(served));
    auto json = common::ParseJson(served);
    BOOST_REQUIRE(json.has_value());
    BOOST_TEST(json->Find("id")->scalar() == derived[0].id);
    BOOST_TEST(json->Find("meta")->Find("versionId")->scalar() == "1");
    BOOST_TEST(json->Find("meta")->Find("lastUpdated")->scalar() == common::FormatInstant(At2026()));
    BOOST_TEST(json->Find("recorded")->scalar() == common::FormatInstant(At2026()));
  }
}

// A transaction that created two resources, updated one and deleted one: three Provenances,
// each naming its own versions, in the order the transaction listed them.
BOOST_AUTO_TEST_CASE(ATransactionGivesOneProvenancePerKindOfChange) {
  AuditRecord r = UserWrite(Interaction::kTransaction,
                            {"Observation/a/_history/1", "Encounter/e/_history/4",
                             "Observation/b/_history/1", "Flag/f/_history/2"});
  r.entity_actions = "CUCD";
  const auto derived = fhir::audit::DerivedProvenancesOf(Stored(r, 7));
  BOOST_REQUIRE(derived.size() == 3u);
  BOOST_TEST(derived[0].id == "audit-7-create");
  BOOST_TEST(derived[0].record.targets ==
                 (std::vector<std::string>{"Observation/a/_history/1", "Observation/b/_history/1"}),
             boost::test_tools::per_element());
  BOOST_TEST(derived[1].id == "audit-7-update");
  BOOST_TEST(derived[1].record.targets == (std::vector<std::string>{"Encounter/e/_history/4"}),
             boost::test_tools::per_element());
  BOOST_TEST(derived[2].id == "audit-7-delete");
  BOOST_TEST((derived[2].record.activity == ProvenanceActivity::kDelete));
  for (const DerivedProvenance& p : derived) {
    const std::string served = fhir::audit::ServedProvenanceJson(p);
    BOOST_TEST(test_support::ValidationIssues(served).empty(), served);
  }
}

// The server's own writes (a Subscription's status, a step alert) name the component.
BOOST_AUTO_TEST_CASE(AServerWriteNamesItsComponent) {
  AuditRecord r;
  r.recorded = At2026();
  r.interaction = Interaction::kUpdate;
  r.user_name = "Fovea rest-hook deliverer";
  r.observer = "fovea-test";
  r.entities = {"Subscription/s1/_history/5"};
  const auto derived = fhir::audit::DerivedProvenancesOf(Stored(r, 9));
  BOOST_REQUIRE(derived.size() == 1u);
  BOOST_TEST(derived[0].record.agent_display == "Fovea rest-hook deliverer");
  BOOST_TEST(derived[0].record.agent_reference.empty());
  const std::string served = fhir::audit::ServedProvenanceJson(derived[0]);
  BOOST_TEST(served.find(R"("display":"Fovea rest-hook deliverer")") != std::string::npos, served);
}

BOOST_AUTO_TEST_CASE(RowsThatAreNotWritesHaveNone) {
  AuditRecord read = UserWrite(Interaction::kRead, {"Observation/o1/_history/3"});
  read.provenance_in_row = true;
  AuditRow row = fhir::audit::AuditRowFor(read);
  row.seq = 3;
  BOOST_TEST(fhir::audit::DerivedProvenancesOf(row).empty());
}

// A write whose Provenance was stored as a resource (--provenance resource) has none: after a
// switch of mode, its Provenance is not shown twice.
BOOST_AUTO_TEST_CASE(WritesWithAStoredProvenanceHaveNone) {
  AuditRow row = fhir::audit::WriteAuditRowFor(UserWrite(Interaction::kCreate, {"Observation/o1/_history/1"}));
  row.seq = 4;
  BOOST_TEST(!row.targets.empty());
  BOOST_TEST(fhir::audit::DerivedProvenancesOf(row).empty());
  BOOST_TEST(fhir::audit::DerivedProvenancesOf(Stored(UserWrite(Interaction::kCreate, {"Observation/o1/_history/1"}), 4))
                 .size() == 1u);
}

BOOST_AUTO_TEST_CASE(IdsParseBackAndNothingElseDoes) {
  for (auto activity : {ProvenanceActivity::kCreate, ProvenanceActivity::kUpdate, ProvenanceActivity::kDelete}) {
    const std::string id = fhir::audit::DerivedProvenanceIdString(1234567890123, activity);
    auto parsed = fhir::audit::ParseDerivedProvenanceId(id);
    BOOST_REQUIRE_MESSAGE(parsed.has_value(), id);
    BOOST_TEST(parsed->seq == 1234567890123);
    BOOST_TEST((parsed->activity == activity));
    BOOST_TEST(fhir::audit::IsReservedProvenanceId(id));
  }
  for (const char* other : {"", "audit", "audit-", "audit-1", "audit-1-", "audit-x-create", "audit-0-create",
                            "audit-01-create", "audit-1-patch", "audit-1-create-", "audit--1-create",
                            "audit-99999999999999999999-create", "42", "Audit-1-create"}) {
    BOOST_TEST(!fhir::audit::ParseDerivedProvenanceId(other).has_value(), other);
  }
  BOOST_TEST(!fhir::audit::IsReservedProvenanceId("a1b2c3"));
  BOOST_TEST(fhir::audit::IsReservedProvenanceId("audit-anything"));
}

BOOST_AUTO_TEST_SUITE_END()
