// The websocket channel end to end over a real socket: $get-ws-binding-token, upgrade,
// bind-with-token in both forms, one handshake per subscription, event notifications numbered
// as the matcher numbered them, ping/pong, and refusals.

#include <boost/test/unit_test.hpp>

#include <string>

#include "common/json.h"
#include "fhir/auth/principal.h"
#include "subscriptions/rest/subscription_api.h"
#include "tests/subscriptions/websocket/ws_client.h"
#include "tests/subscriptions/rest/notification_reading.h"
#include "tests/support/json_reading.h"
#include "tests/support/test_server.h"

namespace {

using common::JsonValue;
using subscription_test::StatusValue;
using subscription_test::BindingToken;
using test_support::HttpResult;
using test_support::TestServer;
using ws_test::WsClient;

JsonValue Json(const std::string& text) { return test_support::ParseJsonOrFail(text); }

const char* kSubscription = R"({"resourceType":"Subscription","status":"requested","reason":"Session board",
  "criteria":"https://fovea.health/fhir/SubscriptionTopic/task-status",
  "_criteria":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria","valueString":"Task?encounter=Encounter/e1"}]},
  "channel":{"type":"websocket","payload":"application/fhir+json",
   "_payload":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content","valueCode":"id-only"}]}}})";

std::string NextText(WsClient& client) {
  auto m = client.NextData(std::chrono::milliseconds(5000));
  BOOST_REQUIRE_MESSAGE(m.has_value(), "no message within 5 s");
  return m->payload;
}

std::unique_ptr<WsClient> Connect(const TestServer& server) {
  auto client = std::make_unique<WsClient>(ws_test::ConnectTcp(server.port()));
  BOOST_REQUIRE_EQUAL(client->Upgrade("/ws/subscriptions-r4"), 101);
  return client;
}

BOOST_AUTO_TEST_SUITE(WebSocketChannel)

BOOST_AUTO_TEST_CASE(BoundSocketsGetHandshakesAndNumberedEvents) {
  TestServer server;
  std::string id = Json(server.Request("POST", "Subscription", kSubscription).body).Find("id")->scalar();
  BOOST_REQUIRE(server.subscriptions()->matcher().MatchPending().has_value());

  auto text_client = Connect(server);
  text_client->SendText("bind-with-token " + BindingToken(server, id));
  JsonValue handshake = Json(NextText(*text_client));
  BOOST_TEST(handshake.Find("type")->scalar() == "history");
  BOOST_TEST(StatusValue(handshake, "type") == "handshake");
  BOOST_TEST(StatusValue(handshake, "subscription").find("Subscription/" + id) != std::string::npos);
  BOOST_TEST(StatusValue(handshake, "events-since-subscription-start") == "0");

  auto json_client = Connect(server);
  json_client->SendText(R"({"type":"bind-with-token","payload":{"token":")" + BindingToken(server, id) + R"("}})");
  BOOST_TEST(StatusValue(Json(NextText(*json_client)), "type") == "handshake");
  json_client->SendText(R"({"type":"ping"})");
  BOOST_TEST(NextText(*json_client) == R"({"type":"pong"})");

  BOOST_REQUIRE_EQUAL(server.Request("PUT", "Task/a",
      R"({"resourceType":"Task","id":"a","status":"ready","intent":"order","encounter":{"reference":"Encounter/e1"}})").status, 201);
  BOOST_REQUIRE_EQUAL(server.Request("PUT", "Task/b",
      R"({"resourceType":"Task","id":"b","status":"ready","intent":"order","encounter":{"reference":"Encounter/e2"}})").status, 201);
  BOOST_REQUIRE(server.subscriptions()->matcher().MatchPending().has_value());
  for (WsClient* client : {text_client.get(), json_client.get()}) {
    JsonValue event = Json(NextText(*client));
    BOOST_TEST(StatusValue(event, "type") == "event-notification");
    BOOST_TEST(StatusValue(event, "events-since-subscription-start") == "1");
    BOOST_TEST(event.Find("entry")->items().size() == 2u);
    BOOST_TEST(event.Find("entry")->items()[1].Find("fullUrl")->scalar().find("Task/a") != std::string::npos);
  }
  BOOST_REQUIRE_EQUAL(server.Request("PUT", "Task/a",
      R"({"resourceType":"Task","id":"a","status":"in-progress","intent":"order","encounter":{"reference":"Encounter/e1"}})").status, 200);
  BOOST_REQUIRE(server.subscriptions()->matcher().MatchPending().has_value());
  BOOST_TEST(StatusValue(Json(NextText(*text_client)), "events-since-subscription-start") == "2");
}

// What @medplum/core's subscribeToCriteria creates, and what its SubscriptionManager reads: a
// SubscriptionStatus first (type, subscription.reference relative), the resource second, and a
// handshake again when it binds again with a fresh token.
BOOST_AUTO_TEST_CASE(ClassicSubscriptionsGetMedplumsDialectWithTheResource) {
  TestServer server;
  HttpResult created = server.Request("POST", "Subscription",
      R"({"resourceType":"Subscription","status":"active","reason":"WebSocket subscription for undefined",
          "channel":{"type":"websocket"},"criteria":"Task?status=ready"})");
  BOOST_REQUIRE_MESSAGE(created.status == 201, created.body);
  std::string id = Json(created.body).Find("id")->scalar();
  BOOST_REQUIRE(server.subscriptions()->matcher().MatchPending().has_value());

  auto client = Connect(server);
  client->SendText(R"({"type":"bind-with-token","payload":{"token":")" + BindingToken(server, id) + R"("}})");
  JsonValue handshake = Json(NextText(*client));
  const JsonValue& hs = *handshake.Find("entry")->items().front().Find("resource");
  BOOST_TEST(hs.Find("resourceType")->scalar() == "SubscriptionStatus");
  BOOST_TEST(hs.Find("type")->scalar() == "handshake");
  BOOST_TEST(hs.Find("subscription")->Find("reference")->scalar() == "Subscription/" + id);

  // A reader the token vouches for who may not read Tasks gets ids only.
  auto& notifications = server.subscriptions()->notifications();
  fhir::auth::Principal narrow;
  narrow.kind = fhir::auth::Principal::Kind::kClient;
  narrow.subject = "narrow";
  narrow.scopes = fhir::auth::ScopeSet::Parse("system/Subscription.rs system/Patient.rs");
  BOOST_REQUIRE(notifications.SaveBindingToken(subscriptions::BindingTokenHash("narrow-token"), {id},
                                               common::SystemClock().Now() + std::chrono::minutes(5),
                                               subscriptions::ReaderJson(narrow)).ok());
  auto narrow_client = Connect(server);
  narrow_client->SendText("bind-with-token narrow-token");
  BOOST_TEST(Json(NextText(*narrow_client)).Find("entry")->items().front().Find("resource")->Find("type")->scalar() ==
             "handshake");

  BOOST_REQUIRE_EQUAL(server.Request("PUT", "Task/a",
      R"({"resourceType":"Task","id":"a","status":"ready","intent":"order"})").status, 201);
  BOOST_REQUIRE_EQUAL(server.Request("PUT", "Task/b",
      R"({"resourceType":"Task","id":"b","status":"draft","intent":"order"})").status, 201);
  BOOST_REQUIRE(server.subscriptions()->matcher().MatchPending().has_value());

  JsonValue event = Json(NextText(*client));
  const auto& entries = event.Find("entry")->items();
  BOOST_REQUIRE_EQUAL(entries.size(), 2u);
  const JsonValue& status = *entries[0].Find("resource");
  BOOST_TEST(status.Find("resourceType")->scalar() == "SubscriptionStatus");
  BOOST_TEST(status.Find("type")->scalar() == "event-notification");
  BOOST_TEST(status.Find("subscription")->Find("reference")->scalar() == "Subscription/" + id);
  BOOST_TEST(status.Find("eventsSinceSubscriptionStart")->scalar() == "1");
  BOOST_TEST(status.Find("notificationEvent")->items().front().Find("eventNumber")->scalar() == "1");
  BOOST_TEST(status.Find("notificationEvent")->items().front().Find("focus")->Find("reference")->scalar() == "Task/a");
  BOOST_REQUIRE(entries[1].Find("resource") != nullptr);
  BOOST_TEST(entries[1].Find("resource")->Find("id")->scalar() == "a");

  JsonValue narrow_event = Json(NextText(*narrow_client));
  BOOST_REQUIRE_EQUAL(narrow_event.Find("entry")->items().size(), 2u);
  BOOST_TEST(narrow_event.Find("entry")->items()[1].Find("fullUrl")->scalar().find("Task/a") != std::string::npos);
  BOOST_TEST(narrow_event.Find("entry")->items()[1].Find("resource") == nullptr);

  // Bound again with a fresh token: a fresh handshake, and nothing sent twice.
  client->SendText(R"({"type":"bind-with-token","payload":{"token":")" + BindingToken(server, id) + R"("}})");
  JsonValue again = Json(NextText(*client));
  BOOST_TEST(again.Find("entry")->items().front().Find("resource")->Find("type")->scalar() == "handshake");
  BOOST_TEST(again.Find("entry")->items().front().Find("resource")->Find("eventsSinceSubscriptionStart")->scalar() == "1");
  client->SendText(R"({"type":"ping"})");
  BOOST_TEST(NextText(*client) == R"({"type":"pong"})");
}

BOOST_AUTO_TEST_CASE(BadMessagesAndTokensAreAnsweredNotFatal) {
  TestServer server;
  auto client = Connect(server);
  client->SendText("bind-with-token not-a-token");
  BOOST_TEST(NextText(*client).find("unknown or has expired") != std::string::npos);
  client->SendText("subscribe me");
  BOOST_TEST(NextText(*client).find("Unknown message") != std::string::npos);
  client->SendText("ping");
  BOOST_TEST(NextText(*client) == "pong");
  // Not an upgrade: refused over HTTP.
  HttpResult plain = server.Request("GET", "/ws/subscriptions-r4");
  BOOST_TEST(plain.status == 400);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
