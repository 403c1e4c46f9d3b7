// Conditional create (If-None-Exist), update (PUT [type]?criteria) and delete over HTTP: the
// spec's outcomes for none, one and several matches; strict criteria; and 20 clients sending
// the same conditional create at once make exactly one resource.

#include <boost/test/unit_test.hpp>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/json.h"
#include "tests/support/test_server.h"

namespace {

using test_support::HttpResult;
using test_support::TestServer;

const char* kPatient =
    R"({"resourceType":"Patient","identifier":[{"system":"http://hosp.example/mrn","value":"42"}],"name":[{"family":"Tan"}]})";

std::string IdOf(const HttpResult& r) {
  auto json = common::ParseJson(r.body);
  return json.has_value() && json->Find("id") != nullptr ? json->Find("id")->scalar() : "";
}

int Count(const TestServer& server, const std::string& query) {
  HttpResult r = server.Request("GET", query + "&_summary=count");
  return std::atoi(common::ParseJson(r.body)->Find("total")->scalar().c_str());
}

BOOST_AUTO_TEST_SUITE(ConditionalCreate)

BOOST_AUTO_TEST_CASE(NoneOneOrMany) {
  TestServer server;
  const std::vector<std::pair<std::string, std::string>> cond = {
      {"If-None-Exist", "identifier=http://hosp.example/mrn|42"}};
  HttpResult first = server.Request("POST", "Patient", kPatient, cond);
  BOOST_REQUIRE_EQUAL(first.status, 201);
  HttpResult again = server.Request("POST", "Patient", kPatient, cond);
  BOOST_TEST(again.status == 200);
  BOOST_TEST(IdOf(again) == IdOf(first));
  BOOST_TEST(again.Header("Location").find(IdOf(first)) != std::string::npos);
  // A second match made without the condition: the criteria are now ambiguous.
  BOOST_REQUIRE_EQUAL(server.Request("POST", "Patient", kPatient).status, 201);
  BOOST_TEST(server.Request("POST", "Patient", kPatient, cond).status == 412);
  BOOST_TEST(Count(server, "Patient?identifier=http://hosp.example/mrn|42") == 2);
}

BOOST_AUTO_TEST_CASE(CriteriaAreStrict) {
  TestServer server;
  // An unknown parameter would match everything if ignored.
  HttpResult unknown = server.Request("POST", "Patient", kPatient,
                                      {{"If-None-Exist", "colour=red"}});
  BOOST_TEST(unknown.status == 400);
  BOOST_TEST(server.Request("POST", "Patient", kPatient, {{"If-None-Exist", "_count=1"}}).status ==
             400);
  BOOST_TEST(server.Request("POST", "Patient", kPatient, {{"If-None-Exist", "birthdate=notadate"}})
                 .status == 400);
}

BOOST_AUTO_TEST_CASE(ConcurrentIdenticalRequestsCreateOne) {
  TestServer server;
  constexpr int kClients = 20;
  std::vector<HttpResult> results(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      results[i] = server.Request("POST", "Patient", kPatient,
                                  {{"If-None-Exist", "identifier=http://hosp.example/mrn|42"}});
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> ids;
  int created = 0;
  for (const HttpResult& r : results) {
    BOOST_TEST((r.status == 201 || r.status == 200), r.status << " " << r.body);
    if (r.status == 201) ++created;
    ids.insert(IdOf(r));
  }
  BOOST_TEST(created == 1);
  BOOST_TEST(ids.size() == 1u);
  BOOST_TEST(Count(server, "Patient?identifier=http://hosp.example/mrn|42") == 1);
}

BOOST_AUTO_TEST_CASE(ConditionalUpdateCreatesThenUpdatesTheMatch) {
  TestServer server;
  const std::string criteria = "Patient?identifier=http://hosp.example/mrn|42";
  HttpResult created = server.Request("PUT", criteria, kPatient);
  BOOST_REQUIRE_MESSAGE(created.status == 201, created.body);
  std::string id = IdOf(created);
  std::string renamed =
      R"({"resourceType":"Patient","identifier":[{"system":"http://hosp.example/mrn","value":"42"}],"name":[{"family":"Lim"}]})";
  HttpResult updated = server.Request("PUT", criteria, renamed);
  BOOST_REQUIRE_MESSAGE(updated.status == 200, updated.body);
  BOOST_TEST(IdOf(updated) == id);
  BOOST_TEST(updated.Header("ETag") == "W/\"2\"");
  // A body naming another resource is refused.
  std::string other =
      R"({"resourceType":"Patient","id":"someone-else","identifier":[{"system":"http://hosp.example/mrn","value":"42"}]})";
  BOOST_TEST(server.Request("PUT", criteria, other).status == 400);
  BOOST_REQUIRE_EQUAL(server.Request("POST", "Patient", kPatient).status, 201);
  BOOST_TEST(server.Request("PUT", criteria, renamed).status == 412);
  BOOST_TEST(server.Request("PUT", "Patient?colour=red", renamed).status == 400);
}

BOOST_AUTO_TEST_CASE(ConditionalDeleteRemovesOneMatch) {
  TestServer server;
  const std::string criteria = "Patient?identifier=http://hosp.example/mrn|42";
  HttpResult created = server.Request("POST", "Patient", kPatient);
  BOOST_REQUIRE_EQUAL(created.status, 201);
  BOOST_TEST(server.Request("DELETE", criteria).status == 204);
  BOOST_TEST(server.Request("GET", "Patient/" + IdOf(created)).status == 410);
  BOOST_TEST(server.Request("DELETE", criteria).status == 204);  // nothing left to delete
  BOOST_REQUIRE_EQUAL(server.Request("POST", "Patient", kPatient).status, 201);
  BOOST_REQUIRE_EQUAL(server.Request("POST", "Patient", kPatient).status, 201);
  BOOST_TEST(server.Request("DELETE", criteria).status == 412);
}

BOOST_AUTO_TEST_CASE(ConditionalDeleteOfSeveralIsBehindALimit) {
  fhir::rest::ServiceOptions options;
  options.max_conditional_deletes = 3;
  TestServer server(options);
  for (int i = 0; i < 3; ++i) BOOST_REQUIRE_EQUAL(server.Request("POST", "Patient", kPatient).status, 201);
  BOOST_REQUIRE_EQUAL(server.Request("PUT", "Patient/other",
                                     R"({"resourceType":"Patient","id":"other"})").status, 201);
  BOOST_TEST(server.Request("GET", "metadata").body.find(R"("conditionalDelete":"multiple")") !=
             std::string::npos);
  const std::string url = "Patient?identifier=http://hosp.example/mrn|42";
  HttpResult r = server.Request("DELETE", url);
  BOOST_TEST(r.status == 204, r.body);
  BOOST_TEST(Count(server, url) == 0);
  BOOST_TEST(server.Request("GET", "Patient/other").status == 200);
  // Each deletion is a version of its own in the history.
  BOOST_TEST(server.Request("GET", "Patient/_history?_count=50").body.find("DELETE") !=
             std::string::npos);
  // Above the limit nothing is deleted.
  for (int i = 0; i < 4; ++i) BOOST_REQUIRE_EQUAL(server.Request("POST", "Patient", kPatient).status, 201);
  r = server.Request("DELETE", url);
  BOOST_TEST(r.status == 412);
  BOOST_TEST(r.body.find("more than 3") != std::string::npos, r.body);
  BOOST_TEST(Count(server, url) == 4);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
