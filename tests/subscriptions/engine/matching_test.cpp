// subscriptions/engine: which changes notify which subscriptions (topic triggers with
// %previous/%current, filters on the changed version), and the notification Bundles' shape.

#include "subscriptions/engine/matching.h"

#include <boost/test/unit_test.hpp>

#include "fhir/format/json_format.h"
#include "fhir/model/issues.h"
#include "fhir/search/index_extractor.h"
#include "subscriptions/engine/notification_bundle.h"

namespace {

using subscriptions::ChangeEvent;
using subscriptions::Interaction;
using subscriptions::VersionView;

const fhir::search::SearchParameterRegistry& Search() { return *fhir::search::SearchParameterRegistry::R4(); }

struct Version {
  fhir::model::Element tree;
  fhir::search::IndexRows rows;
  explicit Version(const std::string& json) {
    fhir::model::OperationOutcomeSink issues;
    tree = *fhir::format::ParseResourceJson(json, fhir::definitions::Definitions::R4(), issues);
    rows = fhir::search::ExtractIndex(tree, Search());
  }
  VersionView view() const { return {&tree, &rows}; }
};

subscriptions::SubscriptionSpec Spec(const std::string& json) {
  auto topics = subscriptions::TopicRegistry::BuiltIn();
  subscriptions::SpecContext context{**topics, Search(), "https://fovea.test/fhir/R4"};
  auto spec = subscriptions::ParseSubscription(*common::ParseJson(json), context);
  BOOST_REQUIRE_MESSAGE(spec.has_value(), (spec.has_value() ? "" : spec.error().message()));
  return std::move(spec).value();
}

std::string TaskJson(const std::string& status, const std::string& encounter) {
  return R"({"resourceType":"Task","id":"t1","status":")" + status +
         R"(","intent":"order","encounter":{"reference":"Encounter/)" + encounter + R"("}})";
}

const char* kTaskStatusInE1 = R"({"resourceType":"Subscription","id":"s1","status":"active","reason":"x",
  "criteria":"https://fovea.health/fhir/SubscriptionTopic/task-status",
  "_criteria":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria","valueString":"Task?encounter=Encounter/e1"}]},
  "channel":{"type":"websocket","payload":"application/fhir+json"}})";

ChangeEvent Event(Interaction i, int version) {
  ChangeEvent e;
  e.type = "Task";
  e.id = "t1";
  e.version = version;
  e.interaction = i;
  return e;
}

BOOST_AUTO_TEST_SUITE(Matching)

BOOST_AUTO_TEST_CASE(TaskStatusTopicFiresOnStatusChangesInItsSession) {
  auto spec = Spec(kTaskStatusInE1);
  Version ready(TaskJson("ready", "e1"));
  Version ready_again(TaskJson("ready", "e1"));
  Version started(TaskJson("in-progress", "e1"));
  Version other_session(TaskJson("ready", "e2"));
  BOOST_TEST(subscriptions::Notifies(spec, Event(Interaction::kCreate, 1), {}, ready.view()));
  BOOST_TEST(!subscriptions::Notifies(spec, Event(Interaction::kUpdate, 2), ready.view(), ready_again.view()));
  BOOST_TEST(subscriptions::Notifies(spec, Event(Interaction::kUpdate, 2), ready.view(), started.view()));
  BOOST_TEST(!subscriptions::Notifies(spec, Event(Interaction::kCreate, 1), {}, other_session.view()));
  // The topic does not trigger on deletes.
  BOOST_TEST(!subscriptions::Notifies(spec, Event(Interaction::kDelete, 3), started.view(), {}));
}

// The matcher keeps each trigger's result for one event and shares it between the
// subscriptions of the topic: the answers are the same as evaluated one by one.
BOOST_AUTO_TEST_CASE(TriggerResultsAreSharedWithinOneEvent) {
  auto in_e1 = Spec(kTaskStatusInE1);
  std::string e2 = kTaskStatusInE1;
  e2.replace(e2.find("Encounter/e1"), 12, "Encounter/e2");
  auto in_e2 = Spec(e2);
  Version ready(TaskJson("ready", "e1"));
  Version ready_again(TaskJson("ready", "e1"));
  Version started(TaskJson("in-progress", "e1"));
  subscriptions::TriggerResults created;
  BOOST_TEST(subscriptions::Notifies(in_e1, Event(Interaction::kCreate, 1), {}, ready.view(), &created));
  BOOST_TEST(!subscriptions::Notifies(in_e2, Event(Interaction::kCreate, 1), {}, ready.view(), &created));
  BOOST_TEST(created.size() == 1u);  // one topic, one trigger, evaluated once
  BOOST_TEST(created.begin()->second);
  subscriptions::TriggerResults unchanged;
  BOOST_TEST(!subscriptions::Notifies(in_e1, Event(Interaction::kUpdate, 2), ready.view(), ready_again.view(), &unchanged));
  BOOST_TEST(unchanged.size() == 1u);
  BOOST_TEST(!unchanged.begin()->second);
  subscriptions::TriggerResults changed;
  BOOST_TEST(subscriptions::Notifies(in_e1, Event(Interaction::kUpdate, 2), ready.view(), started.view(), &changed));
  BOOST_TEST(!subscriptions::Notifies(in_e2, Event(Interaction::kUpdate, 2), ready.view(), started.view(), &changed));
}

BOOST_AUTO_TEST_CASE(ClassicCriteriaAndDeletes) {
  auto spec = Spec(R"({"resourceType":"Subscription","status":"active","reason":"x",
    "criteria":"Task?status=ready","channel":{"type":"websocket"}})");
  Version ready(TaskJson("ready", "e1"));
  Version done(TaskJson("completed", "e1"));
  BOOST_TEST(subscriptions::Notifies(spec, Event(Interaction::kUpdate, 2), done.view(), ready.view()));
  BOOST_TEST(!subscriptions::Notifies(spec, Event(Interaction::kUpdate, 3), ready.view(), done.view()));
  // A delete is judged on what was deleted.
  BOOST_TEST(subscriptions::Notifies(spec, Event(Interaction::kDelete, 3), ready.view(), {}));
  ChangeEvent observation = Event(Interaction::kCreate, 1);
  observation.type = "Observation";
  BOOST_TEST(!subscriptions::Notifies(spec, observation, {}, ready.view()));
}

BOOST_AUTO_TEST_CASE(NotificationBundlesHaveTheBackportShape) {
  subscriptions::SubscriptionStatus status{"s1", "active",
                                           "https://fovea.health/fhir/SubscriptionTopic/task-status", 7, ""};
  subscriptions::NotificationEvent e;
  e.number = 7;
  e.type = "Task";
  e.id = "t1";
  e.version = 2;
  e.interaction = Interaction::kUpdate;
  e.content = TaskJson("in-progress", "e1");
  for (auto content : {subscriptions::PayloadContent::kEmpty, subscriptions::PayloadContent::kIdOnly,
                       subscriptions::PayloadContent::kFullResource}) {
    std::string json = subscriptions::NotificationBundleJson(
        status, subscriptions::NotificationType::kEventNotification, {e}, content,
        "https://fovea.test/fhir/R4", common::TimePoint{});
    auto bundle = common::ParseJson(json);
    BOOST_REQUIRE(bundle.has_value());
    BOOST_TEST(bundle->Find("type")->scalar() == "history");
    const auto& entries = bundle->Find("entry")->items();
    BOOST_TEST(entries[0].Find("resource")->Find("resourceType")->scalar() == "Parameters");
    for (const auto& entry : entries) {
      BOOST_TEST(entry.Find("request") != nullptr);  // bdl-3/bdl-4
      BOOST_TEST(entry.Find("response") != nullptr);
    }
    std::size_t expected = content == subscriptions::PayloadContent::kEmpty ? 1u : 2u;
    BOOST_TEST(entries.size() == expected);
    bool has_focus = json.find("\"focus\"") != std::string::npos;
    BOOST_TEST(has_focus == (content != subscriptions::PayloadContent::kEmpty));
    bool has_resource = entries.size() > 1 && entries[1].Find("resource") != nullptr;
    BOOST_TEST(has_resource == (content == subscriptions::PayloadContent::kFullResource));
    BOOST_TEST(json.find(R"("name":"events-since-subscription-start","valueString":"7")") != std::string::npos);
    BOOST_TEST(json.find(R"("name":"event-number","valueString":"7")") != std::string::npos);
  }
}

// What @medplum/core's SubscriptionManager reads of a message: entry[0].resource with `type`
// (handshake, heartbeat, or anything else: a message) and `subscription.reference` split on '/'
// (so it must be relative); the resource follows as the second entry.
BOOST_AUTO_TEST_CASE(MedplumBundlesLeadWithASubscriptionStatus) {
  subscriptions::SubscriptionStatus status{"s1", "active", "", 3, ""};
  subscriptions::NotificationEvent e;
  e.number = 3;
  e.type = "Task";
  e.id = "t1";
  e.version = 2;
  e.interaction = Interaction::kUpdate;
  e.content = TaskJson("in-progress", "e1");
  auto first = [](const common::JsonValue& bundle) -> const common::JsonValue& {
    return *bundle.Find("entry")->items().front().Find("resource");
  };
  auto handshake = common::ParseJson(subscriptions::MedplumNotificationBundleJson(
      status, subscriptions::NotificationType::kHandshake, {}, subscriptions::PayloadContent::kIdOnly,
      "https://fovea.test/fhir/R4", common::TimePoint{}));
  BOOST_REQUIRE(handshake.has_value());
  BOOST_TEST(handshake->Find("type")->scalar() == "history");
  BOOST_TEST(handshake->Find("entry")->items().size() == 1u);
  BOOST_TEST(first(*handshake).Find("resourceType")->scalar() == "SubscriptionStatus");
  BOOST_TEST(first(*handshake).Find("type")->scalar() == "handshake");
  BOOST_TEST(first(*handshake).Find("status")->scalar() == "active");
  BOOST_TEST(first(*handshake).Find("subscription")->Find("reference")->scalar() == "Subscription/s1");
  BOOST_TEST(first(*handshake).Find("notificationEvent") == nullptr);

  for (auto content : {subscriptions::PayloadContent::kEmpty, subscriptions::PayloadContent::kIdOnly,
                       subscriptions::PayloadContent::kFullResource}) {
    auto bundle = common::ParseJson(subscriptions::MedplumNotificationBundleJson(
        status, subscriptions::NotificationType::kEventNotification, {e}, content,
        "https://fovea.test/fhir/R4", common::TimePoint{}));
    BOOST_REQUIRE(bundle.has_value());
    const common::JsonValue& s = first(*bundle);
    BOOST_TEST(s.Find("type")->scalar() == "event-notification");
    BOOST_TEST(s.Find("eventsSinceSubscriptionStart")->scalar() == "3");
    const common::JsonValue& event = s.Find("notificationEvent")->items().front();
    BOOST_TEST(event.Find("eventNumber")->scalar() == "3");
    BOOST_TEST((event.Find("focus") != nullptr) == (content != subscriptions::PayloadContent::kEmpty));
    const auto& entries = bundle->Find("entry")->items();
    BOOST_TEST(entries.size() == (content == subscriptions::PayloadContent::kEmpty ? 1u : 2u));
    if (content == subscriptions::PayloadContent::kEmpty) continue;
    BOOST_TEST(event.Find("focus")->Find("reference")->scalar() == "Task/t1");
    BOOST_TEST(entries[1].Find("fullUrl")->scalar() == "https://fovea.test/fhir/R4/Task/t1");
    const common::JsonValue* resource = entries[1].Find("resource");
    BOOST_TEST((resource != nullptr) == (content == subscriptions::PayloadContent::kFullResource));
    if (resource != nullptr) BOOST_TEST(resource->Find("status")->scalar() == "in-progress");
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
