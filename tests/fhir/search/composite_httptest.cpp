// The new composites through the real server: written over HTTP, searched over HTTP, listed in
// the CapabilityStatement, malformed values refused with strict handling, and accepted as
// Subscription criteria that the matcher (fhir/search/memory_matcher) evaluates.

#include <boost/test/unit_test.hpp>

#include <set>

#include "common/json.h"
#include "fhir/store/pg/connection.h"
#include "tests/support/test_server.h"

namespace {

using test_support::TestServer;

std::set<std::string> Ids(const TestServer& s, const std::string& query) {
  auto r = s.Request("GET", query, "", {{"Prefer", "handling=strict"}});
  BOOST_REQUIRE_MESSAGE(r.status == 200, query + ": " + r.body);
  auto bundle = common::ParseJson(r.body);
  BOOST_REQUIRE(bundle.has_value());
  std::set<std::string> ids;
  if (const auto* entries = bundle->Find("entry")) {
    for (const auto& e : entries->items()) ids.insert(e.Find("resource")->Find("id")->scalar());
  }
  return ids;
}

std::set<std::string> SearchParams(const common::JsonValue& cs, const std::string& type) {
  std::set<std::string> names;
  for (const auto& r : cs.Find("rest")->items()[0].Find("resource")->items()) {
    if (r.Find("type")->scalar() != type) continue;
    for (const auto& p : r.Find("searchParam")->items()) names.insert(p.Find("name")->scalar());
  }
  return names;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(CompositeOverHttp)

BOOST_AUTO_TEST_CASE(WrittenSearchedListedAndSubscribable) {
  TestServer s;
  auto put = [&](const std::string& path, const std::string& body) {
    auto r = s.Request("PUT", path, body, {{"Content-Type", "application/fhir+json"}});
    BOOST_REQUIRE_MESSAGE(r.status == 201, path + ": " + r.body);
  };
  put("MolecularSequence/ms1", R"({"resourceType":"MolecularSequence","id":"ms1","coordinateSystem":0,
    "referenceSeq":{"chromosome":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/chromosome-human","code":"1"}]},
      "windowStart":50,"windowEnd":450},
    "variant":[{"start":100,"end":200},{"start":300,"end":400}]})");
  put("DocumentReference/d1", R"({"resourceType":"DocumentReference","id":"d1","status":"current",
    "content":[{"attachment":{"contentType":"text/plain"}}],
    "relatesTo":[{"code":"replaces","target":{"reference":"DocumentReference/old1"}},
                 {"code":"appends","target":{"reference":"DocumentReference/old2"}}]})");

  BOOST_TEST(Ids(s, "MolecularSequence?chromosome-variant-coordinate=1$lt345$gt123") ==
             std::set<std::string>{"ms1"});
  // Start 100 and end 400 belong to different variants.
  BOOST_TEST(Ids(s, "MolecularSequence?chromosome-variant-coordinate=1$lt150$gt350").empty());
  BOOST_TEST(Ids(s, "MolecularSequence?chromosome-window-coordinate=1$50$450") ==
             std::set<std::string>{"ms1"});
  BOOST_TEST(Ids(s, "DocumentReference?relationship=DocumentReference/old1$replaces") ==
             std::set<std::string>{"d1"});
  BOOST_TEST(Ids(s, "DocumentReference?relationship=DocumentReference/old1$appends").empty());
  // The same value through POST _search.
  auto posted = s.Request("POST", "DocumentReference/_search",
                          "relationship=DocumentReference%2Fold2%24appends",
                          {{"Content-Type", "application/x-www-form-urlencoded"}});
  BOOST_TEST(posted.status == 200);
  BOOST_TEST(posted.body.find(R"("id":"d1")") != std::string::npos);

  // Malformed: a missing component, a number that is not one.
  for (const char* bad : {"MolecularSequence?chromosome-variant-coordinate=1$lt345",
                          "MolecularSequence?chromosome-variant-coordinate=1$x$5",
                          "DocumentReference?relationship=DocumentReference/old1"}) {
    auto r = s.Request("GET", bad, "", {{"Prefer", "handling=strict"}});
    BOOST_TEST(r.status == 400, bad);
    BOOST_TEST(r.body.find("OperationOutcome") != std::string::npos, bad);
  }

  auto metadata = s.Request("GET", "metadata");
  BOOST_REQUIRE(metadata.status == 200);
  auto cs = common::ParseJson(metadata.body);
  BOOST_REQUIRE(cs.has_value());
  auto sequence = SearchParams(*cs, "MolecularSequence");
  for (const char* n : {"chromosome-variant-coordinate", "chromosome-window-coordinate",
                        "referenceseqid-variant-coordinate", "referenceseqid-window-coordinate"}) {
    BOOST_TEST(sequence.count(n) == 1u, n);
  }
  BOOST_TEST(SearchParams(*cs, "DocumentReference").count("relationship") == 1u);

  // A classic Subscription on a composite criterion is accepted (it used to be refused), and
  // the matcher notifies it of the document that replaces old1, not of one that appends it.
  BOOST_REQUIRE(s.subscriptions()->matcher().MatchPending().has_value());  // what came before
  auto sub = s.Request("POST", "Subscription",
                       R"({"resourceType":"Subscription","status":"requested","reason":"x",
                           "criteria":"DocumentReference?relationship=DocumentReference/old1$replaces",
                           "channel":{"type":"websocket"}})",
                       {{"Content-Type", "application/fhir+json"}});
  BOOST_REQUIRE_MESSAGE(sub.status == 201, sub.body);
  auto created = common::ParseJson(sub.body);
  BOOST_REQUIRE(created.has_value());
  std::string sub_id = created->Find("id")->scalar();
  auto document = [](const std::string& id, const std::string& code) {
    return R"({"resourceType":"DocumentReference","id":")" + id + R"(","status":"current",
      "content":[{"attachment":{"contentType":"text/plain"}}],
      "relatesTo":[{"code":")" + code + R"(","target":{"reference":"DocumentReference/old1"}},
                   {"code":"replaces","target":{"reference":"DocumentReference/other"}}]})";
  };
  put("DocumentReference/d2", document("d2", "replaces"));
  put("DocumentReference/d3", document("d3", "appends"));  // replaces only another one
  BOOST_REQUIRE(s.subscriptions()->matcher().MatchPending().has_value());
  auto conn = fhir::store::pg::PgConnection::Connect(s.dsn());
  BOOST_REQUIRE(conn.has_value());
  static constexpr fhir::store::pg::PgQuery kNotified{
      "test.notified", "SELECT id FROM notification WHERE subscription_id = $1 ORDER BY event_number"};
  auto notified = (*conn)->ExecuteUnprepared(kNotified, {sub_id});
  BOOST_REQUIRE(notified.has_value());
  std::vector<std::string> ids;
  for (int i = 0; i < notified->rows(); ++i) ids.emplace_back(notified->Get(i, 0));
  BOOST_TEST(ids == std::vector<std::string>{"d2"});
}

BOOST_AUTO_TEST_SUITE_END()
