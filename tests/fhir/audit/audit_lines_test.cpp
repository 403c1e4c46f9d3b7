// fhir/audit/audit_lines: a record's line is its row's line, made without the row; lines parse
// back to the rows; the index of lines gives each line's time, user, patient and resource
// (unescaped) and where it ends, and refuses what a store would refuse; an AuditStore that
// only knows rows stores lines through the default AppendLines.

#include "fhir/audit/audit_lines.h"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "fhir/audit/in_memory_audit_store.h"

namespace {

using common::StatusCode;
using fhir::audit::AuditRecord;
using fhir::audit::AuditRow;
using fhir::audit::Interaction;

// Record n of a varied set: every interaction, outcomes, with and without user, patient and
// versioned or versionless entities, and the line format's own delimiters in the values.
AuditRecord Record(int n) {
  AuditRecord r;
  r.recorded = common::TimePoint(std::chrono::microseconds(1'800'000'000'000'000 + 997 * n));
  r.interaction = static_cast<Interaction>(n % 21);
  if (n % 5 == 1) r.action = fhir::audit::Action::kExecute;
  r.http_status = n % 4 == 0 ? 200 : n % 4 == 1 ? 403 : n % 4 == 2 ? 0 : 500;
  if (r.http_status >= 400) r.failure = "no\tway\n" + std::to_string(n);
  if (n % 3 != 0) r.agent_reference = "Practitioner/p" + std::to_string(n % 3);
  r.user_id = "user\\" + std::to_string(n);
  r.client_id = n % 2 == 0 ? "app" : "";
  r.roles = {{"https://fovea.health/CodeSystem/staff-role", "doctor", "Doctor"}};
  r.token_id = "jti-" + std::to_string(n);
  r.source_address = "10.0.0." + std::to_string(n % 250);
  r.request_id = n % 7 == 0 ? std::string("odd\r\0id", 7) : "req-" + std::to_string(n);
  if (n % 6 != 5) r.patients = {"Patient/p" + std::to_string(n % 6)};
  if (n % 6 == 4) r.patients.push_back("Patient/second");
  if (n % 4 == 0) r.entities = {"Observation/o" + std::to_string(n) + "/_history/3"};
  if (n % 4 == 1) r.entities = {"Encounter/e" + std::to_string(n), "Task/t1"};
  if (n % 8 == 3) r.query = "Observation?code=a\tb";
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(AuditLines)

BOOST_AUTO_TEST_CASE(ARecordsLineIsItsRowsLine) {
  for (int n = 0; n < 84; ++n) {
    const AuditRecord record = Record(n);
    std::string from_record, from_row;
    fhir::audit::AppendAuditLine(from_record, record);
    fhir::audit::AppendAuditLine(from_row, fhir::audit::AuditRowFor(record));
    BOOST_TEST(from_record == from_row, "record " << n);
  }
}

BOOST_AUTO_TEST_CASE(LinesParseBackToTheirRows) {
  std::string text;
  std::vector<AuditRow> rows;
  for (int n = 0; n < 42; ++n) {
    rows.push_back(fhir::audit::AuditRowFor(Record(n)));
    fhir::audit::AppendAuditLine(text, Record(n));
  }
  auto parsed = fhir::audit::ParseAuditLines(text);
  BOOST_REQUIRE(parsed.has_value());
  BOOST_REQUIRE(parsed->size() == rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const AuditRow& a = rows[i];
    const AuditRow& b = (*parsed)[i];
    BOOST_TEST_CONTEXT("row " << i) {
      BOOST_TEST((a.recorded == b.recorded));
      BOOST_TEST(a.subtype == b.subtype);
      BOOST_TEST(a.action == b.action);
      BOOST_TEST(a.outcome == b.outcome);
      BOOST_TEST(a.agent == b.agent);
      BOOST_TEST(a.client_id == b.client_id);
      BOOST_TEST(a.patient == b.patient);
      BOOST_TEST(a.entity == b.entity);
      BOOST_TEST(a.address == b.address);
      BOOST_TEST(a.request_id == b.request_id);
      BOOST_TEST(a.content == b.content);
      BOOST_TEST(b.seq == 0);
    }
  }
  BOOST_TEST(fhir::audit::ParseAuditLines("")->empty());
}

BOOST_AUTO_TEST_CASE(TheIndexGivesEachLinesKeysAndEnd) {
  std::string text;
  std::vector<AuditRow> rows;
  for (int n = 0; n < 30; ++n) {
    AuditRow row = fhir::audit::AuditRowFor(Record(n));
    if (n == 7) row.patient = "Patient/with\\backslash";
    if (n == 8) row.agent = "Practitioner/tab\there";
    rows.push_back(row);
    fhir::audit::AppendAuditLine(text, row);
  }
  auto index = fhir::audit::IndexAuditLines(text);
  BOOST_REQUIRE(index.has_value());
  BOOST_REQUIRE(index->lines.size() == rows.size());
  std::size_t start = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const fhir::audit::AuditLineKeys& keys = index->lines[i];
    BOOST_TEST_CONTEXT("line " << i) {
      BOOST_TEST(keys.recorded_micros ==
                 std::chrono::duration_cast<std::chrono::microseconds>(
                     rows[i].recorded.time_since_epoch()).count());
      BOOST_TEST(keys.agent == rows[i].agent);
      BOOST_TEST(keys.patient == rows[i].patient);
      BOOST_TEST(keys.entity == rows[i].entity);
      // The line ends where it is one row's line.
      auto one = fhir::audit::ParseAuditLines(std::string_view(text).substr(start, keys.end - start));
      BOOST_REQUIRE(one.has_value());
      BOOST_REQUIRE(one->size() == 1u);
      BOOST_TEST(one->front().request_id == rows[i].request_id);
      start = keys.end;
    }
  }
  BOOST_TEST(start == text.size());
  BOOST_TEST(index->unescaped.size() == 2u);  // only the two values with escapes were copied
}

BOOST_AUTO_TEST_CASE(WhatAStoreWouldRefuseIsInvalid) {
  std::string good;
  fhir::audit::AppendAuditLine(good, Record(1));
  BOOST_TEST(fhir::audit::IndexAuditLines(good).has_value());
  for (const std::string& bad : {good.substr(0, good.size() - 1),  // no newline
                                 std::string("1\tread\n"),           // too few fields
                                 "x" + good,                          // not a time
                                 good.substr(0, good.size() - 1) + "\textra\n",
                                 std::string("1\tread\tR\t0\t\t\t\t\t\t\tbad\\q\n")}) {
    BOOST_TEST(fhir::audit::IndexAuditLines(bad).error().code() == StatusCode::kInvalid, bad);
    BOOST_TEST(fhir::audit::ParseAuditLines(bad).error().code() == StatusCode::kInvalid, bad);
  }
  AuditRow row = fhir::audit::AuditRowFor(Record(2));
  row.subtype.clear();
  std::string no_subtype;
  fhir::audit::AppendAuditLine(no_subtype, row);
  BOOST_TEST(fhir::audit::IndexAuditLines(no_subtype).error().code() == StatusCode::kInvalid);
  row = fhir::audit::AuditRowFor(Record(2));
  row.content.clear();
  std::string no_content;
  fhir::audit::AppendAuditLine(no_content, row);
  BOOST_TEST(fhir::audit::IndexAuditLines(no_content).error().code() == StatusCode::kInvalid);
  // ... and so does the default AppendLines, storing nothing.
  fhir::audit::InMemoryAuditStore store;
  BOOST_TEST(store.AppendLines(good + no_content).code() == StatusCode::kInvalid);
  BOOST_TEST(store.size() == 0u);
}

BOOST_AUTO_TEST_CASE(AStoreOfRowsStoresLinesAsTheirRows) {
  fhir::audit::InMemoryAuditStore store;
  std::string text;
  for (int n = 0; n < 12; ++n) fhir::audit::AppendAuditLine(text, Record(n));
  BOOST_REQUIRE(store.AppendLines(text).ok());
  BOOST_REQUIRE(store.size() == 12u);
  fhir::audit::AuditQuery q;
  q.oldest_first = true;
  q.count = 100;
  auto page = store.Search(q);
  BOOST_REQUIRE(page.has_value());
  BOOST_REQUIRE(page->rows.size() == 12u);
  for (int n = 0; n < 12; ++n) {
    const AuditRow expected = fhir::audit::AuditRowFor(Record(n));
    BOOST_TEST(page->rows[static_cast<std::size_t>(n)].request_id == expected.request_id);
    BOOST_TEST(page->rows[static_cast<std::size_t>(n)].content == expected.content);
  }
}

BOOST_AUTO_TEST_SUITE_END()
