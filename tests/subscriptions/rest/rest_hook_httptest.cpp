// rest-hook delivery against PostgreSQL and a real HTTP endpoint (HookReceiver): the handshake
// (requested → active, or error), event notifications in order with the subscriber's headers,
// retries with backoff while the endpoint is down, error after the limit and resumption from
// the cursor when the subscriber re-activates, timeouts, heartbeats only when asked for, the
// classic R4 forms, and two deliverers sharing one queue without sending anything twice.
// These are also the checks the Inferno subscriptions kit makes of a rest-hook server
// (docs/SUBSCRIPTIONS.md lists which test covers which).

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/json.h"
#include "subscriptions/rest/rest_hook_deliverer.h"
#include "tests/subscriptions/rest/hook_receiver.h"
#include "tests/subscriptions/rest/notification_reading.h"
#include "tests/support/staff_accounts.h"
#include "tests/support/test_server.h"

namespace {

using common::JsonValue;
using subscription_test::StatusValue;
using hook_test::HookReceiver;
using hook_test::ReceivedRequest;
using subscriptions::RestHookDeliverer;
using subscriptions::RestHookOptions;
using test_support::HttpResult;
using test_support::TestServer;

constexpr const char* kBackport = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/";

JsonValue Json(const std::string& text) { return test_support::ParseJsonOrFail(text); }

RestHookOptions TestOptions() {
  RestHookOptions o;
  o.backoff_base = std::chrono::milliseconds(0);  // a test retries when it chooses
  o.default_timeout = std::chrono::seconds(5);
  o.poll = std::chrono::milliseconds(50);
  return o;
}

std::unique_ptr<RestHookDeliverer> Deliverer(TestServer& server, RestHookOptions o = TestOptions()) {
  o.dsn = server.dsn();
  o.base_url = server.base();
  auto topics = subscriptions::TopicRegistry::BuiltIn();
  BOOST_REQUIRE(topics.has_value());
  return std::make_unique<RestHookDeliverer>(**topics, server.registry(), server.store(),
                                             server.subscriptions()->notifications(), server.clock(), o);
}

std::size_t Deliver(RestHookDeliverer& d) {
  auto n = d.DeliverPending();
  BOOST_REQUIRE_MESSAGE(n.has_value(), (n.has_value() ? "" : n.error().message()));
  return *n;
}

void Match(TestServer& server) {
  auto n = server.subscriptions()->matcher().MatchPending();
  BOOST_REQUIRE_MESSAGE(n.has_value(), (n.has_value() ? "" : n.error().message()));
}

// A topic-based rest-hook Subscription to Task status changes in encounter e1.
std::string TaskHook(const std::string& endpoint, const std::string& channel_extensions = "") {
  return std::string(R"({"resourceType":"Subscription","status":"requested","reason":"EHR feed",
    "criteria":"https://fovea.health/fhir/SubscriptionTopic/task-status",
    "_criteria":{"extension":[{"url":")") + kBackport + R"(backport-filter-criteria","valueString":"Task?encounter=Encounter/e1"}]},
    "channel":{"type":"rest-hook","endpoint":")" + endpoint + R"(","payload":"application/fhir+json",
      "header":["Authorization: Bearer notification-token-7"],
      "_payload":{"extension":[{"url":")" + kBackport + R"(backport-payload-content","valueCode":"id-only"}]})" +
         (channel_extensions.empty() ? "" : ",\"extension\":[" + channel_extensions + "]") + "}}";
}

std::string Task(const std::string& id, const std::string& status) {
  return R"({"resourceType":"Task","id":")" + id + R"(","status":")" + status +
         R"(","intent":"order","encounter":{"reference":"Encounter/e1"}})";
}

std::string Create(TestServer& server, const std::string& body) {
  HttpResult r = server.Request("POST", "Subscription", body);
  BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
  // Inferno: the create answer shows the subscription `requested` until its handshake.
  BOOST_TEST(Json(r.body).Find("status")->scalar() == "requested");
  return Json(r.body).Find("id")->scalar();
}

JsonValue Read(TestServer& server, const std::string& id) {
  HttpResult r = server.Request("GET", "Subscription/" + id);
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  return Json(r.body);
}

void Put(TestServer& server, const std::string& path, const std::string& body) {
  HttpResult r = server.Request("PUT", path, body);
  BOOST_REQUIRE_MESSAGE(r.status == 200 || r.status == 201, r.body);
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

// Every event number the requests carried, in the order they arrived.
std::vector<std::string> DeliveredNumbers(const std::vector<ReceivedRequest>& requests) {
  std::vector<std::string> out;
  for (const ReceivedRequest& r : requests) {
    JsonValue bundle = Json(r.body);
    if (StatusValue(bundle, "type") != "event-notification") continue;
    for (const std::string& n : EventNumbers(bundle)) out.push_back(n);
  }
  return out;
}

BOOST_AUTO_TEST_SUITE(RestHooks)

BOOST_AUTO_TEST_CASE(HandshakeActivatesAndEventsArriveInOrderWithTheSubscribersHeaders) {
  TestServer server;
  HookReceiver endpoint;
  auto deliverer = Deliverer(server);
  std::string id = Create(server, TaskHook(endpoint.url()));
  BOOST_TEST(Deliver(*deliverer) == 1u);
  BOOST_REQUIRE(endpoint.count() == 1u);
  ReceivedRequest handshake = endpoint.received()[0];
  BOOST_TEST(handshake.method == "POST");
  BOOST_TEST(handshake.path == "/hook");
  BOOST_TEST(handshake.Header("content-type") == "application/fhir+json");
  BOOST_TEST(handshake.Header("authorization") == "Bearer notification-token-7");
  JsonValue hs = Json(handshake.body);
  BOOST_TEST(hs.Find("type")->scalar() == "history");
  BOOST_TEST(StatusValue(hs, "type") == "handshake");
  BOOST_TEST(StatusValue(hs, "status") == "requested");  // Inferno: the handshake says requested
  BOOST_TEST(StatusValue(hs, "events-since-subscription-start") == "0");
  BOOST_TEST(Read(server, id).Find("status")->scalar() == "active");

  Put(server, "Task/t1", Task("t1", "ready"));
  Put(server, "Task/t1", Task("t1", "in-progress"));
  Put(server, "Task/t1", Task("t1", "in-progress"));  // no status change: not an event of the topic
  Match(server);
  BOOST_TEST(Deliver(*deliverer) == 2u);
  std::vector<ReceivedRequest> got = endpoint.received();
  BOOST_REQUIRE(got.size() == 3u);
  BOOST_TEST(DeliveredNumbers(got) == (std::vector<std::string>{"1", "2"}));
  for (std::size_t i = 1; i < got.size(); ++i) {
    JsonValue b = Json(got[i].body);
    BOOST_TEST(got[i].Header("authorization") == "Bearer notification-token-7");
    BOOST_TEST(StatusValue(b, "status") == "active");
    BOOST_TEST(StatusValue(b, "events-since-subscription-start") == std::to_string(i));
    const JsonValue& entry = b.Find("entry")->items()[1];
    BOOST_TEST(entry.Find("fullUrl")->scalar() == server.base() + "/Task/t1");
    BOOST_TEST(entry.Find("resource") == nullptr);  // id-only
    BOOST_TEST(entry.Find("request") != nullptr);
    BOOST_TEST(entry.Find("response") != nullptr);
  }
  BOOST_TEST(Deliver(*deliverer) == 0u);  // nothing twice
}

// The rest-hook workers are woken (NOTIFY fovea_rest_hook) by the matcher's batches that
// numbered a rest-hook subscription's events, and only by those: a WebSocket subscription's
// events must not cost every worker a claim transaction.
BOOST_AUTO_TEST_CASE(OnlyARestHookSubscriptionsNumbersWakeTheRestHookWorkers) {
  TestServer server;
  HookReceiver endpoint;
  auto deliverer = Deliverer(server);
  Create(server, TaskHook(endpoint.url()));  // encounter e1
  BOOST_REQUIRE(Deliver(*deliverer) == 1u);  // the handshake: active
  HttpResult ws = server.Request("POST", "Subscription", std::string(R"({"resourceType":"Subscription",
    "status":"active","reason":"a tablet","criteria":"https://fovea.health/fhir/SubscriptionTopic/task-status",
    "_criteria":{"extension":[{"url":")") + kBackport + R"(backport-filter-criteria","valueString":"Task?encounter=Encounter/e2"}]},
    "channel":{"type":"websocket","payload":"application/fhir+json",
      "_payload":{"extension":[{"url":")" + kBackport + R"(backport-payload-content","valueCode":"id-only"}]}}})");
  BOOST_REQUIRE_MESSAGE(ws.status == 201, ws.body);
  Match(server);

  auto listener = fhir::store::pg::PgConnection::Connect(server.dsn());
  auto other = fhir::store::pg::PgConnection::Connect(server.dsn());
  BOOST_REQUIRE((listener.has_value() && other.has_value()));
  BOOST_REQUIRE((*listener)->ExecuteUnprepared({"test.listen", "LISTEN fovea_rest_hook"}, {}).has_value());
  auto wake_ups_until_marker = [&] {
    return subscription_test::NotifiedUntilMarker(**listener, **other, "fovea_rest_hook").size();
  };

  Put(server, "Task/tablet-only", R"({"resourceType":"Task","id":"tablet-only","status":"ready","intent":"order",
    "encounter":{"reference":"Encounter/e2"}})");
  Match(server);
  BOOST_TEST(wake_ups_until_marker() == 0u);
  // ... although the batch numbered an event, the tablet's.
  std::string tablet = Json(ws.body).Find("id")->scalar();
  auto counts = server.subscriptions()->notifications().EventCounts({tablet});
  BOOST_REQUIRE(counts.has_value());
  BOOST_TEST(counts->count(tablet) == 1u);
  if (counts->count(tablet) != 0) BOOST_TEST(counts->at(tablet) == 1);

  Put(server, "Task/t1", Task("t1", "ready"));  // encounter e1: the hook's
  Match(server);
  BOOST_TEST(wake_ups_until_marker() == 1u);
  BOOST_TEST(Deliver(*deliverer) == 1u);
  BOOST_TEST(DeliveredNumbers(endpoint.received()) == (std::vector<std::string>{"1"}));
}

BOOST_AUTO_TEST_CASE(AFailedHandshakePutsTheSubscriptionInErrorWithTheReason) {
  TestServer server;
  HookReceiver endpoint;
  endpoint.Answer(500);
  auto deliverer = Deliverer(server);
  std::string id = Create(server, TaskHook(endpoint.url()));
  Deliver(*deliverer);
  BOOST_TEST(endpoint.count() == 1u);
  JsonValue sub = Read(server, id);
  BOOST_TEST(sub.Find("status")->scalar() == "error");
  BOOST_REQUIRE(sub.Find("error") != nullptr);
  BOOST_TEST(sub.Find("error")->scalar().find("HTTP 500") != std::string::npos);
  BOOST_TEST(Deliver(*deliverer) == 0u);  // error: nothing more until the subscriber acts
  BOOST_TEST(endpoint.count() == 1u);
}

BOOST_AUTO_TEST_CASE(AuditedStatusWritesCarryTheirProvenance) {
  // Auth on: the status the deliverer writes after the handshake is audited as a client's write
  // is, the deliverer as the agent.
  TestServer server;
  HookReceiver endpoint;
  RestHookOptions options = TestOptions();
  options.audit_observer = "Fovea test";
  // Stored as a resource, so that this server (auth off: it serves no Provenance from the
  // audit trail) finds it; the audit-trail kind is the same row (audit_recording_test).
  options.provenance = fhir::audit::ProvenanceStorage::kResource;
  auto deliverer = Deliverer(server, options);
  std::string id = Create(server, TaskHook(endpoint.url()));
  BOOST_TEST(Deliver(*deliverer) == 1u);
  JsonValue sub = Read(server, id);
  BOOST_REQUIRE(sub.Find("status")->scalar() == "active");
  const std::string version = sub.Find("meta")->Find("versionId")->scalar();
  JsonValue found = Json(server.Request("GET", "Provenance?target=Subscription/" + id).body);
  BOOST_REQUIRE(found.Find("entry") != nullptr);
  BOOST_REQUIRE_EQUAL(found.Find("entry")->items().size(), 1u);  // the client's create is not audited here
  const JsonValue& p = *found.Find("entry")->items().front().Find("resource");
  BOOST_TEST(p.Find("target")->items().front().Find("reference")->scalar() ==
             "Subscription/" + id + "/_history/" + version);
  BOOST_TEST(p.Find("agent")->items().front().Find("who")->Find("display")->scalar() == "Fovea rest-hook deliverer");
  BOOST_TEST(p.Find("activity")->Find("coding")->items().front().Find("code")->scalar() == "UPDATE");
}

BOOST_AUTO_TEST_CASE(AnEndpointThatIsDownGetsEveryEventInOrderWhenItIsBack) {
  TestServer server;
  HookReceiver endpoint;
  auto deliverer = Deliverer(server);
  Create(server, TaskHook(endpoint.url()));
  Deliver(*deliverer);
  endpoint.Answer(503);
  for (const char* status : {"ready", "in-progress", "completed"}) Put(server, "Task/t1", Task("t1", status));
  Match(server);
  Deliver(*deliverer);  // the first attempt fails: DeliverPending stops there
  Deliver(*deliverer);  // and a retry (backoff 0 here)
  BOOST_TEST(endpoint.count() == 3u);
  endpoint.Answer(200);
  BOOST_TEST(Deliver(*deliverer) == 3u);
  std::vector<ReceivedRequest> got = endpoint.received();
  // The failed attempts carried event 1; then 1, 2, 3 each once after recovery.
  std::vector<std::string> numbers = DeliveredNumbers(got);
  BOOST_TEST(numbers == (std::vector<std::string>{"1", "1", "1", "2", "3"}));
}

BOOST_AUTO_TEST_CASE(PersistentFailureEndsInErrorAndReactivationResumesFromTheCursor) {
  TestServer server;
  HookReceiver endpoint;
  RestHookOptions options = TestOptions();
  options.max_attempts = 3;
  auto deliverer = Deliverer(server, options);
  std::string id = Create(server, TaskHook(endpoint.url()));
  Deliver(*deliverer);
  endpoint.Answer(500);
  Put(server, "Task/t1", Task("t1", "ready"));
  Put(server, "Task/t2", Task("t2", "ready"));
  Match(server);
  for (int i = 0; i < 3; ++i) Deliver(*deliverer);
  JsonValue sub = Read(server, id);
  BOOST_TEST(sub.Find("status")->scalar() == "error");
  BOOST_TEST(sub.Find("error")->scalar().find("3 times") != std::string::npos);
  // In error the matcher keeps counting (the subscriber sees what it missed in $status).
  Put(server, "Task/t3", Task("t3", "ready"));
  Match(server);
  HttpResult status = server.Request("GET", "Subscription/" + id + "/$status");
  BOOST_TEST(status.body.find(R"("events-since-subscription-start","valueString":"3")") != std::string::npos);

  // The subscriber fixes its endpoint and asks again: handshake, then 1, 2, 3 in order.
  endpoint.Answer(200);
  std::size_t before = endpoint.count();
  std::string again = server.Request("GET", "Subscription/" + id).body;
  std::size_t at = again.find(R"("status":"error")");
  BOOST_REQUIRE(at != std::string::npos);
  again.replace(at, std::string(R"("status":"error")").size(), R"("status":"requested")");
  Put(server, "Subscription/" + id, again);
  BOOST_TEST(Deliver(*deliverer) == 4u);
  std::vector<ReceivedRequest> got = endpoint.received();
  got.erase(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(before));
  BOOST_REQUIRE(got.size() == 4u);
  JsonValue hs = Json(got[0].body);
  BOOST_TEST(StatusValue(hs, "type") == "handshake");
  BOOST_TEST(StatusValue(hs, "events-since-subscription-start") == "3");
  BOOST_TEST(DeliveredNumbers(got) == (std::vector<std::string>{"1", "2", "3"}));
  JsonValue active = Read(server, id);
  BOOST_TEST(active.Find("status")->scalar() == "active");
  BOOST_TEST(active.Find("error") == nullptr);
}

BOOST_AUTO_TEST_CASE(ASubscriptionPastItsEndIsSwitchedOff) {
  TestServer server;
  HookReceiver endpoint;
  auto deliverer = Deliverer(server);
  std::string body = TaskHook(endpoint.url());
  body.insert(body.find(R"("reason")"), R"("end":"2020-01-01T00:00:00Z",)");
  std::string id = Create(server, body);
  Deliver(*deliverer);
  BOOST_TEST(endpoint.count() == 0u);
  BOOST_TEST(Read(server, id).Find("status")->scalar() == "off");
}

BOOST_AUTO_TEST_CASE(ASubscribersTimeoutIsHonoured) {
  TestServer server;
  HookReceiver endpoint;
  endpoint.Hold();
  auto deliverer = Deliverer(server);
  std::string id = Create(server, TaskHook(endpoint.url(), std::string(R"({"url":")") + kBackport +
                                                               R"(backport-timeout","valueUnsignedInt":1})"));
  Deliver(*deliverer);  // returns after the subscription's 1 s, not the default 5 s
  endpoint.Release();
  JsonValue sub = Read(server, id);
  BOOST_TEST(sub.Find("status")->scalar() == "error");
  BOOST_TEST(sub.Find("error")->scalar().find("did not answer") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(HeartbeatsGoOnlyToSubscriptionsThatAskForThem) {
  TestServer server;
  HookReceiver with_heartbeat;
  HookReceiver without;
  Create(server, TaskHook(with_heartbeat.url(), std::string(R"({"url":")") + kBackport +
                                                    R"(backport-heartbeat-period","valueUnsignedInt":1})"));
  Create(server, TaskHook(without.url()));
  auto deliverer = Deliverer(server);
  deliverer->Start();
  auto heartbeats = [](const std::vector<ReceivedRequest>& got) {
    return std::count_if(got.begin(), got.end(), [](const ReceivedRequest& r) {
      return StatusValue(Json(r.body), "type") == "heartbeat";
    });
  };
  BOOST_TEST(with_heartbeat.WaitUntil([&](const auto& got) { return heartbeats(got) >= 2; }));
  deliverer->Stop();
  std::vector<ReceivedRequest> got = with_heartbeat.received();
  JsonValue beat = Json(got.back().body);
  BOOST_TEST(StatusValue(beat, "status") == "active");
  BOOST_TEST(StatusValue(beat, "events-since-subscription-start") == "0");
  std::vector<ReceivedRequest> other = without.received();
  BOOST_REQUIRE(other.size() == 1u);  // its handshake only, over the same seconds
  BOOST_TEST(StatusValue(Json(other[0].body), "type") == "handshake");
}

BOOST_AUTO_TEST_CASE(ClassicSubscriptionsGetTheR4Forms) {
  TestServer server;
  HookReceiver ping;
  HookReceiver base;
  // Without a payload: an empty POST (the handshake, then one per event).
  std::string ping_id = Create(server, R"({"resourceType":"Subscription","status":"requested","reason":"r",
      "criteria":"Task?status=ready","channel":{"type":"rest-hook","endpoint":")" + ping.url() + R"("}})");
  // With one: the endpoint is a FHIR base that receives each change as an update or a delete.
  std::string base_id = Create(server, R"({"resourceType":"Subscription","status":"requested","reason":"r",
      "criteria":"Task?status=ready","channel":{"type":"rest-hook","endpoint":")" + base.url("/fhir") +
      R"(","payload":"application/fhir+json","header":["X-Feed: 1"]}})");
  auto deliverer = Deliverer(server);
  Deliver(*deliverer);
  BOOST_TEST(Read(server, ping_id).Find("status")->scalar() == "active");
  BOOST_TEST(Read(server, base_id).Find("status")->scalar() == "active");
  BOOST_TEST(base.count() == 0u);  // no handshake in that form
  BOOST_REQUIRE(ping.count() == 1u);
  BOOST_TEST(ping.received()[0].body.empty());

  Put(server, "Task/t9", Task("t9", "ready"));
  HttpResult deleted = server.Request("DELETE", "Task/t9");
  BOOST_REQUIRE(deleted.status == 200 || deleted.status == 204);
  Match(server);
  Deliver(*deliverer);
  BOOST_REQUIRE(ping.count() == 3u);  // the handshake, the create, the delete
  for (std::size_t i = 1; i < 3; ++i) {
    BOOST_TEST(ping.received()[i].method == "POST");
    BOOST_TEST(ping.received()[i].body.empty());
  }
  BOOST_REQUIRE(base.count() == 2u);
  ReceivedRequest update = base.received()[0];
  BOOST_TEST(update.method == "PUT");
  BOOST_TEST(update.path == "/fhir/Task/t9");
  BOOST_TEST(update.Header("x-feed") == "1");
  BOOST_TEST(update.Header("content-type") == "application/fhir+json");
  BOOST_TEST(Json(update.body).Find("status")->scalar() == "ready");
  BOOST_TEST(base.received()[1].method == "DELETE");
  BOOST_TEST(base.received()[1].path == "/fhir/Task/t9");
}

BOOST_AUTO_TEST_CASE(TwoDeliverersShareTheQueueAndSendEachEventOnceInOrder) {
  TestServer server;
  HookReceiver endpoint;
  Create(server, TaskHook(endpoint.url()));
  RestHookOptions options = TestOptions();
  options.backoff_base = std::chrono::milliseconds(20);
  auto node_a = Deliverer(server, options);
  auto node_b = Deliverer(server, options);
  Deliver(*node_a);  // the handshake: active before the writes (a requested one gets no events)
  BOOST_REQUIRE(endpoint.count() == 1u);
  node_a->Start();
  node_b->Start();
  // The endpoint fails now and then: the retries keep the order.
  constexpr int kEvents = 20;
  endpoint.Answer(503);
  for (int i = 0; i < kEvents; ++i) Put(server, "Task/t" + std::to_string(i), Task("t" + std::to_string(i), "ready"));
  Match(server);
  BOOST_REQUIRE(endpoint.WaitFor(3));  // the handshake and two failed attempts
  endpoint.Answer(200);
  BOOST_TEST(endpoint.WaitUntil([&](const auto& got) {
    std::set<std::string> ok;
    for (const std::string& n : DeliveredNumbers(got)) ok.insert(n);
    return ok.size() == static_cast<std::size_t>(kEvents);
  }));
  node_a->Stop();
  node_b->Stop();
  std::vector<std::string> numbers = DeliveredNumbers(endpoint.received());
  // In arrival order: never backwards; a number repeats only as the retry of a failed attempt.
  long last = 0;
  for (const std::string& n : numbers) {
    long v = std::stol(n);
    BOOST_TEST(v >= last);
    BOOST_TEST(v <= last + 1);
    last = v;
  }
  BOOST_TEST(last == kEvents);
}

// --- what a rest-hook may carry: the registrant's access -----------------------------------

// A Secured server with one staff account per name (role as given).
struct Staffed {
  explicit Staffed(const std::vector<std::pair<std::string, std::string>>& people)
      : server(TestServer::Secured{}), staff(server, people) {}
  HttpResult As(const std::string& user, const std::string& method, const std::string& path,
                const std::string& body = "") {
    return staff.As(user, method, path, body);
  }
  TestServer server;
  test_support::StaffAccounts staff;
};

// A full-resource rest-hook Subscription to every change of `type`.
std::string FullHook(const std::string& type, const std::string& endpoint, const std::string& extension = "") {
  return std::string(R"({"resourceType":"Subscription","status":"requested","reason":"feed",)") +
         (extension.empty() ? "" : "\"extension\":[" + extension + "],") +
         R"("criteria":"https://fovea.health/fhir/SubscriptionTopic/)" + type + R"(-changed",
    "channel":{"type":"rest-hook","endpoint":")" + endpoint + R"(","payload":"application/fhir+json",
      "_payload":{"extension":[{"url":")" + kBackport + R"(backport-payload-content","valueCode":"full-resource"}]}}})";
}

// The resource entries of the event notifications an endpoint got: fullUrl -> has a resource.
std::vector<std::pair<std::string, bool>> EventEntries(const std::vector<ReceivedRequest>& requests) {
  std::vector<std::pair<std::string, bool>> out;
  for (const ReceivedRequest& r : requests) {
    JsonValue b = Json(r.body);
    if (StatusValue(b, "type") != "event-notification") continue;
    const auto& entries = b.Find("entry")->items();
    for (std::size_t i = 1; i < entries.size(); ++i) {
      out.emplace_back(entries[i].Find("fullUrl")->scalar(), entries[i].Find("resource") != nullptr);
    }
  }
  return out;
}

const char* kCondition = R"({"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"},
  "code":{"text":"Myopia"}})";

BOOST_AUTO_TEST_CASE(AFullResourceHookCarriesOnlyWhatItsRegistrantMayRead) {
  Staffed unit({{"tech", "technician"}, {"doc", "doctor"}, {"admin", "admin"}});
  HookReceiver tech_endpoint;
  HookReceiver doc_endpoint;
  auto deliverer = Deliverer(unit.server);
  // A technician may not read Conditions; a doctor may. Both subscribe to every Condition change.
  HttpResult tech_sub = unit.As("tech", "POST", "Subscription", FullHook("Condition", tech_endpoint.url()));
  BOOST_REQUIRE_MESSAGE(tech_sub.status == 201, tech_sub.body);
  HttpResult doc_sub = unit.As("doc", "POST", "Subscription", FullHook("Condition", doc_endpoint.url()));
  BOOST_REQUIRE_MESSAGE(doc_sub.status == 201, doc_sub.body);
  BOOST_TEST(Deliver(*deliverer) == 2u);  // the handshakes

  HttpResult written = unit.As("admin", "PUT", "Condition/c1", kCondition);
  BOOST_REQUIRE_MESSAGE(written.status == 201, written.body);
  Match(unit.server);
  BOOST_TEST(Deliver(*deliverer) == 2u);
  using Entries = std::vector<std::pair<std::string, bool>>;
  const std::string url = unit.server.base() + "/Condition/c1";
  BOOST_TEST(EventEntries(tech_endpoint.received()) == (Entries{{url, false}}));  // the id only
  BOOST_TEST(EventEntries(doc_endpoint.received()) == (Entries{{url, true}}));    // in full
}

// A granular scope narrows what a hook carries in full to the resources its query matches.
BOOST_AUTO_TEST_CASE(AGranularRegistrantGetsInFullOnlyWhatItsQueryMatches) {
  Staffed unit({{"doc", "doctor"}, {"admin", "admin"}});
  HookReceiver endpoint;
  auto deliverer = Deliverer(unit.server);
  const std::string category = "http://terminology.hl7.org/CodeSystem/condition-category";
  std::string token = unit.staff.Token("doc", "user/Condition.rs?category=" + category +
                                                  "|encounter-diagnosis user/Subscription.crud");
  HttpResult created = unit.server.Request("POST", "Subscription", FullHook("Condition", endpoint.url()),
                                           {{"Authorization", "Bearer " + token},
                                            {"Content-Type", "application/fhir+json"}});
  BOOST_REQUIRE_MESSAGE(created.status == 201, created.body);
  BOOST_TEST(Deliver(*deliverer) == 1u);
  auto condition = [&](const std::string& id, const std::string& code) {
    return R"({"resourceType":"Condition","id":")" + id + R"(","category":[{"coding":[{"system":")" +
           category + R"(","code":")" + code + R"("}]}],"subject":{"reference":"Patient/p1"},"code":{"text":"x"}})";
  };
  BOOST_REQUIRE(unit.As("admin", "PUT", "Condition/in", condition("in", "encounter-diagnosis")).status == 201);
  BOOST_REQUIRE(unit.As("admin", "PUT", "Condition/out", condition("out", "problem-list-item")).status == 201);
  Match(unit.server);
  BOOST_TEST(Deliver(*deliverer) >= 1u);
  using Entries = std::vector<std::pair<std::string, bool>>;
  BOOST_TEST(EventEntries(endpoint.received()) ==
             (Entries{{unit.server.base() + "/Condition/in", true}, {unit.server.base() + "/Condition/out", false}}));
}

BOOST_AUTO_TEST_CASE(TheRegistrantStampIsTheServersNotTheClients) {
  Staffed unit({{"tech", "technician"}, {"admin", "admin"}});
  HookReceiver endpoint;
  auto deliverer = Deliverer(unit.server);
  // A forged stamp claiming every scope is replaced with the writer's own access.
  std::string forged = std::string(R"({"url":")") + subscriptions::kRegistrantExtension +
                       R"(","valueString":"{\"kind\":\"user\",\"scopes\":\"user/*.cruds\"}"})";
  HttpResult created = unit.As("tech", "POST", "Subscription", FullHook("Condition", endpoint.url(), forged));
  BOOST_REQUIRE_MESSAGE(created.status == 201, created.body);
  JsonValue stored = Json(created.body);
  const JsonValue* extensions = stored.Find("extension");
  BOOST_REQUIRE(extensions != nullptr);
  BOOST_REQUIRE(extensions->items().size() == 1u);
  std::string stamp = extensions->items()[0].Find("valueString")->scalar();
  BOOST_TEST(stamp.find("user/*.cruds") == std::string::npos);
  BOOST_TEST(stamp.find("user/Observation.crus") != std::string::npos);
  // Sending back what was read (stamp included) is accepted, and stamps the writer again.
  HttpResult again = unit.As("tech", "PUT", "Subscription/" + stored.Find("id")->scalar(), common::ToJson(stored));
  BOOST_REQUIRE_MESSAGE(again.status == 200, again.body);
  BOOST_TEST(Json(again.body).Find("extension")->items().size() == 1u);
  BOOST_TEST(Deliver(*deliverer) == 1u);
  BOOST_REQUIRE(unit.As("admin", "PUT", "Condition/c1", kCondition).status == 201);
  Match(unit.server);
  BOOST_TEST(Deliver(*deliverer) == 1u);
  auto entries = EventEntries(endpoint.received());
  BOOST_REQUIRE(entries.size() == 1u);
  BOOST_TEST(!entries[0].second);  // the forged scopes bought nothing
}

BOOST_AUTO_TEST_CASE(WithAuthOnAnUnstampedSubscriptionGetsIdsOnly) {
  TestServer server;  // --auth off: no stamp is written
  HookReceiver endpoint;
  RestHookOptions strict = TestOptions();
  strict.require_registrant = true;  // as `fovea serve` sets it with auth on
  auto deliverer = Deliverer(server, strict);
  std::string id = Create(server, FullHook("Condition", endpoint.url()));
  BOOST_TEST(Read(server, id).Find("extension") == nullptr);
  BOOST_TEST(Deliver(*deliverer) == 1u);
  Put(server, "Condition/c1", kCondition);
  Match(server);
  BOOST_TEST(Deliver(*deliverer) == 1u);
  auto entries = EventEntries(endpoint.received());
  BOOST_REQUIRE(entries.size() == 1u);
  BOOST_TEST(!entries[0].second);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
