// subscriptions/engine/rest_hook_request: what each kind of rest-hook subscription is sent —
// Backport notification Bundles for topic-based ones (Content-Type from channel.payload, the
// subscriber's headers, max-count events per request), the R4 forms for classic ones (an empty
// POST without payload; PUT/DELETE [endpoint]/[type]/[id] with one).

#include "subscriptions/engine/rest_hook_request.h"

#include <boost/test/unit_test.hpp>

#include "common/json.h"
#include "fhir/search/search_parameter.h"

namespace {

using subscriptions::HookRequest;
using subscriptions::Interaction;
using subscriptions::NotificationEvent;

const char* kBase = "https://fovea.test/fhir/R4";

subscriptions::SubscriptionSpec Spec(const std::string& json) {
  auto topics = subscriptions::TopicRegistry::BuiltIn();
  subscriptions::SpecContext context{**topics, *fhir::search::SearchParameterRegistry::R4(), kBase};
  auto spec = subscriptions::ParseSubscription(*common::ParseJson(json), context);
  BOOST_REQUIRE_MESSAGE(spec.has_value(), (spec.has_value() ? "" : spec.error().message()));
  return std::move(spec).value();
}

std::string TopicHook(const std::string& extra_channel) {
  return R"({"resourceType":"Subscription","id":"s1","status":"active","reason":"r",
    "criteria":"https://fovea.health/fhir/SubscriptionTopic/Task-changed",
    "channel":{"type":"rest-hook","endpoint":"https://ehr.example/hook","payload":"application/fhir+json;fhirVersion=4.0",
      "header":["Authorization: Bearer abc","X-Site: van-7"])" + extra_channel + "}}";
}

NotificationEvent Event(std::int64_t n, Interaction i, std::string content = "") {
  NotificationEvent e;
  e.number = n;
  e.type = "Task";
  e.id = "t" + std::to_string(n);
  e.version = 1;
  e.interaction = i;
  e.content = std::move(content);
  return e;
}

std::string Header(const HookRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

BOOST_AUTO_TEST_SUITE(RestHookRequests)

BOOST_AUTO_TEST_CASE(TopicBasedSubscriptionsGetNotificationBundles) {
  auto spec = Spec(TopicHook(""));
  subscriptions::SubscriptionStatus status{"s1", "requested", spec.topic->url, 0, ""};
  auto handshake = subscriptions::HandshakeRequest(spec, status, kBase, common::TimePoint{});
  BOOST_REQUIRE(handshake.has_value());
  BOOST_TEST(handshake->method == "POST");
  BOOST_TEST(handshake->url == "https://ehr.example/hook");
  BOOST_TEST(handshake->headers.front().first == "Content-Type");
  BOOST_TEST(Header(*handshake, "Content-Type") == "application/fhir+json;fhirVersion=4.0");
  BOOST_TEST(Header(*handshake, "Authorization") == "Bearer abc");
  BOOST_TEST(Header(*handshake, "X-Site") == "van-7");
  BOOST_TEST(handshake->body.find(R"("valueCode":"handshake")") != std::string::npos);
  auto heartbeat = subscriptions::HeartbeatRequest(spec, status, kBase, common::TimePoint{});
  BOOST_REQUIRE(heartbeat.has_value());
  BOOST_TEST(heartbeat->body.find(R"("valueCode":"heartbeat")") != std::string::npos);

  status.status = "active";
  status.events_since_start = 2;
  HookRequest events = subscriptions::EventRequest(
      spec, status, {Event(1, Interaction::kCreate), Event(2, Interaction::kDelete)}, kBase, common::TimePoint{});
  BOOST_TEST(events.method == "POST");
  auto bundle = common::ParseJson(events.body);
  BOOST_REQUIRE(bundle.has_value());
  BOOST_TEST(bundle->Find("type")->scalar() == "history");
  BOOST_TEST(bundle->Find("entry")->items().size() == 3u);  // status + two events (id-only)
}

BOOST_AUTO_TEST_CASE(MaxCountBoundsTheEventsPerRequest) {
  BOOST_TEST(subscriptions::EventsPerRequest(Spec(TopicHook(""))) == 1u);
  auto spec = Spec(TopicHook(R"(,"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-max-count","valuePositiveInt":25}])"));
  BOOST_TEST(subscriptions::EventsPerRequest(spec) == 25u);
  BOOST_TEST(!subscriptions::NeedsContent(spec));
  auto full = Spec(TopicHook(R"(,"_payload":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content","valueCode":"full-resource"}]})"));
  BOOST_TEST(subscriptions::NeedsContent(full));
}

BOOST_AUTO_TEST_CASE(ClassicWithoutPayloadGetsEmptyPosts) {
  auto spec = Spec(R"({"resourceType":"Subscription","id":"c1","status":"active","reason":"r",
    "criteria":"Task?status=ready","channel":{"type":"rest-hook","endpoint":"https://ehr.example/ping","header":["X-A: 1"]}})");
  subscriptions::SubscriptionStatus status{"c1", "active", "", 1, ""};
  auto handshake = subscriptions::HandshakeRequest(spec, status, kBase, common::TimePoint{});
  BOOST_REQUIRE(handshake.has_value());
  BOOST_TEST(handshake->body.empty());
  BOOST_TEST(Header(*handshake, "Content-Type").empty());
  HookRequest r = subscriptions::EventRequest(spec, status, {Event(1, Interaction::kUpdate, "{}")}, kBase, common::TimePoint{});
  BOOST_TEST(r.method == "POST");
  BOOST_TEST(r.url == "https://ehr.example/ping");
  BOOST_TEST(r.body.empty());
  BOOST_TEST(Header(r, "X-A") == "1");
  BOOST_TEST(!subscriptions::NeedsContent(spec));
}

BOOST_AUTO_TEST_CASE(ClassicWithPayloadSendsTheChangeToAFhirBase) {
  auto spec = Spec(R"({"resourceType":"Subscription","id":"c2","status":"active","reason":"r",
    "criteria":"Task?status=ready","channel":{"type":"rest-hook","endpoint":"https://ehr.example/fhir/","payload":"application/fhir+json"}})");
  subscriptions::SubscriptionStatus status{"c2", "active", "", 1, ""};
  BOOST_TEST(!subscriptions::HandshakeRequest(spec, status, kBase, common::TimePoint{}).has_value());
  BOOST_TEST(!subscriptions::HeartbeatRequest(spec, status, kBase, common::TimePoint{}).has_value());
  BOOST_TEST(subscriptions::NeedsContent(spec));
  BOOST_TEST(subscriptions::EventsPerRequest(spec) == 1u);
  const std::string task = R"({"resourceType":"Task","id":"t1"})";
  HookRequest put = subscriptions::EventRequest(spec, status, {Event(1, Interaction::kUpdate, task)}, kBase, common::TimePoint{});
  BOOST_TEST(put.method == "PUT");
  BOOST_TEST(put.url == "https://ehr.example/fhir/Task/t1");
  BOOST_TEST(put.body == task);
  BOOST_TEST(Header(put, "Content-Type") == "application/fhir+json");
  HookRequest del = subscriptions::EventRequest(spec, status, {Event(1, Interaction::kDelete)}, kBase, common::TimePoint{});
  BOOST_TEST(del.method == "DELETE");
  BOOST_TEST(del.url == "https://ehr.example/fhir/Task/t1");
  BOOST_TEST(del.body.empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
