// The checks the Inferno Subscriptions test kit (server suite, Backport IG 1.1.0 on R4) makes of
// a server, one test per group as /work/shared/design/SUBSCRIPTIONS.md §5 lists them, against a
// real server, PostgreSQL and a real rest-hook endpoint. Inferno drives rest-hook with JSON and
// correlates notifications by the Authorization header it adds to channel.header. The
// handshake/heartbeat group (4) is in rest_hook_httptest.cpp (HandshakeActivates...,
// HeartbeatsGoOnlyToSubscriptionsThatAskForThem); docs/SUBSCRIPTIONS.md maps each check.

#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <vector>

#include "common/json.h"
#include "subscriptions/rest/rest_hook_deliverer.h"
#include "tests/subscriptions/rest/hook_receiver.h"
#include "tests/support/json_reading.h"
#include "tests/support/test_server.h"

namespace {

using common::JsonValue;
using hook_test::HookReceiver;
using hook_test::ReceivedRequest;
using test_support::HttpResult;
using test_support::TestServer;

constexpr const char* kBackport = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/";
constexpr const char* kTopic = "https://fovea.health/fhir/SubscriptionTopic/task-status";

JsonValue Json(const std::string& text) { return test_support::ParseJsonOrFail(text); }

// As Inferno sends it: its endpoint, payload application/fhir+json, a bearer token header.
std::string InfernoSubscription(const std::string& endpoint, const std::string& content,
                                const std::string& extra_channel = "") {
  return std::string(R"({"resourceType":"Subscription",
    "meta":{"profile":["http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription"]},
    "status":"requested","reason":"Inferno","end":"2099-01-01T00:00:00Z","criteria":")") + kTopic + R"(",
    "_criteria":{"extension":[{"url":")" + kBackport + R"(backport-filter-criteria","valueString":"Task?encounter=Encounter/e1"}]},
    "channel":{"type":"rest-hook","endpoint":")" + endpoint + R"(","payload":"application/fhir+json",
      "header":["Authorization: Bearer inferno-notification-token"],
      "_payload":{"extension":[{"url":")" + kBackport + R"(backport-payload-content","valueCode":")" + content +
         R"("}]})" + extra_channel + "}}";
}

class Harness {
 public:
  Harness() {
    subscriptions::RestHookOptions o;
    o.dsn = server.dsn();
    o.base_url = server.base();
    o.backoff_base = std::chrono::milliseconds(0);
    auto topics = subscriptions::TopicRegistry::BuiltIn();
    BOOST_REQUIRE(topics.has_value());
    deliverer = std::make_unique<subscriptions::RestHookDeliverer>(
        **topics, server.registry(), server.store(), server.subscriptions()->notifications(), server.clock(), o);
  }
  // Creates the subscription (Inferno: 201, status requested) and runs its handshake.
  std::string Subscribe(const std::string& body) {
    HttpResult r = server.Request("POST", "Subscription", body);
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    JsonValue created = Json(r.body);
    BOOST_TEST(created.Find("status")->scalar() == "requested");
    BOOST_TEST(created.Find("channel")->Find("type")->scalar() == "rest-hook");
    Deliver();
    return created.Find("id")->scalar();
  }
  void Deliver() {
    auto n = deliverer->DeliverPending();
    BOOST_REQUIRE_MESSAGE(n.has_value(), (n.has_value() ? "" : n.error().message()));
  }
  // A Task in encounter e1 changes status twice: two events of the topic.
  void TriggerEvents() {
    // The session the Tasks belong to: the task-status topic includes it (Task:encounter).
    HttpResult session = server.Request("PUT", "Encounter/e1", R"({"resourceType":"Encounter","id":"e1","status":"in-progress",
        "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"}})");
    BOOST_REQUIRE_MESSAGE(session.status == 200 || session.status == 201, session.body);
    for (const char* status : {"ready", "in-progress"}) {
      HttpResult r = server.Request("PUT", "Task/t1", std::string(R"({"resourceType":"Task","id":"t1","status":")") + status +
                                                          R"(","intent":"order","encounter":{"reference":"Encounter/e1"}})");
      BOOST_REQUIRE_MESSAGE(r.status == 200 || r.status == 201, r.body);
    }
    auto matched = server.subscriptions()->matcher().MatchPending();
    BOOST_REQUIRE(matched.has_value());
    Deliver();
  }
  // No error-level issue when the server's own validator checks `resource`.
  void ExpectValid(const std::string& type, const std::string& resource) {
    HttpResult r = server.Request("POST", type + "/$validate", resource);
    BOOST_TEST(r.status == 200);
    BOOST_TEST_MESSAGE(r.body);
    BOOST_TEST(r.body.find(R"("severity":"error")") == std::string::npos, r.body);
  }

  TestServer server;
  HookReceiver endpoint;
  std::unique_ptr<subscriptions::RestHookDeliverer> deliverer;
};

const JsonValue& StatusParameters(const JsonValue& bundle) {
  return *bundle.Find("entry")->items().front().Find("resource");
}

std::vector<const JsonValue*> Params(const JsonValue& parameters, const std::string& name) {
  std::vector<const JsonValue*> out;
  for (const JsonValue& p : parameters.Find("parameter")->items()) {
    if (p.Find("name")->scalar() == name) out.push_back(&p);
  }
  return out;
}

std::string Code(const JsonValue& parameters, const std::string& name) {
  auto found = Params(parameters, name);
  return found.empty() ? "" : found.front()->Find("valueCode")->scalar();
}

const JsonValue* Part(const JsonValue& param, const std::string& name) {
  for (const JsonValue& part : param.Find("part")->items()) {
    if (part.Find("name")->scalar() == name) return &part;
  }
  return nullptr;
}

// The event-notification requests the endpoint received.
std::vector<ReceivedRequest> EventNotifications(const HookReceiver& endpoint) {
  std::vector<ReceivedRequest> out;
  for (const ReceivedRequest& r : endpoint.received()) {
    if (Code(StatusParameters(Json(r.body)), "type") == "event-notification") out.push_back(r);
  }
  return out;
}

BOOST_AUTO_TEST_SUITE(InfernoSubscriptionsServerSuite)

// 1. Demonstrate the subscription workflow: creation response, notification presence, and
// every check of "Event Notification Verification".
BOOST_AUTO_TEST_CASE(Workflow) {
  Harness h;
  std::string id = h.Subscribe(InfernoSubscription(h.endpoint.url(), "id-only"));
  h.TriggerEvents();
  std::vector<ReceivedRequest> events = EventNotifications(h.endpoint);
  BOOST_REQUIRE(events.size() == 2u);
  for (const ReceivedRequest& r : events) {
    BOOST_TEST(r.Header("content-type").rfind("application/fhir+json", 0) == 0u);
    BOOST_TEST(r.Header("authorization") == "Bearer inferno-notification-token");
    JsonValue bundle = Json(r.body);
    BOOST_TEST(bundle.Find("resourceType")->scalar() == "Bundle");
    BOOST_TEST(bundle.Find("type")->scalar() == "history");
    const auto& entries = bundle.Find("entry")->items();
    BOOST_REQUIRE(!entries.empty());
    const std::string& status_url = entries.front().Find("request")->Find("url")->scalar();
    const std::string suffix = "Subscription/" + id + "/$status";
    BOOST_TEST(status_url.size() >= suffix.size());
    BOOST_TEST(status_url.compare(status_url.size() - suffix.size(), suffix.size(), suffix) == 0);
    for (const JsonValue& e : entries) {
      BOOST_TEST(e.Find("request") != nullptr);
      BOOST_TEST(e.Find("response") != nullptr);
    }
    const JsonValue& params = StatusParameters(bundle);
    BOOST_TEST(params.Find("meta")->Find("profile")->items().front().scalar() ==
               std::string(kBackport) + "backport-subscription-status-r4");
    BOOST_TEST(Code(params, "type") == "event-notification");
    BOOST_TEST(Code(params, "status") == "active");
    const JsonValue* subscription = Params(params, "subscription").front()->Find("valueReference");
    BOOST_TEST(subscription->Find("reference")->scalar() == h.server.base() + "/Subscription/" + id);
    h.ExpectValid("Bundle", r.body);
    h.ExpectValid("Parameters", common::ToJson(params));
  }
}

// 2. Capability Statement: the Subscription entry names the backport profile and every topic.
BOOST_AUTO_TEST_CASE(CapabilityStatement) {
  Harness h;
  HttpResult r = h.server.Request("GET", "metadata");
  BOOST_REQUIRE(r.status == 200);
  JsonValue cs = Json(r.body);
  const JsonValue& rest = cs.Find("rest")->items().front();
  BOOST_TEST(rest.Find("mode")->scalar() == "server");
  const JsonValue* subscription = nullptr;
  for (const JsonValue& res : rest.Find("resource")->items()) {
    if (res.Find("type")->scalar() == "Subscription") subscription = &res;
  }
  BOOST_REQUIRE(subscription != nullptr);
  bool profile = false;
  for (const JsonValue& p : subscription->Find("supportedProfile")->items()) {
    profile = profile || p.scalar() == std::string(kBackport) + "backport-subscription";
  }
  BOOST_TEST(profile);
  bool topic = false;
  for (const JsonValue& ext : subscription->Find("extension")->items()) {
    if (ext.Find("url")->scalar() == std::string(kBackport) + "capabilitystatement-subscriptiontopic-canonical") {
      topic = topic || ext.Find("valueCanonical")->scalar() == kTopic;
    }
  }
  BOOST_TEST(topic);
}

// 3. Payload types: empty, id-only, full-resource.
BOOST_AUTO_TEST_CASE(PayloadEmpty) {
  Harness h;
  h.Subscribe(InfernoSubscription(h.endpoint.url(), "empty"));
  h.TriggerEvents();
  std::vector<ReceivedRequest> events = EventNotifications(h.endpoint);
  BOOST_REQUIRE(!events.empty());
  for (const ReceivedRequest& r : events) {
    JsonValue bundle = Json(r.body);
    BOOST_TEST(bundle.Find("entry")->items().size() == 1u);  // the status only
    const JsonValue& params = StatusParameters(bundle);
    auto notified = Params(params, "notification-event");
    BOOST_REQUIRE(!notified.empty());
    for (const JsonValue* n : notified) {
      BOOST_TEST(Part(*n, "focus") == nullptr);
      BOOST_TEST(Part(*n, "additional-context") == nullptr);
    }
    BOOST_TEST(Params(params, "topic").empty());  // Inferno warns when present
  }
}

BOOST_AUTO_TEST_CASE(PayloadIdOnly) {
  Harness h;
  h.Subscribe(InfernoSubscription(h.endpoint.url(), "id-only"));
  h.TriggerEvents();
  std::vector<ReceivedRequest> events = EventNotifications(h.endpoint);
  BOOST_REQUIRE(!events.empty());
  for (const ReceivedRequest& r : events) {
    JsonValue bundle = Json(r.body);
    auto notified = Params(StatusParameters(bundle), "notification-event");
    BOOST_REQUIRE(!notified.empty());
    for (const JsonValue* n : notified) {
      BOOST_TEST(Part(*n, "focus") != nullptr);
      const JsonValue* context = Part(*n, "additional-context");
      BOOST_REQUIRE(context != nullptr);
      BOOST_TEST(context->Find("valueReference")->Find("reference")->scalar() == h.server.base() + "/Encounter/e1");
    }
    const auto& entries = bundle.Find("entry")->items();
    BOOST_REQUIRE(entries.size() == 3u);  // status, the Task, the Encounter
    for (std::size_t i = 1; i < entries.size(); ++i) {
      BOOST_TEST(entries[i].Find("resource") == nullptr);
      BOOST_TEST(!entries[i].Find("fullUrl")->scalar().empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(PayloadFullResource) {
  Harness h;
  h.Subscribe(InfernoSubscription(h.endpoint.url(), "full-resource"));
  h.TriggerEvents();
  std::vector<ReceivedRequest> events = EventNotifications(h.endpoint);
  BOOST_REQUIRE(!events.empty());
  for (const ReceivedRequest& r : events) {
    JsonValue bundle = Json(r.body);
    const auto& entries = bundle.Find("entry")->items();
    bool task = false;
    bool encounter = false;
    for (const JsonValue* n : Params(StatusParameters(bundle), "notification-event")) {
      BOOST_REQUIRE(Part(*n, "focus") != nullptr);
      for (const JsonValue& part : n->Find("part")->items()) {
        const std::string& name = part.Find("name")->scalar();
        if (name != "focus" && name != "additional-context") continue;
        const std::string& ref = part.Find("valueReference")->Find("reference")->scalar();
        encounter = encounter || ref == h.server.base() + "/Encounter/e1";
        bool resolved = false;
        for (std::size_t i = 1; i < entries.size(); ++i) {
          resolved = resolved || (entries[i].Find("fullUrl")->scalar() == ref && entries[i].Find("resource") != nullptr);
        }
        BOOST_TEST(resolved, ref << " resolves to an entry with its resource");
      }
    }
    BOOST_TEST(encounter);  // the topic's notificationShape include
    for (std::size_t i = 1; i < entries.size(); ++i) {
      const JsonValue* resource = entries[i].Find("resource");
      BOOST_REQUIRE(resource != nullptr);
      task = task || resource->Find("resourceType")->scalar() == "Task";
      h.ExpectValid(resource->Find("resourceType")->scalar(), common::ToJson(*resource));
    }
    BOOST_TEST(task);
    BOOST_TEST(!Params(StatusParameters(bundle), "topic").empty());
  }
}

// 5. $status.
BOOST_AUTO_TEST_CASE(StatusOperation) {
  Harness h;
  std::string id = h.Subscribe(InfernoSubscription(h.endpoint.url(), "id-only"));
  HttpResult r = h.server.Request("GET", "Subscription/" + id + "/$status");
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  JsonValue bundle = Json(r.body);
  BOOST_TEST(bundle.Find("type")->scalar() == "searchset");
  const JsonValue& params = *bundle.Find("entry")->items().front().Find("resource");
  BOOST_TEST(params.Find("resourceType")->scalar() == "Parameters");
  BOOST_TEST(params.Find("meta")->Find("profile")->items().front().scalar() ==
             std::string(kBackport) + "backport-subscription-status-r4");
  const std::string& ref = Params(params, "subscription").front()->Find("valueReference")->Find("reference")->scalar();
  BOOST_TEST(ref.size() > id.size());
  BOOST_TEST(ref.compare(ref.size() - id.size(), id.size(), id) == 0);
  BOOST_TEST(Code(params, "type") == "query-status");
  h.ExpectValid("Bundle", r.body);
}

// 6. Subscription rejection: each unsupported thing is refused (never accepted and ignored).
BOOST_AUTO_TEST_CASE(Rejection) {
  Harness h;
  const std::string ok = InfernoSubscription(h.endpoint.url(), "id-only");
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = ok;
    std::size_t at = s.find(from);
    BOOST_REQUIRE_MESSAGE(at != std::string::npos, from);
    s.replace(at, from.size(), to);
    return s;
  };
  std::vector<std::pair<std::string, std::string>> bad = {
      {"cross-version filter extension",
       replaced(std::string(kBackport) + "backport-filter-criteria",
                "http://hl7.org/fhir/5.0/subscriptions-backport/StructureDefinition/backport-filter-criteria")},
      {"unsupported topic", replaced(kTopic, "https://example.org/SubscriptionTopic/unknown")},
      {"unsupported filter", replaced("Task?encounter=Encounter/e1", "Task?description=x")},
      {"unsupported channel type", replaced(R"("type":"rest-hook")", R"("type":"email")")},
      {"bad endpoint", replaced(h.endpoint.url(), "ftp://ehr.example/hook")},
      {"unsupported payload content", replaced(R"("valueCode":"id-only")", R"("valueCode":"everything")")},
      {"unsupported payload type", replaced(R"("payload":"application/fhir+json")", R"("payload":"text/csv")")},
  };
  for (const auto& [what, body] : bad) {
    HttpResult r = h.server.Request("POST", "Subscription", body);
    BOOST_TEST(r.status == 400, what << ": " << r.status << " " << r.body);
    BOOST_TEST(r.body.find("OperationOutcome") != std::string::npos, what);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
