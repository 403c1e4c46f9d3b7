// fhir/audit/audit_store: the row of a record (AuditRowFor), the JSON array the store statements
// unpack (AuditRowsJson) and the AuditEvent as served (ServedAuditEventJson), which must parse
// and validate as R4. audit_store_pgtest.cpp runs the stores themselves.

#include "tests/support/validation_issues.h"
#include "fhir/audit/audit_store.h"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "common/json.h"

namespace {

// A served AuditEvent minus the id and meta ServedAuditEventJson adds.
std::string WithoutIdAndMeta(const std::string& served) {
  std::size_t id = served.find(R"("id":")");
  std::size_t meta_end = served.find("},", served.find(R"("meta":{)"));
  if (id == std::string::npos || meta_end == std::string::npos) return served;
  return served.substr(0, id) + served.substr(meta_end + 2);
}

using common::JsonValue;
using fhir::audit::AuditRecord;
using fhir::audit::AuditRow;
using fhir::audit::Interaction;

common::TimePoint At2026() {
  return common::TimePoint(std::chrono::seconds(1'780'000'000) + std::chrono::microseconds(123'456));
}

using test_support::ValidationIssues;

AuditRecord PatientRead() {
  AuditRecord r;
  r.recorded = At2026();
  r.interaction = Interaction::kRead;
  r.http_status = 200;
  r.agent_reference = "Practitioner/prac-1";
  r.user_name = "Dr. Example";
  r.client_id = "chart-app";
  r.source_address = "10.1.2.3";
  r.request_id = "req-123";
  r.patients = {"Patient/p1", "Patient/p2"};
  r.entities = {"Observation/o1/_history/2", "Observation/o2"};
  return r;
}

std::string Str(const JsonValue& v, std::string_view key) {
  const JsonValue* at = v.Find(key);
  return at == nullptr ? "" : at->scalar();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(AuditRowFor)

BOOST_AUTO_TEST_CASE(ColumnsOfAPatientRead) {
  const AuditRecord record = PatientRead();
  const AuditRow row = fhir::audit::AuditRowFor(record);
  BOOST_TEST(row.seq == 0);
  BOOST_TEST(row.recorded.time_since_epoch().count() == At2026().time_since_epoch().count());
  BOOST_TEST(row.subtype == "read");
  BOOST_TEST(row.action == 'R');
  BOOST_TEST(row.outcome == 0);
  BOOST_TEST(row.agent == "Practitioner/prac-1");
  BOOST_TEST(row.client_id == "chart-app");
  BOOST_TEST(row.patient == "Patient/p1");       // the first
  BOOST_TEST(row.entity == "Observation/o1");    // the first, without its version
  BOOST_TEST(row.address == "10.1.2.3");
  BOOST_TEST(row.request_id == "req-123");
  // The AuditEvent built back from the row is the one the record describes.
  BOOST_TEST(WithoutIdAndMeta(fhir::audit::ServedAuditEventJson(row)) ==
             fhir::audit::AuditEventJson(record));
}

BOOST_AUTO_TEST_CASE(EmptyWhereTheRecordSaysNothing) {
  AuditRecord r;
  r.recorded = At2026();
  r.interaction = Interaction::kCapabilities;
  const AuditRow row = fhir::audit::AuditRowFor(r);
  BOOST_TEST(row.subtype == "capabilities");
  BOOST_TEST(row.action == 'R');
  BOOST_TEST(row.agent.empty());
  BOOST_TEST(row.patient.empty());
  BOOST_TEST(row.entity.empty());
  BOOST_TEST(row.address.empty());
  BOOST_TEST(row.request_id.empty());
}

// The action and outcome columns agree with the AuditEvent, whatever the interaction, status and
// explicit action (login-failed without a status is a failure; an explicit action wins).
BOOST_DATA_TEST_CASE(ActionAndOutcomeMatchTheContent,
                     boost::unit_test::data::make({0, 200, 201, 304, 401, 404, 412, 500, 503}) *
                         boost::unit_test::data::make({0, 1, 8, 12, 15, 17, 18, 20}),
                     status, interaction) {
  AuditRecord r = PatientRead();
  r.http_status = status;
  r.interaction = static_cast<Interaction>(interaction);
  for (bool explicit_action : {false, true}) {
    if (explicit_action) r.action = fhir::audit::Action::kDelete;
    const AuditRow row = fhir::audit::AuditRowFor(r);
    auto content = common::ParseJson(fhir::audit::ServedAuditEventJson(row));
    BOOST_REQUIRE(content.has_value());
    BOOST_TEST(Str(*content, "action") == std::string(1, row.action));
    BOOST_TEST(Str(*content, "outcome") == std::to_string(row.outcome));
    BOOST_TEST(row.subtype == std::string(fhir::audit::SubtypeCode(r.interaction)));
    BOOST_TEST(WithoutIdAndMeta(fhir::audit::ServedAuditEventJson(row)) ==
               fhir::audit::AuditEventJson(r));
  }
}

BOOST_AUTO_TEST_CASE(LoginFailedIsAFailureEvenWithoutStatus) {
  AuditRecord r;
  r.recorded = At2026();
  r.interaction = Interaction::kLoginFailed;
  BOOST_TEST(fhir::audit::AuditRowFor(r).outcome == 4);
  r.http_status = 503;
  BOOST_TEST(fhir::audit::AuditRowFor(r).outcome == 8);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(AuditRowsJson)

BOOST_AUTO_TEST_CASE(ShortKeysMicrosecondsAndNoEmptyValues) {
  AuditRow a = fhir::audit::AuditRowFor(PatientRead());
  AuditRecord bare;
  bare.recorded = At2026();
  bare.interaction = Interaction::kLoginFailed;
  bare.failure = "quote \" backslash \\ newline \n é";
  AuditRow b = fhir::audit::AuditRowFor(bare);
  BOOST_TEST(fhir::audit::AuditRowsJson({}) == "[]");
  auto parsed = common::ParseJson(fhir::audit::AuditRowsJson({a, b}));
  BOOST_REQUIRE(parsed.has_value());
  BOOST_REQUIRE(parsed->items().size() == 2u);
  const JsonValue& first = parsed->items()[0];
  BOOST_TEST(Str(first, "r") == common::FormatInstantMicros(At2026()));
  BOOST_TEST(Str(first, "r") == "2026-05-28T20:26:40.123456Z");
  BOOST_TEST(Str(first, "s") == "read");
  BOOST_TEST(Str(first, "a") == "R");
  BOOST_TEST((first.Find("o")->kind() == JsonValue::Kind::kNumber));
  BOOST_TEST(Str(first, "o") == "0");
  BOOST_TEST(Str(first, "g") == "Practitioner/prac-1");
  BOOST_TEST(Str(first, "c") == "chart-app");
  BOOST_TEST(Str(first, "p") == "Patient/p1");
  BOOST_TEST(Str(first, "e") == "Observation/o1");
  BOOST_TEST(Str(first, "d") == "10.1.2.3");
  BOOST_TEST(Str(first, "q") == "req-123");
  BOOST_TEST(Str(first, "x") == a.content);
  const JsonValue& second = parsed->items()[1];
  BOOST_TEST(Str(second, "s") == "110122");  // DICOM Login, as AuditEvent.subtype says
  BOOST_TEST(Str(second, "o") == "4");
  for (const char* absent : {"g", "c", "p", "e", "d", "q", "t"}) {
    BOOST_TEST(second.Find(absent) == nullptr, absent);  // NULL in the table
  }
  BOOST_TEST(Str(second, "x") == b.content);  // escaped and back, byte for byte
}

// The row of a write lists every resource it changed, once and version-less, and only such a
// row does: a read's row has no targets, so "t" is absent (NULL in the table).
BOOST_AUTO_TEST_CASE(AWriteRowListsItsTargets) {
  AuditRecord r = PatientRead();
  r.interaction = Interaction::kTransaction;
  r.entities = {"Observation/o1/_history/2", "Patient/p1/_history/1", "Observation/o1/_history/3",
                "Encounter/e1"};
  const AuditRow write = fhir::audit::WriteAuditRowFor(r);
  BOOST_TEST(write.targets == (std::vector<std::string>{"Observation/o1", "Patient/p1", "Encounter/e1"}),
             boost::test_tools::per_element());
  BOOST_TEST(write.entity == "Observation/o1");
  BOOST_TEST(fhir::audit::AuditRowFor(r).targets.empty());
  auto parsed = common::ParseJson(fhir::audit::AuditRowsJson({write}));
  BOOST_REQUIRE(parsed.has_value());
  const JsonValue* t = parsed->items()[0].Find("t");
  BOOST_REQUIRE(t != nullptr);
  BOOST_REQUIRE(t->items().size() == 3u);
  BOOST_TEST(t->items()[1].scalar() == "Patient/p1");
  // The entity filter finds the row by any of them.
  fhir::audit::AuditQuery q;
  for (const char* entity : {"Observation/o1", "Patient/p1", "Encounter/e1"}) {
    q.entity = entity;
    BOOST_TEST(fhir::audit::AuditRowMatches(write, q), entity);
  }
  q.entity = "Encounter/e2";
  BOOST_TEST(!fhir::audit::AuditRowMatches(write, q));
  // Any of several; writes only.
  q = {};
  q.entity_any = {"Encounter/e2", "Patient/p1"};
  BOOST_TEST(fhir::audit::AuditRowMatches(write, q));
  q.entity_any = {"Encounter/e2"};
  BOOST_TEST(!fhir::audit::AuditRowMatches(write, q));
  q = {};
  q.writes_only = true;
  BOOST_TEST(fhir::audit::AuditRowMatches(write, q));
  BOOST_TEST(!fhir::audit::AuditRowMatches(fhir::audit::AuditRowFor(r), q));
}

// A row's columns hold the first patient and entity; with only one of each, the content does
// not repeat them (only an entity's version), and the AuditEvent comes back the same.
BOOST_AUTO_TEST_CASE(OnePatientAndEntityAreNotRepeatedInTheContent) {
  for (const std::vector<std::string>& entities :
       std::vector<std::vector<std::string>>{{"Observation/o1/_history/12"},
                                             {"Observation/o1"},
                                             {"Observation/o1/_history/"},
                                             {}}) {
    AuditRecord r = PatientRead();
    r.patients = {"Patient/p1"};
    r.entities = entities;
    const AuditRow row = fhir::audit::AuditRowFor(r);
    BOOST_TEST_CONTEXT(row.content) {
      BOOST_TEST(row.content.find("Patient/p1") == std::string::npos);
      const bool versioned = !entities.empty() && entities[0] == "Observation/o1/_history/12";
      BOOST_TEST((row.content.find("\"V\":\"12\"") != std::string::npos) == versioned);
      BOOST_TEST((row.content.find("Observation/o1") != std::string::npos) ==
                 (!entities.empty() && entities[0] == "Observation/o1/_history/"));
      BOOST_TEST(WithoutIdAndMeta(fhir::audit::ServedAuditEventJson(row)) ==
                 fhir::audit::AuditEventJson(r));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ServedAuditEventJson)

BOOST_AUTO_TEST_CASE(IdAndMetaAfterResourceTypeAndValidR4) {
  AuditRow row = fhir::audit::AuditRowFor(PatientRead());
  row.seq = 4711;
  const std::string json = fhir::audit::ServedAuditEventJson(row);
  BOOST_TEST(json.rfind(R"({"resourceType":"AuditEvent","id":"4711","meta":{"versionId":"1",)"
                        R"("lastUpdated":"2026-05-28T20:26:40.123Z"},"type":{)",
                        0) == 0,
             json);
  BOOST_TEST(ValidationIssues(json) == "", json);
  BOOST_TEST(WithoutIdAndMeta(json) == fhir::audit::AuditEventJson(PatientRead()));
}

BOOST_AUTO_TEST_CASE(EveryInteractionServesValidR4) {
  for (int i = 0; i <= static_cast<int>(Interaction::kSubscriptionNotification); ++i) {
    AuditRecord r = PatientRead();
    r.interaction = static_cast<Interaction>(i);
    r.http_status = i % 3 == 0 ? 404 : 200;
    AuditRow row = fhir::audit::AuditRowFor(r);
    row.seq = i + 1;
    const std::string json = fhir::audit::ServedAuditEventJson(row);
    BOOST_TEST(ValidationIssues(json) == "", row.subtype << ": " << json);
  }
}

// Details that cannot be read (a bug elsewhere, a damaged row) still give a valid AuditEvent
// from the columns.
BOOST_AUTO_TEST_CASE(UnreadableDetailsStillServeTheColumns) {
  AuditRow row = fhir::audit::AuditRowFor(PatientRead());
  row.seq = 9;
  row.content = "not json";
  const std::string json = fhir::audit::ServedAuditEventJson(row);
  BOOST_TEST(json.rfind(R"({"resourceType":"AuditEvent","id":"9","meta":{)", 0) == 0, json);
  BOOST_TEST(ValidationIssues(json) == "", json);
  BOOST_TEST(json.find("Practitioner/prac-1") != std::string::npos);
  BOOST_TEST(json.find("Patient/p1") != std::string::npos);
}

// Every field of a record survives the trip through a row.
BOOST_AUTO_TEST_CASE(RecordsRoundTripThroughRows) {
  AuditRecord r = PatientRead();
  r.failure = "quote \" é";
  r.user_name = "Dr Ada";
  r.user_is_requestor = false;
  r.destination_address = "https://ehr.example/hook";
  r.observer = "Unit 7";
  r.query = "Observation?patient=Patient/p1";
  r.http_status = 404;
  AuditRow row = fhir::audit::AuditRowFor(r);
  row.seq = 3;
  BOOST_TEST(WithoutIdAndMeta(fhir::audit::ServedAuditEventJson(row)) ==
             fhir::audit::AuditEventJson(r));
}

BOOST_AUTO_TEST_SUITE_END()
