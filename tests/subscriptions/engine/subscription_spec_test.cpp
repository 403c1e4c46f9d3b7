// subscriptions/engine: the built-in topics, and reading R4 Backport and classic Subscriptions,
// with everything Fovea cannot honour refused (the checks the Inferno test kit makes).

#include "subscriptions/engine/subscription_spec.h"

#include <boost/test/unit_test.hpp>

namespace {

using subscriptions::ChannelType;
using subscriptions::PayloadContent;
using subscriptions::TopicRegistry;

const TopicRegistry& BuiltInTopics() {
  auto t = TopicRegistry::BuiltIn();
  BOOST_REQUIRE_MESSAGE(t.has_value(), (t.has_value() ? "" : t.error().message()));
  return **t;
}

subscriptions::SpecContext Context() {
  return {BuiltInTopics(), *fhir::search::SearchParameterRegistry::R4(), "https://fovea.test/fhir/R4"};
}

common::Result<subscriptions::SubscriptionSpec> Parse(const std::string& json) {
  auto parsed = common::ParseJson(json);
  BOOST_REQUIRE_MESSAGE(parsed.has_value(), json);
  return subscriptions::ParseSubscription(*parsed, Context());
}

// A backport subscription to `topic` with `filters` (backport-filter-criteria values) and a
// channel given as JSON.
std::string Backport(const std::string& topic, const std::vector<std::string>& filters,
                     const std::string& channel) {
  std::string ext;
  for (const std::string& f : filters) {
    ext += std::string(ext.empty() ? "" : ",") +
           R"({"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria","valueString":")" +
           f + "\"}";
  }
  return R"({"resourceType":"Subscription","id":"s1","status":"requested","reason":"test",
    "criteria":")" + topic + R"(","_criteria":{"extension":[)" + ext + R"(]},"channel":)" + channel + "}";
}

const char* kWebSocketIdOnly = R"({"type":"websocket","payload":"application/fhir+json",
  "_payload":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content","valueCode":"id-only"}]}})";

BOOST_AUTO_TEST_SUITE(SubscriptionTopics)

BOOST_AUTO_TEST_CASE(BuiltInTopicsFollowOnePattern) {
  const auto* task = BuiltInTopics().Find("https://fovea.health/fhir/SubscriptionTopic/task-status");
  BOOST_REQUIRE(task != nullptr);
  BOOST_TEST(task->TriggerFor("Task") != nullptr);
  BOOST_TEST(task->TriggerFor("Task")->fhirpath != nullptr);
  BOOST_TEST(task->FilterParameterFor("encounter", "Task").value() == "encounter");
  BOOST_TEST(!task->FilterParameterFor("identifier", "Task").has_value());
  const auto* obs = BuiltInTopics().Find("https://fovea.health/fhir/SubscriptionTopic/Observation-changed");
  BOOST_REQUIRE(obs != nullptr);
  BOOST_TEST(obs->FilterParameterFor("code", "Observation").value() == "code");  // any parameter
  const auto* session = BuiltInTopics().Find("https://fovea.health/fhir/SubscriptionTopic/screening-session");
  BOOST_REQUIRE(session != nullptr);
  BOOST_TEST(session->FilterParameterFor("encounter", "Encounter").value() == "_id");
  BOOST_TEST(session->FilterParameterFor("encounter", "VisionPrescription").value() == "encounter");
  BOOST_TEST(BuiltInTopics().topics().size() > 146u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(SubscriptionSpec)

BOOST_AUTO_TEST_CASE(BackportSubscriptionsAreRead) {
  auto spec = Parse(Backport("https://fovea.health/fhir/SubscriptionTopic/task-status",
                             {"Task?encounter=Encounter/e1", "Task.status=ready,in-progress"},
                             kWebSocketIdOnly));
  BOOST_REQUIRE_MESSAGE(spec.has_value(), (spec.has_value() ? "" : spec.error().message()));
  BOOST_TEST(spec->topic_based());
  BOOST_TEST((spec->channel == ChannelType::kWebSocket));
  BOOST_TEST((spec->content == PayloadContent::kIdOnly));
  const auto* task = spec->FiltersFor("Task");
  BOOST_REQUIRE(task != nullptr);
  BOOST_TEST(task->query.clauses.size() == 2u);  // ANDed
  BOOST_TEST(spec->filter_texts.size() == 2u);

  // The session topic: one filter, mapped per type (the Encounter by its id).
  auto session = Parse(Backport("https://fovea.health/fhir/SubscriptionTopic/screening-session",
                                {"encounter=Encounter/e1"}, kWebSocketIdOnly));
  BOOST_REQUIRE_MESSAGE(session.has_value(), (session.has_value() ? "" : session.error().message()));
  BOOST_TEST(session->FiltersFor("Encounter")->query.clauses.front().name == "_id");
  BOOST_TEST(session->FiltersFor("Encounter")->query.clauses.front().values.front() == "e1");
  BOOST_TEST(session->FiltersFor("Observation")->query.clauses.front().name == "encounter");
}

BOOST_AUTO_TEST_CASE(RestHookChannelsCarryTheirSettings) {
  auto spec = Parse(Backport(
      "https://fovea.health/fhir/SubscriptionTopic/Encounter-changed", {"Encounter?status=finished"},
      R"({"type":"rest-hook","endpoint":"https://ehr.example/hook","payload":"application/fhir+json",
          "header":["Authorization: Bearer abc","X-Unit: van-7"],
          "extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period","valueUnsignedInt":60},
                       {"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-timeout","valueUnsignedInt":10},
                       {"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-max-count","valuePositiveInt":20}],
          "_payload":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content","valueCode":"full-resource"}]}})"));
  BOOST_REQUIRE_MESSAGE(spec.has_value(), (spec.has_value() ? "" : spec.error().message()));
  BOOST_TEST((spec->channel == ChannelType::kRestHook));
  BOOST_TEST(spec->endpoint == "https://ehr.example/hook");
  BOOST_TEST(spec->headers.size() == 2u);
  BOOST_TEST(spec->headers[0].first == "Authorization");
  BOOST_TEST(spec->headers[0].second == "Bearer abc");
  BOOST_TEST(spec->heartbeat_seconds == 60);
  BOOST_TEST(spec->timeout_seconds == 10);
  BOOST_TEST(spec->max_count == 20);
  BOOST_TEST((spec->content == PayloadContent::kFullResource));
}

BOOST_AUTO_TEST_CASE(PlainHttpHooksOnlyOnLoopback) {
  for (const char* endpoint : {"http://127.0.0.1:9000/hook", "http://localhost/hook", "http://[::1]:9000/h"}) {
    auto spec = Parse(Backport("https://fovea.health/fhir/SubscriptionTopic/task-status", {},
                               std::string(R"({"type":"rest-hook","endpoint":")") + endpoint + "\"}"));
    BOOST_TEST(spec.has_value(), endpoint);
  }
}

BOOST_AUTO_TEST_CASE(ClassicCriteriaSubscriptions) {
  // What @medplum/core's subscribeToCriteria creates.
  auto spec = Parse(R"({"resourceType":"Subscription","status":"active","reason":"app",
    "criteria":"Task?status=ready","channel":{"type":"websocket"}})");
  BOOST_REQUIRE_MESSAGE(spec.has_value(), (spec.has_value() ? "" : spec.error().message()));
  BOOST_TEST(!spec->topic_based());
  BOOST_TEST(spec->FiltersFor("Task") != nullptr);
  BOOST_TEST(spec->FiltersFor("Observation") == nullptr);
  // Medplum's dialect: the resource on the websocket (to readers who may read it).
  BOOST_TEST((spec->content == PayloadContent::kFullResource));
  // A classic rest-hook without a payload is a bare ping, as R4 has it.
  auto hook = Parse(R"({"resourceType":"Subscription","status":"requested","reason":"x",
    "criteria":"Task?status=ready","channel":{"type":"rest-hook","endpoint":"https://ehr.example/h"}})");
  BOOST_REQUIRE(hook.has_value());
  BOOST_TEST((hook->content == PayloadContent::kEmpty));
}

BOOST_AUTO_TEST_CASE(WhatCannotBeHonouredIsRefused) {
  const std::string task = "https://fovea.health/fhir/SubscriptionTopic/task-status";
  struct Case {
    std::string json;
    std::string expect;  // in the message
  };
  std::vector<Case> cases = {
      {Backport("https://elsewhere.example/topic", {}, kWebSocketIdOnly), "not known"},
      {Backport(task, {"Task?identifier=x"}, kWebSocketIdOnly), "offers no filter 'identifier'"},
      {Backport(task, {"Observation?code=x"}, kWebSocketIdOnly), "does not cover"},
      {Backport(task, {"Task?colour=red"}, kWebSocketIdOnly), "colour"},
      {Backport(task, {}, R"({"type":"email","endpoint":"mailto:a@b.example"})"), "not supported"},
      {Backport(task, {}, R"({"type":"rest-hook","endpoint":"http://ehr.example/hook"})"), "https"},
      {Backport(task, {}, R"({"type":"rest-hook"})"), "needs an endpoint"},
      {Backport(task, {}, R"({"type":"rest-hook","endpoint":"http://127.0.0.1@ehr.example/hook"})"), "https"},
      {Backport(task, {}, R"({"type":"rest-hook","endpoint":"http://127.0.0.1.ehr.example/hook"})"), "https"},
      {Backport(task, {}, R"({"type":"websocket","payload":"application/fhir+xml"})"), "not supported"},
      {Backport(task, {}, R"({"type":"websocket","payload":"application/fhir+json",
          "_payload":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content","valueCode":"everything"}]}})"),
       "everything"},
      {Backport(task, {}, R"({"type":"websocket","extension":[{"url":"http://example.org/unknown","valueString":"x"}]})"),
       "not supported"},
      {Backport(task, {}, R"({"type":"rest-hook","endpoint":"https://e.example/h","header":["no colon"]})"),
       "Name: value"},
      {R"({"resourceType":"Subscription","status":"requested","reason":"x","criteria":"Observation?value-quantity=5","channel":{"type":"websocket"}})",
       "cannot be evaluated"},
      {R"({"resourceType":"Subscription","status":"requested","reason":"x","channel":{"type":"websocket"}})",
       "criteria"},
      // Medplum's extensions (its client adds them only when asked) change what fires: refused.
      {R"({"resourceType":"Subscription","status":"active","reason":"x","criteria":"Task","channel":{"type":"websocket"},
          "extension":[{"url":"https://medplum.com/fhir/StructureDefinition/subscription-supported-interaction","valueCode":"create"}]})",
       "subscribe to a topic"},
      {R"({"resourceType":"Subscription","status":"active","reason":"x","criteria":"Task","channel":{"type":"websocket"},
          "extension":[{"url":"https://medplum.com/fhir/StructureDefinition/fhir-path-criteria-expression","valueString":"%previous.status != %current.status"}]})",
       "subscribe to a topic"},
      {R"({"resourceType":"Subscription","status":"active","reason":"x","criteria":"Task","channel":{"type":"websocket"},
          "extension":[{"url":"http://example.org/anything","valueString":"x"}]})",
       "http://example.org/anything is not supported"},
      {R"({"resourceType":"Subscription","status":"active","reason":"x","criteria":"Task","channel":{"type":"websocket"},
          "modifierExtension":[{"url":"http://example.org/anything","valueString":"x"}]})",
       "modifier"},
  };
  // An unknown extension on criteria (Inferno's rejection test).
  std::string unknown = Backport(task, {}, kWebSocketIdOnly);
  unknown.replace(unknown.find("\"extension\":[]"), 14,
                  R"("extension":[{"url":"http://example.org/odd","valueString":"x"}])");
  cases.push_back({unknown, "not supported"});
  for (const Case& c : cases) {
    auto spec = Parse(c.json);
    BOOST_TEST(!spec.has_value(), c.json);
    if (!spec.has_value()) {
      BOOST_TEST(spec.error().code() == common::StatusCode::kInvalid);
      BOOST_TEST(spec.error().message().find(c.expect) != std::string::npos,
                 spec.error().message() << " lacks '" << c.expect << "'");
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
