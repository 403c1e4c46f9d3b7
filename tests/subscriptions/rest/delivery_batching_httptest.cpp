// What the batched delivery paths must keep: the matcher's cached subscriptions and counters
// (one MatchPending runs several batches, split at each Subscription change) number every
// subscription gaplessly from the event after its creation and stop at `off`; the WebSocket
// dispatcher binds many sockets in one round and sends one shared frame per event to sockets
// that are at different places in the stream, each exactly the events it has not had. The
// numbers reach the sockets whether the matcher announced them in its NOTIFY payload or only
// in the table, and the count stays exact while the counter row lags behind the rows.

#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/json.h"
#include "fhir/search/live_registry.h"
#include "fhir/store/pg/connection.h"
#include "subscriptions/engine/announcement.h"
#include "subscriptions/pg/event_matcher.h"
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

std::string SubscriptionJson(const std::string& status, const std::string& encounter) {
  return R"({"resourceType":"Subscription","status":")" + status + R"(","reason":"test",
  "criteria":"https://fovea.health/fhir/SubscriptionTopic/task-status",
  "_criteria":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria","valueString":"Task?encounter=Encounter/)" +
         encounter + R"("}]},
  "channel":{"type":"websocket","payload":"application/fhir+json",
   "_payload":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content","valueCode":"id-only"}]}}})";
}

void PutTask(TestServer& server, const std::string& id, const std::string& encounter) {
  HttpResult r = server.Request("PUT", "Task/" + id,
                                R"({"resourceType":"Task","id":")" + id +
                                    R"(","status":"ready","intent":"order","encounter":{"reference":"Encounter/)" +
                                    encounter + R"("}})");
  BOOST_REQUIRE(r.status == 201 || r.status == 200);
}

std::int64_t Count(TestServer& server, const std::string& id) {
  auto counts = server.subscriptions()->notifications().EventCounts({id});
  BOOST_REQUIRE(counts.has_value());
  return counts->count(id) != 0 ? counts->at(id) : 0;
}

JsonValue Next(WsClient& client) {
  auto m = client.NextData(std::chrono::milliseconds(5000));
  BOOST_REQUIRE(m.has_value());
  return Json(m->payload);
}

// A matcher of its own on the server's database (the server's does not run by itself), with
// `options`.
std::unique_ptr<subscriptions::pg::EventMatcher> OwnMatcher(TestServer& server,
                                                            subscriptions::pg::MatcherOptions options) {
  static auto topics = subscriptions::TopicRegistry::BuiltIn();
  BOOST_REQUIRE(topics.has_value());
  auto registry = std::make_shared<fhir::search::LiveRegistry>(fhir::search::SearchParameterRegistry::R4());
  return std::make_unique<subscriptions::pg::EventMatcher>(server.dsn(), registry, **topics, std::move(options));
}

// The counter row of a subscription as stored (-1: none).
std::int64_t CounterRow(TestServer& server, const std::string& id) {
  auto conn = fhir::store::pg::PgConnection::Connect(server.dsn());
  BOOST_REQUIRE(conn.has_value());
  constexpr fhir::store::pg::PgQuery kRow{"test.counter_row",
                                          "SELECT events FROM subscription_counter WHERE subscription_id = $1"};
  auto r = (*conn)->Execute(kRow, {id});
  BOOST_REQUIRE(r.has_value());
  return r->rows() == 0 ? -1 : r->GetInt64(0, 0);
}

std::vector<std::int64_t> Numbers(TestServer& server, const std::string& id) {
  auto events = server.subscriptions()->notifications().Events(id, 1, 1000, 1000, false);
  BOOST_REQUIRE(events.has_value());
  std::vector<std::int64_t> out;
  for (const auto& e : *events) out.push_back(e.number);
  return out;
}

BOOST_AUTO_TEST_SUITE(DeliveryBatching)

// The numbers reach a bound socket once each and in order, whether the matcher's NOTIFY
// announced them (no query) or, when too large to announce, only the table has them.
BOOST_AUTO_TEST_CASE(AnnouncedAndUnannouncedNumbersAreDeliveredOnceInOrder) {
  TestServer server;
  std::string id = Json(server.Request("POST", "Subscription", SubscriptionJson("active", "e1")).body).Find("id")->scalar();
  BOOST_REQUIRE(server.subscriptions()->matcher().MatchPending().has_value());
  WsClient client(ws_test::ConnectTcp(server.port()));
  BOOST_REQUIRE_EQUAL(client.Upgrade("/ws/subscriptions-r4"), 101);
  client.SendText("bind-with-token " + BindingToken(server, id));
  BOOST_TEST(StatusValue(Next(client), "type") == "handshake");

  subscriptions::pg::MatcherOptions silent;
  silent.announce_bytes = 0;  // every batch announced empty: the dispatcher reads the table
  auto unannounced = OwnMatcher(server, silent);
  PutTask(server, "t1", "e1");
  BOOST_REQUIRE(unannounced->MatchPending().has_value());
  PutTask(server, "t2", "e1");
  BOOST_REQUIRE(server.subscriptions()->matcher().MatchPending().has_value());
  PutTask(server, "t3", "e1");
  PutTask(server, "t4", "e1");
  BOOST_REQUIRE(server.subscriptions()->matcher().MatchPending().has_value());  // one batch, two numbers
  PutTask(server, "t5", "e1");
  BOOST_REQUIRE(unannounced->MatchPending().has_value());
  for (int n = 1; n <= 5; ++n) {
    JsonValue frame = Next(client);
    BOOST_TEST(StatusValue(frame, "type") == "event-notification");
    BOOST_TEST(StatusValue(frame, "events-since-subscription-start") == std::to_string(n));
    const JsonValue* entries = frame.Find("entry");
    BOOST_REQUIRE(entries != nullptr);
    BOOST_REQUIRE(entries->items().size() >= 2u);  // the status, then the focus
    const JsonValue* url = entries->items()[1].Find("fullUrl");
    BOOST_REQUIRE(url != nullptr);
    BOOST_TEST(url->scalar().ends_with("/Task/t" + std::to_string(n)));
  }
  client.SendText("ping");
  auto pong = client.NextData();
  BOOST_REQUIRE(pong.has_value());
  BOOST_TEST(pong->payload == "pong");  // nothing twice
}

// What the dispatchers hear: the matcher's batch NOTIFYs the numbers it gave, and no empty
// payload besides (which would send every dispatcher to the table); a notification row written
// without announcing (a matcher of an older version) still wakes them with an empty one.
BOOST_AUTO_TEST_CASE(TheMatcherAnnouncesItsNumbersAndNothingElse) {
  TestServer server;
  std::string id = Json(server.Request("POST", "Subscription", SubscriptionJson("active", "e1")).body).Find("id")->scalar();
  BOOST_REQUIRE(server.subscriptions()->matcher().MatchPending().has_value());
  auto listener = fhir::store::pg::PgConnection::Connect(server.dsn());
  BOOST_REQUIRE(listener.has_value());
  constexpr fhir::store::pg::PgQuery kListen{"test.listen", "LISTEN fovea_notification"};
  BOOST_REQUIRE((*listener)->ExecuteUnprepared(kListen, {}).has_value());
  auto other = fhir::store::pg::PgConnection::Connect(server.dsn());
  BOOST_REQUIRE(other.has_value());
  auto until_marker = [&] {
    return subscription_test::NotifiedUntilMarker(**listener, **other, "fovea_notification");
  };

  PutTask(server, "t1", "e1");
  PutTask(server, "t2", "e1");
  BOOST_REQUIRE(server.subscriptions()->matcher().MatchPending().has_value());
  std::vector<std::string> payloads = until_marker();
  BOOST_REQUIRE(payloads.size() == 1u);
  auto announced = subscriptions::ParseAnnouncement(payloads[0]);
  BOOST_REQUIRE(announced.has_value());
  BOOST_REQUIRE(announced->count(id) == 1u);
  const auto& events = announced->at(id);
  BOOST_REQUIRE(events.size() == 2u);
  BOOST_TEST(events[0].number == 1);
  BOOST_TEST(events[0].id == "t1");
  BOOST_TEST(events[1].number == 2);
  BOOST_TEST(events[1].id == "t2");

  // A batch that matches nothing announces nothing.
  PutTask(server, "elsewhere", "e2");
  BOOST_REQUIRE(server.subscriptions()->matcher().MatchPending().has_value());
  BOOST_TEST(until_marker().empty());

  // A notification row inserted the way a matcher before migration 0013 did.
  constexpr fhir::store::pg::PgQuery kOldStyle{
      "test.old_style",
      "INSERT INTO notification (subscription_id, event_number, event_seq, type, id, version, interaction, at)"
      " VALUES ($1, 3, 0, 'Task', 't3', 1, 'PUT', now())"};
  BOOST_REQUIRE((*other)->Execute(kOldStyle, {id}).has_value());
  BOOST_TEST(until_marker() == (std::vector<std::string>{""}), boost::test_tools::per_element());
}

// The matcher asks once per distinct topic and criteria and shares the answer among the
// subscriptions that have them: each subscription still gets exactly the events of its own
// filters, in one batch and across batches.
BOOST_AUTO_TEST_CASE(SubscriptionsOfOneTopicKeepTheirOwnFilters) {
  TestServer server;
  auto create = [&](const std::string& encounter) {
    return Json(server.Request("POST", "Subscription", SubscriptionJson("active", encounter)).body).Find("id")->scalar();
  };
  std::string e1 = create("e1");
  std::string e2 = create("e2");
  std::string also_e1 = create("e1");
  auto matcher = OwnMatcher(server, subscriptions::pg::MatcherOptions{});
  PutTask(server, "a", "e1");  // one batch: e1 twice, then e2
  PutTask(server, "b", "e1");
  PutTask(server, "c", "e2");
  BOOST_REQUIRE(matcher->MatchPending().has_value());
  BOOST_TEST(Count(server, e1) == 2);
  BOOST_TEST(Count(server, also_e1) == 2);
  BOOST_TEST(Count(server, e2) == 1);
  PutTask(server, "d", "e2");
  BOOST_REQUIRE(matcher->MatchPending().has_value());
  BOOST_TEST(Count(server, e1) == 2);
  BOOST_TEST(Count(server, e2) == 2);
}

// The counter row is written only once every `maintain_every` numbers; until then the count is
// the highest notification row, for the readers and for a matcher that takes over.
BOOST_AUTO_TEST_CASE(CountsFollowTheRowsWhileTheCounterRowLags) {
  TestServer server;
  std::string id = Json(server.Request("POST", "Subscription", SubscriptionJson("active", "e1")).body).Find("id")->scalar();
  subscriptions::pg::MatcherOptions rarely;
  rarely.maintain_every = 1000000000000;  // never within this test
  {
    auto first = OwnMatcher(server, rarely);
    for (const char* task : {"t1", "t2", "t3"}) {
      PutTask(server, task, "e1");
      BOOST_REQUIRE(first->MatchPending().has_value());
    }
  }
  BOOST_TEST(CounterRow(server, id) == -1);  // not written yet: the rows alone count
  BOOST_TEST(Count(server, id) == 3);
  HttpResult status = server.Request("GET", "Subscription/" + id + "/$status");
  BOOST_REQUIRE(status.status == 200);
  BOOST_TEST(StatusValue(Json(status.body), "events-since-subscription-start") == "3");
  // Another matcher (a node taking over: nothing cached) continues from the rows.
  auto second = OwnMatcher(server, rarely);
  PutTask(server, "t4", "e1");
  PutTask(server, "t5", "e1");
  BOOST_REQUIRE(second->MatchPending().has_value());
  BOOST_TEST(Count(server, id) == 5);
  BOOST_TEST(Numbers(server, id) == (std::vector<std::int64_t>{1, 2, 3, 4, 5}), boost::test_tools::per_element());
}

// Retention runs when a subscription's count crosses its maintenance step, not every batch:
// nothing of the last `retain_events` ever goes, and the count never drops.
BOOST_AUTO_TEST_CASE(RetentionRunsAtTheMaintenanceStep) {
  TestServer server;
  std::string id = Json(server.Request("POST", "Subscription", SubscriptionJson("active", "e1")).body).Find("id")->scalar();
  subscriptions::pg::MatcherOptions options;
  options.maintain_every = 4;
  options.retain_events = 2;
  options.retain_for = std::chrono::seconds(0);
  auto matcher = OwnMatcher(server, options);
  for (int i = 1; i <= 8; ++i) {
    PutTask(server, "t" + std::to_string(i), "e1");
    BOOST_REQUIRE(matcher->MatchPending().has_value());
  }
  BOOST_TEST(Count(server, id) == 8);
  // Two steps crossed in 1..8: the last at some c in 5..8, which kept c-1 and c and all after.
  std::int64_t c = CounterRow(server, id);
  BOOST_TEST(c >= 5);
  BOOST_TEST(c <= 8);
  std::vector<std::int64_t> expected;
  for (std::int64_t n = c - 1; n <= 8; ++n) expected.push_back(n);
  BOOST_TEST(Numbers(server, id) == expected, boost::test_tools::per_element());
}

// The running matcher keeps its parsed subscriptions and counters between batches: a new
// subscription counts from the next event on, one switched off or deleted stops, the others
// go on without a gap or a double.
BOOST_AUTO_TEST_CASE(TheRunningMatchersCacheFollowsSubscriptionChanges) {
  TestServer server;
  auto& matcher = server.subscriptions()->matcher();
  matcher.Start();
  BOOST_REQUIRE(matcher.WaitUntilActive(std::chrono::seconds(10)));
  auto wait_for = [&](const std::string& id, std::int64_t n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (Count(server, id) < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return Count(server, id) == n;
  };
  std::string a = Json(server.Request("POST", "Subscription", SubscriptionJson("active", "e1")).body).Find("id")->scalar();
  PutTask(server, "t1", "e1");
  BOOST_REQUIRE(wait_for(a, 1));
  PutTask(server, "t2", "e1");
  BOOST_REQUIRE(wait_for(a, 2));
  std::string b = Json(server.Request("POST", "Subscription", SubscriptionJson("active", "e1")).body).Find("id")->scalar();
  PutTask(server, "t3", "e1");
  BOOST_REQUIRE(wait_for(b, 1));
  BOOST_TEST(Count(server, a) == 3);
  HttpResult off = server.Request("PUT", "Subscription/" + a,
                                  R"({"id":")" + a + R"(",)" + SubscriptionJson("off", "e1").substr(1));
  BOOST_REQUIRE(off.status == 200);
  PutTask(server, "t4", "e1");
  BOOST_REQUIRE(wait_for(b, 2));
  BOOST_REQUIRE(server.Request("DELETE", "Subscription/" + b).status < 300);
  std::string c = Json(server.Request("POST", "Subscription", SubscriptionJson("active", "e1")).body).Find("id")->scalar();
  PutTask(server, "t5", "e1");
  BOOST_REQUIRE(wait_for(c, 1));
  // New criteria: c now follows e2 only, and d (new, on e1) proves the e1 task was matched.
  HttpResult moved = server.Request("PUT", "Subscription/" + c,
                                    R"({"id":")" + c + R"(",)" + SubscriptionJson("active", "e2").substr(1));
  BOOST_REQUIRE(moved.status == 200);
  std::string d = Json(server.Request("POST", "Subscription", SubscriptionJson("active", "e1")).body).Find("id")->scalar();
  PutTask(server, "t6", "e1");
  BOOST_REQUIRE(wait_for(d, 1));
  BOOST_TEST(Count(server, c) == 1);
  PutTask(server, "t7", "e2");
  BOOST_REQUIRE(wait_for(c, 2));
  matcher.Stop();
  BOOST_TEST(Count(server, a) == 3);
  BOOST_TEST(Count(server, b) == 2);
  BOOST_TEST(Count(server, d) == 1);
  // The numbers are gapless and each once.
  for (const auto& [id, count] : {std::pair{a, 3}, std::pair{b, 2}, std::pair{c, 2}, std::pair{d, 1}}) {
    auto events = server.subscriptions()->notifications().Events(id, 1, 100, 100, false);
    BOOST_REQUIRE(events.has_value());
    BOOST_REQUIRE_EQUAL(events->size(), static_cast<std::size_t>(count));
    for (std::size_t i = 0; i < events->size(); ++i) BOOST_TEST((*events)[i].number == static_cast<std::int64_t>(i + 1));
  }
}

BOOST_AUTO_TEST_CASE(SocketsAtDifferentPlacesShareFramesAndGetEachEventOnce) {
  TestServer server;
  std::string id = Json(server.Request("POST", "Subscription", SubscriptionJson("active", "e1")).body).Find("id")->scalar();
  BOOST_REQUIRE(server.subscriptions()->matcher().MatchPending().has_value());

  // Twenty sockets bound in one go (one token each), all sent before any answer is read.
  std::vector<std::unique_ptr<WsClient>> early;
  for (int i = 0; i < 20; ++i) {
    early.push_back(std::make_unique<WsClient>(ws_test::ConnectTcp(server.port())));
    BOOST_REQUIRE_EQUAL(early.back()->Upgrade("/ws/subscriptions-r4"), 101);
  }
  for (auto& c : early) c->SendText("bind-with-token " + BindingToken(server, id));
  for (auto& c : early) BOOST_TEST(StatusValue(Next(*c), "type") == "handshake");

  PutTask(server, "t1", "e1");
  BOOST_REQUIRE(server.subscriptions()->matcher().MatchPending().has_value());
  for (auto& c : early) BOOST_TEST(StatusValue(Next(*c), "events-since-subscription-start") == "1");

  // A socket bound now starts at 1; the early ones are at 1 as well, and all get 2 and 3 once.
  auto late = std::make_unique<WsClient>(ws_test::ConnectTcp(server.port()));
  BOOST_REQUIRE_EQUAL(late->Upgrade("/ws/subscriptions-r4"), 101);
  late->SendText("bind-with-token " + BindingToken(server, id));
  JsonValue handshake = Next(*late);
  BOOST_TEST(StatusValue(handshake, "events-since-subscription-start") == "1");
  PutTask(server, "t2", "e1");
  PutTask(server, "t3", "e1");
  BOOST_REQUIRE(server.subscriptions()->matcher().MatchPending().has_value());
  early.push_back(std::move(late));
  for (auto& c : early) {
    BOOST_TEST(StatusValue(Next(*c), "events-since-subscription-start") == "2");
    BOOST_TEST(StatusValue(Next(*c), "events-since-subscription-start") == "3");
    c->SendText("ping");
    auto pong = c->NextData();
    BOOST_REQUIRE(pong.has_value());
    BOOST_TEST(pong->payload == "pong");  // nothing else came in between
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
