// Subscriptions over HTTP against PostgreSQL: Subscriptions checked and given their status on
// write, the matcher numbering events per subscription (gapless, never twice), $status and
// $events answering from those numbers.

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <map>
#include <string>

#include "common/json.h"
#include "fhir/store/pg/pg_resource_store.h"
#include "subscriptions/rest/subscription_api.h"
#include "tests/support/test_server.h"

namespace {

using common::JsonValue;
using test_support::HttpResult;
using test_support::TestServer;

JsonValue Json(const HttpResult& r) {
  auto json = common::ParseJson(r.body);
  BOOST_REQUIRE_MESSAGE(json.has_value(), r.body);
  return std::move(json).value();
}

const char* kTaskTopic = "https://fovea.health/fhir/SubscriptionTopic/task-status";

std::string TaskSubscription(const std::string& filter, const std::string& channel) {
  return std::string(R"({"resourceType":"Subscription","status":"requested","reason":"Session board",
    "criteria":")") + kTaskTopic + R"(","_criteria":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria","valueString":")" +
         filter + R"("}]},"channel":)" + channel + "}";
}

const char* kWebSocket = R"({"type":"websocket","payload":"application/fhir+json",
  "_payload":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content","valueCode":"id-only"}]}})";

std::string Task(const std::string& id, const std::string& status, const std::string& encounter) {
  return R"({"resourceType":"Task","id":")" + id + R"(","status":")" + status +
         R"(","intent":"order","encounter":{"reference":"Encounter/)" + encounter + R"("}})";
}

std::size_t Match(TestServer& server) {
  auto n = server.subscriptions()->matcher().MatchPending();
  BOOST_REQUIRE_MESSAGE(n.has_value(), (n.has_value() ? "" : n.error().message()));
  return *n;
}

// "events-since-subscription-start" of the first status Parameters in a Bundle.
std::string EventsSinceStart(const JsonValue& bundle) {
  const JsonValue& params = *bundle.Find("entry")->items().front().Find("resource");
  for (const JsonValue& p : params.Find("parameter")->items()) {
    if (p.Find("name")->scalar() == "events-since-subscription-start") {
      return p.Find("valueString")->scalar();
    }
  }
  return "";
}

std::vector<std::string> EventNumbers(const JsonValue& bundle) {
  std::vector<std::string> out;
  const JsonValue& params = *bundle.Find("entry")->items().front().Find("resource");
  for (const JsonValue& p : params.Find("parameter")->items()) {
    if (p.Find("name")->scalar() != "notification-event") continue;
    for (const JsonValue& part : p.Find("part")->items()) {
      if (part.Find("name")->scalar() == "event-number") out.push_back(part.Find("valueString")->scalar());
    }
  }
  return out;
}

BOOST_AUTO_TEST_SUITE(SubscriptionApi)

BOOST_AUTO_TEST_CASE(SubscriptionsAreCheckedAndGetTheirStatus) {
  TestServer server;
  HttpResult ws = server.Request("POST", "Subscription", TaskSubscription("Task?encounter=Encounter/e1", kWebSocket));
  BOOST_REQUIRE_MESSAGE(ws.status == 201, ws.body);
  BOOST_TEST(Json(ws).Find("status")->scalar() == "active");
  HttpResult hook = server.Request(
      "POST", "Subscription",
      TaskSubscription("Task?encounter=Encounter/e1",
                       R"({"type":"rest-hook","endpoint":"https://ehr.example/hook","payload":"application/fhir+json"})"));
  BOOST_REQUIRE_MESSAGE(hook.status == 201, hook.body);
  BOOST_TEST(Json(hook).Find("status")->scalar() == "requested");  // until its handshake
  HttpResult bad = server.Request("POST", "Subscription", TaskSubscription("Task?identifier=x", kWebSocket));
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(bad.body.find("offers no filter 'identifier'") != std::string::npos, bad.body);
  HttpResult unknown = server.Request(
      "POST", "Subscription",
      R"({"resourceType":"Subscription","status":"requested","reason":"x","criteria":"https://elsewhere.example/topic","channel":{"type":"websocket"}})");
  BOOST_TEST(unknown.status == 400);
  // In a transaction too.
  HttpResult tx = server.Request("POST", "", std::string(R"({"resourceType":"Bundle","type":"transaction","entry":[{"resource":)") +
                                                 TaskSubscription("Task?colour=red", kWebSocket) +
                                                 R"(,"request":{"method":"POST","url":"Subscription"}}]})");
  BOOST_TEST(tx.status == 400, tx.body);
}

BOOST_AUTO_TEST_CASE(EventsAreNumberedOncePerSubscription) {
  TestServer server;
  std::string s1 = Json(server.Request("POST", "Subscription", TaskSubscription("Task?encounter=Encounter/e1", kWebSocket)))
                       .Find("id")->scalar();
  std::string s2 = Json(server.Request("POST", "Subscription", TaskSubscription("Task?encounter=Encounter/e2", kWebSocket)))
                       .Find("id")->scalar();
  Match(server);  // the subscriptions' own creation events
  BOOST_REQUIRE_EQUAL(server.Request("PUT", "Task/a", Task("a", "ready", "e1")).status, 201);        // s1: 1
  BOOST_REQUIRE_EQUAL(server.Request("PUT", "Task/a", Task("a", "ready", "e1")).status, 200);        // no change
  BOOST_REQUIRE_EQUAL(server.Request("PUT", "Task/a", Task("a", "in-progress", "e1")).status, 200);  // s1: 2
  BOOST_REQUIRE_EQUAL(server.Request("PUT", "Task/b", Task("b", "ready", "e2")).status, 201);        // s2: 1
  BOOST_TEST(Match(server) == 4u);
  BOOST_TEST(Match(server) == 0u);  // nothing is matched twice

  JsonValue status = Json(server.Request("GET", "Subscription/" + s1 + "/$status"));
  BOOST_TEST(status.Find("type")->scalar() == "searchset");
  BOOST_TEST(EventsSinceStart(status) == "2");
  JsonValue events = Json(server.Request("GET", "Subscription/" + s1 + "/$events"));
  BOOST_TEST(events.Find("type")->scalar() == "history");
  BOOST_TEST(EventNumbers(events) == (std::vector<std::string>{"1", "2"}), boost::test_tools::per_element());
  BOOST_TEST(events.Find("entry")->items().size() == 3u);  // status + two id-only entries
  BOOST_TEST(events.Find("entry")->items()[1].Find("resource") == nullptr);
  JsonValue since = Json(server.Request("GET", "Subscription/" + s1 + "/$events?eventsSinceNumber=2&content=full-resource"));
  BOOST_TEST(EventNumbers(since) == (std::vector<std::string>{"2"}), boost::test_tools::per_element());
  BOOST_TEST(since.Find("entry")->items()[1].Find("resource")->Find("status")->scalar() == "in-progress");

  // Both subscriptions at the type level; filtered by status.
  JsonValue all = Json(server.Request("GET", "Subscription/$status"));
  BOOST_TEST(all.Find("total")->scalar() == "2");
  JsonValue none = Json(server.Request("GET", "Subscription/$status?status=off"));
  BOOST_TEST(none.Find("total")->scalar() == "0");

  // A transaction's every resource is an event; numbering continues where it was.
  HttpResult tx = server.Request("POST", "", R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"resource":{"resourceType":"Task","status":"ready","intent":"order","encounter":{"reference":"Encounter/e1"}},"request":{"method":"POST","url":"Task"}},
    {"resource":{"resourceType":"Task","status":"ready","intent":"order","encounter":{"reference":"Encounter/e1"}},"request":{"method":"POST","url":"Task"}}]})");
  BOOST_REQUIRE_EQUAL(tx.status, 200);
  BOOST_TEST(Match(server) == 2u);
  JsonValue more = Json(server.Request("GET", "Subscription/" + s1 + "/$events?eventsSinceNumber=3"));
  BOOST_TEST(EventNumbers(more) == (std::vector<std::string>{"3", "4"}), boost::test_tools::per_element());
  BOOST_TEST(server.Request("GET", "Subscription/nope/$status").status == 404);
  BOOST_TEST(server.Request("GET", "Subscription/$events").status == 400);
  BOOST_TEST(server.Request("GET", "Subscription/" + s2 + "/$events?eventsSinceNumber=x").status == 400);
}

BOOST_AUTO_TEST_CASE(BindingTokensCoverWebSocketSubscriptions) {
  TestServer server;
  std::string ws = Json(server.Request("POST", "Subscription", TaskSubscription("Task?encounter=Encounter/e1", kWebSocket)))
                       .Find("id")->scalar();
  std::string hook = Json(server.Request("POST", "Subscription",
                                         TaskSubscription("Task?encounter=Encounter/e1",
                                                          R"({"type":"rest-hook","endpoint":"https://ehr.example/h"})")))
                         .Find("id")->scalar();
  HttpResult r = server.Request("POST", "Subscription/" + ws + "/$get-ws-binding-token");
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  JsonValue params = Json(r);
  std::map<std::string, std::string> values;
  for (const JsonValue& p : params.Find("parameter")->items()) {
    for (const auto& [k, v] : p.members()) {
      if (k.rfind("value", 0) == 0) values[p.Find("name")->scalar()] = v.scalar();
    }
  }
  BOOST_TEST(values["subscription"] == ws);
  BOOST_TEST(values["websocket-url"] == "ws://127.0.0.1:" + std::to_string(server.port()) + "/ws/subscriptions-r4");
  BOOST_TEST(values["token"].size() >= 40u);
  BOOST_TEST(!values["expiration"].empty());
  // Redeemable (on any node: it lives in the database), by its hash only.
  auto& store = server.subscriptions()->notifications();
  auto grant = store.RedeemBindingToken(subscriptions::BindingTokenHash(values["token"]), common::SystemClock().Now());
  BOOST_REQUIRE(grant.has_value());
  BOOST_TEST(grant->subscription_ids == std::vector<std::string>{ws}, boost::test_tools::per_element());
  // Kept with the principal it was issued to (here the trusted loopback principal of --auth off).
  auto reader = subscriptions::ReaderFromJson(grant->reader);
  BOOST_REQUIRE(reader.has_value());
  BOOST_TEST((reader->kind == fhir::auth::Principal::Kind::kTrusted));
  BOOST_TEST(common::FormatInstant(grant->expires) == values["expiration"]);
  BOOST_TEST(!store.RedeemBindingToken(values["token"], common::SystemClock().Now()).has_value());
  BOOST_TEST(!store.RedeemBindingToken(subscriptions::BindingTokenHash(values["token"]),
                                       common::SystemClock().Now() + std::chrono::hours(1))
                  .has_value());  // expired by then
  // Only websocket subscriptions, only known ones, and at least one.
  BOOST_TEST(server.Request("GET", "Subscription/" + hook + "/$get-ws-binding-token").status == 400);
  BOOST_TEST(server.Request("GET", "Subscription/nope/$get-ws-binding-token").status == 404);
  BOOST_TEST(server.Request("GET", "Subscription/$get-ws-binding-token").status == 400);
  BOOST_TEST(server.Request("GET", "Subscription/$get-ws-binding-token?id=" + ws).status == 200);
}

BOOST_AUTO_TEST_CASE(TheCapabilityStatementListsTopicsAndOperations) {
  TestServer server;
  HttpResult metadata = server.Request("GET", "metadata");
  BOOST_REQUIRE_EQUAL(metadata.status, 200);
  for (const char* needle :
       {"backport-subscription-server-r4", "StructureDefinition/backport-subscription\"",
        "capabilitystatement-subscriptiontopic-canonical",
        "https://fovea.health/fhir/SubscriptionTopic/task-status",
        "https://fovea.health/fhir/SubscriptionTopic/screening-session",
        "backport-subscription-status", "backport-subscription-events"}) {
    BOOST_TEST(metadata.body.find(needle) != std::string::npos, needle);
  }
  // And it is still valid R4 in XML.
  BOOST_TEST(server.Request("GET", "metadata?_format=xml").status == 200);
}

BOOST_AUTO_TEST_CASE(OldNotificationsAreTrimmedButStillCounted) {
  TestServer server;
  std::string s1 = Json(server.Request("POST", "Subscription", TaskSubscription("Task?encounter=Encounter/e1", kWebSocket)))
                       .Find("id")->scalar();
  // A matcher that keeps only the last two events (and nothing for age).
  auto topics = subscriptions::TopicRegistry::BuiltIn();
  auto registry = std::make_shared<fhir::search::LiveRegistry>(fhir::search::SearchParameterRegistry::R4());
  subscriptions::pg::MatcherOptions options;
  options.retain_events = 2;
  options.retain_for = std::chrono::seconds(0);
  options.maintain_every = 1;  // and applies it at every batch
  subscriptions::pg::EventMatcher keeper(server.dsn(), registry, **topics, options);
  for (const char* status : {"ready", "in-progress", "on-hold", "completed"}) {
    BOOST_REQUIRE(server.Request("PUT", "Task/r", Task("r", status, "e1")).status < 300);
  }
  BOOST_REQUIRE(keeper.MatchPending().has_value());
  // The trim is part of the statement that adds a batch's rows, so it sees those of earlier
  // batches: the next batch trims these.
  BOOST_REQUIRE(server.Request("PUT", "Task/r", Task("r", "ready", "e1")).status < 300);
  BOOST_REQUIRE(keeper.MatchPending().has_value());
  JsonValue events = Json(server.Request("GET", "Subscription/" + s1 + "/$events"));
  BOOST_TEST(EventsSinceStart(events) == "5");
  BOOST_TEST(EventNumbers(events) == (std::vector<std::string>{"4", "5"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(OneMatcherAtATime) {
  TestServer server;
  // A second matcher on the same database (another node) while this one holds the lock.
  auto topics = subscriptions::TopicRegistry::BuiltIn();
  auto registry = std::make_shared<fhir::search::LiveRegistry>(fhir::search::SearchParameterRegistry::R4());
  subscriptions::pg::EventMatcher other(server.dsn(), registry, **topics, {});
  other.Start();
  BOOST_REQUIRE(other.WaitUntilActive(std::chrono::seconds(10)));
  auto refused = server.subscriptions()->matcher().MatchPending();
  BOOST_TEST(!refused.has_value());
  other.Stop();
  BOOST_TEST(server.subscriptions()->matcher().MatchPending().has_value());
}

BOOST_AUTO_TEST_CASE(TheMatcherHoldingTheLockIsWokenByItsOwnNodesWrites) {
  TestServer server;
  auto& matcher = server.subscriptions()->matcher();
  auto& store = dynamic_cast<fhir::store::pg::PgResourceStore&>(server.store());
  BOOST_TEST(!matcher.WakeIfActive());  // not matching: this node's writes NOTIFY instead
  std::string id = Json(server.Request("POST", "Subscription", TaskSubscription("Task?encounter=Encounter/w1", kWebSocket)))
                       .Find("id")->scalar();
  BOOST_TEST(store.announcer().woken_locally() == 0u);

  matcher.Start();
  BOOST_REQUIRE(matcher.WaitUntilActive(std::chrono::seconds(10)));
  BOOST_REQUIRE_EQUAL(server.Request("PUT", "Task/w", Task("w", "ready", "w1")).status, 201);
  BOOST_TEST(store.announcer().woken_locally() == 1u);  // the write woke the matcher directly
  // ... which numbers the event (a bound on the wait, not a pause: it returns when it has).
  std::string count;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
       count != "1" && std::chrono::steady_clock::now() < deadline;) {
    count = EventsSinceStart(Json(server.Request("GET", "Subscription/" + id + "/$status")));
  }
  BOOST_TEST(count == "1");
  matcher.Stop();
  BOOST_TEST(!matcher.WakeIfActive());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
