// subscriptions/engine/notification_context: what a topic's notificationShape includes with an
// event (task-status includes Task:encounter), and how the status Parameters and the Bundle show
// it (additional-context parts; one entry per included resource, none twice).

#include "subscriptions/engine/notification_context.h"

#include <boost/test/unit_test.hpp>

#include "common/json.h"

namespace {

const fhir::search::SearchParameterRegistry& Search() { return *fhir::search::SearchParameterRegistry::R4(); }

const subscriptions::Topic& TaskStatus() {
  auto topics = subscriptions::TopicRegistry::BuiltIn();
  const subscriptions::Topic* t = (*topics)->Find("https://fovea.health/fhir/SubscriptionTopic/task-status");
  BOOST_REQUIRE(t != nullptr);
  return *t;
}

BOOST_AUTO_TEST_SUITE(NotificationContext)

BOOST_AUTO_TEST_CASE(TaskStatusIncludesTheSessionEncounter) {
  auto refs = subscriptions::ShapeIncludes(
      TaskStatus(), "Task",
      R"({"resourceType":"Task","id":"t1","status":"ready","intent":"order","encounter":{"reference":"Encounter/e1"},"for":{"reference":"Patient/p1"}})",
      Search());
  BOOST_REQUIRE(refs.size() == 1u);
  BOOST_TEST(refs[0].first == "Encounter");
  BOOST_TEST(refs[0].second == "e1");
  // Nothing for a Task without an encounter, nor for another type, nor for no content.
  BOOST_TEST(subscriptions::ShapeIncludes(TaskStatus(), "Task",
                                          R"({"resourceType":"Task","id":"t1","status":"ready","intent":"order"})",
                                          Search()).empty());
  BOOST_TEST(subscriptions::ShapeIncludes(TaskStatus(), "Encounter", R"({"resourceType":"Encounter","id":"e1"})", Search()).empty());
  BOOST_TEST(subscriptions::ShapeIncludes(TaskStatus(), "Task", "", Search()).empty());
}

BOOST_AUTO_TEST_CASE(BundlesCarryAdditionalContextOnce) {
  subscriptions::NotificationEvent a;
  a.number = 1;
  a.type = "Task";
  a.id = "t1";
  a.version = 2;
  a.content = R"({"resourceType":"Task","id":"t1"})";
  a.context = {{"Encounter", "e1", R"({"resourceType":"Encounter","id":"e1"})"}};
  subscriptions::NotificationEvent b = a;
  b.number = 2;
  b.id = "t2";
  subscriptions::SubscriptionStatus status{"s1", "active", TaskStatus().url, 2, ""};
  std::string json = subscriptions::NotificationBundleJson(status, subscriptions::NotificationType::kEventNotification,
                                                           {a, b}, subscriptions::PayloadContent::kFullResource,
                                                           "https://fovea.test/fhir/R4", common::TimePoint{});
  auto bundle = common::ParseJson(json);
  BOOST_REQUIRE(bundle.has_value());
  const auto& entries = bundle->Find("entry")->items();
  BOOST_REQUIRE(entries.size() == 4u);  // status, t1, t2, e1 once
  BOOST_TEST(entries[3].Find("fullUrl")->scalar() == "https://fovea.test/fhir/R4/Encounter/e1");
  BOOST_TEST(entries[3].Find("resource")->Find("id")->scalar() == "e1");
  BOOST_TEST(entries[3].Find("request")->Find("method")->scalar() == "GET");
  BOOST_TEST(json.find(R"("name":"additional-context")") != std::string::npos);
  // id-only: the reference and an entry without the resource.
  std::string ids = subscriptions::NotificationBundleJson(status, subscriptions::NotificationType::kEventNotification,
                                                          {a}, subscriptions::PayloadContent::kIdOnly,
                                                          "https://fovea.test/fhir/R4", common::TimePoint{});
  auto id_bundle = common::ParseJson(ids);
  BOOST_REQUIRE(id_bundle->Find("entry")->items().size() == 3u);
  BOOST_TEST(id_bundle->Find("entry")->items()[2].Find("resource") == nullptr);
  // empty: neither.
  std::string empty = subscriptions::NotificationBundleJson(status, subscriptions::NotificationType::kEventNotification,
                                                            {a}, subscriptions::PayloadContent::kEmpty,
                                                            "https://fovea.test/fhir/R4", common::TimePoint{});
  BOOST_TEST(empty.find("additional-context") == std::string::npos);
  BOOST_TEST(common::ParseJson(empty)->Find("entry")->items().size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
