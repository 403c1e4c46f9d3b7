// fhir/audit/pg/audit_block: a block's text round-trips every byte of every field, numbers its
// events from the block, refuses text it did not make, and keys and filters what the block is
// found by.
// (audit_store_pgtest.cpp stores and searches blocks in PostgreSQL.)

#include "fhir/audit/pg/audit_block.h"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "fhir/audit/pg/key_bloom.h"

namespace {

using common::StatusCode;
using fhir::audit::AuditRow;
namespace block = fhir::audit::pg;

AuditRow Row(int n) {
  AuditRow row;
  row.recorded = common::TimePoint(std::chrono::microseconds(1'800'000'000'123'456 + n));
  row.subtype = n % 2 == 0 ? "read" : "search-type";
  row.action = n % 2 == 0 ? 'R' : 'E';
  row.outcome = n % 3 == 0 ? 4 : 0;
  row.agent = "Practitioner/p" + std::to_string(n % 2);
  row.client_id = "app";
  row.patient = n % 4 == 3 ? "" : "Patient/" + std::to_string(n % 3);
  row.entity = "Observation/o" + std::to_string(n);
  row.address = "10.0.0.1";
  row.request_id = "req-" + std::to_string(n);
  row.content = R"({"i":"read","h":200})";
  return row;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(AuditBlock)

BOOST_AUTO_TEST_CASE(EveryFieldRoundTripsAndEventsAreNumberedFromTheBlock) {
  std::vector<AuditRow> rows = {Row(0), Row(1), Row(2)};
  // The format's own delimiters and escapes, NUL, non-ASCII and empty fields.
  rows[0].content = std::string("{\"q\":\"a\tb\nc\rd\\e\\\\t\"}", 22) + std::string(1, '\0') + "\xc3\xbc";
  rows[1].request_id = "\\";
  rows[1].address = "";
  rows[1].agent = "";
  rows[2].subtype = "\\t\\n";
  rows[2].recorded = common::TimePoint(std::chrono::microseconds(-5));  // before 1970 still works

  auto decoded = block::DecodeAuditBlock(block::EncodeAuditBlock(rows), 7);
  BOOST_REQUIRE(decoded.has_value());
  BOOST_REQUIRE(decoded->size() == 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const AuditRow& a = rows[i];
    const AuditRow& b = (*decoded)[i];
    BOOST_TEST_CONTEXT("row " << i) {
      BOOST_TEST(b.seq == block::BlockSeq(7, static_cast<std::int64_t>(i)));
      BOOST_TEST(block::BlockOfSeq(b.seq) == 7);
      BOOST_TEST(block::OrdinalOfSeq(b.seq) == static_cast<std::int64_t>(i));
      BOOST_TEST(block::IsBlockSeq(b.seq));
      BOOST_TEST(b.recorded.time_since_epoch().count() == a.recorded.time_since_epoch().count());
      BOOST_TEST(b.subtype == a.subtype);
      BOOST_TEST(b.action == a.action);
      BOOST_TEST(b.outcome == a.outcome);
      BOOST_TEST(b.agent == a.agent);
      BOOST_TEST(b.client_id == a.client_id);
      BOOST_TEST(b.patient == a.patient);
      BOOST_TEST(b.entity == a.entity);
      BOOST_TEST(b.address == a.address);
      BOOST_TEST(b.request_id == a.request_id);
      BOOST_TEST(b.content == a.content);
    }
  }
  BOOST_TEST(!block::IsBlockSeq(block::kBlockSeqBase - 1));
}

BOOST_AUTO_TEST_CASE(TextItDidNotMakeIsRefused) {
  const std::string good = block::EncodeAuditBlock({Row(0)});
  BOOST_TEST(block::DecodeAuditBlock(good, 1).has_value());
  BOOST_TEST(block::DecodeAuditBlock("", 1)->empty());
  for (const std::string& bad : std::vector<std::string>{
           good.substr(0, good.size() - 1),              // no line end
        std::string("1\tread\tR\t0\n"),               // too few fields
        good.substr(0, good.size() - 1) + "\textra\n",  // too many
        "x" + good,                                   // recorded not a number
        std::string("1\tread\tRR\t0\ta\tc\tp\te\td\tq\tx\n"),  // action not one character
        std::string("1\tread\tR\t0\ta\tc\tp\te\td\tq\tx\\q\n"),  // unknown escape
        std::string("1\tread\tR\t0\ta\tc\tp\te\td\tq\tx\\\n")}) {  // escape at the end
    BOOST_TEST_CONTEXT(bad) {
      auto decoded = block::DecodeAuditBlock(bad, 1);
      BOOST_REQUIRE(!decoded.has_value());
      BOOST_TEST(decoded.error().code() == StatusCode::kInternal);
    }
  }
}

// Only the lines a search or a read selects are made into rows, each with its own seq.
BOOST_AUTO_TEST_CASE(OnlyTheSelectedLinesAreDecoded) {
  std::vector<AuditRow> rows;
  for (int n = 0; n < 12; ++n) rows.push_back(Row(n));
  rows[5].patient = "Patient/\\t";  // a key with an escape
  const std::string text = block::EncodeAuditBlock(rows);
  std::vector<std::size_t> offered;
  auto picked = block::DecodeAuditBlockWhere(
      text, 9, [&](std::size_t ordinal, const fhir::audit::AuditLineKeys& keys) {
        offered.push_back(ordinal);
        BOOST_TEST(keys.patient == rows[ordinal].patient);
        return keys.patient == "Patient/1" || keys.patient == "Patient/\\t";
      });
  BOOST_REQUIRE(picked.has_value());
  BOOST_TEST(offered.size() == rows.size());
  std::vector<std::string> ids;
  for (const AuditRow& row : *picked) {
    ids.push_back(row.request_id);
    BOOST_TEST(row.seq == block::BlockSeq(9, std::stoi(row.request_id.substr(4))));
  }
  // Row(n) has Patient/(n % 3) unless n % 4 == 3.
  BOOST_TEST(ids == (std::vector<std::string>{"req-1", "req-4", "req-5", "req-10"}),
             boost::test_tools::per_element());
  auto none = block::DecodeAuditBlockWhere(text, 9, [](std::size_t, const auto&) { return false; });
  BOOST_REQUIRE(none.has_value());
  BOOST_TEST(none->empty());
  // A malformed block is refused whatever is selected.
  BOOST_TEST(!block::DecodeAuditBlockWhere(text.substr(0, text.size() - 1), 9,
                                           [](std::size_t, const auto&) { return false; })
                  .has_value());
}

// Patients and users are the GIN keys; resources go into the block's filter (migration 0021).
BOOST_AUTO_TEST_CASE(KeysAreEachPatientAndUserOnceAndResourcesAreFiltered) {
  std::vector<AuditRow> rows = {Row(0), Row(1), Row(2), Row(3), Row(4)};
  rows[1].entity.clear();  // nothing to filter on: no such key in the filter either
  rows[2].patient = "Patient/\\2";  // escaped in the line, unescaped in its key
  const std::string text = block::EncodeAuditBlock(rows);
  auto index = fhir::audit::IndexAuditLines(text);
  BOOST_REQUIRE(index.has_value());
  const std::vector<std::string> keys = block::AuditBlockKeys(index->lines);
  const std::vector<std::string> expected = {"a|Practitioner/p0", "a|Practitioner/p1",
                                             "p|Patient/0", "p|Patient/1", "p|Patient/\\2"};
  BOOST_TEST(keys == expected, boost::test_tools::per_element());

  const std::string filter = block::AuditBlockEntityBloom(index->lines);
  BOOST_TEST(filter == block::MakeBloom({"Observation/o0", "Observation/o2", "Observation/o3",
                                         "Observation/o4"}));
  for (const AuditRow& row : rows) {
    if (!row.entity.empty()) BOOST_TEST(block::BloomMayContain(filter, block::ProbeOf(row.entity)));
  }
}

BOOST_AUTO_TEST_SUITE_END()
