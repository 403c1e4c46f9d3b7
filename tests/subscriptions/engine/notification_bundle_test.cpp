// subscriptions/engine/notification_bundle: a one-event Bundle built from the event's shared
// parts (formatted once for every subscription a dispatcher sends it to) is the Bundle
// NotificationBundleJson builds, byte for byte but for its two random ids: for every payload
// content, with additional context, for each interaction and with a delivery error.

#include "subscriptions/engine/notification_bundle.h"

#include <boost/test/unit_test.hpp>
#include <regex>

#include "common/json.h"

namespace {

using subscriptions::Interaction;
using subscriptions::NotificationEvent;
using subscriptions::NotificationType;
using subscriptions::PayloadContent;

constexpr const char* kBase = "https://fovea.example/fhir/R4";

// The Bundle's and the status Parameters' ids are random UUIDs: the same placeholder for both.
std::string WithoutIds(const std::string& json) {
  static const std::regex kUuid("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  return std::regex_replace(json, kUuid, "ID");
}

NotificationEvent Event(Interaction interaction) {
  NotificationEvent e;
  e.number = 7;
  e.at = common::TimePoint(std::chrono::microseconds(1796480000123456));
  e.type = "Task";
  e.id = "t1";
  e.version = 3;
  e.interaction = interaction;
  e.content = R"({"resourceType":"Task","id":"t1","status":"ready"})";
  e.context = {{"Encounter", "e1", R"({"resourceType":"Encounter","id":"e1"})"}};
  return e;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(NotificationBundle)

BOOST_AUTO_TEST_CASE(SharedPartsMakeTheSameBundle) {
  common::TimePoint now(std::chrono::microseconds(1796480000999000));
  for (PayloadContent content : {PayloadContent::kEmpty, PayloadContent::kIdOnly, PayloadContent::kFullResource}) {
    for (Interaction interaction : {Interaction::kCreate, Interaction::kUpdate, Interaction::kDelete}) {
      for (const char* error : {"", "the endpoint answered 503"}) {
        NotificationEvent e = Event(interaction);
        subscriptions::SubscriptionStatus status{"s1", error[0] ? "error" : "active",
                                                 "https://fovea.health/fhir/SubscriptionTopic/task-status",
                                                 e.number, error};
        std::string whole = subscriptions::NotificationBundleJson(
            status, NotificationType::kEventNotification, {e}, content, kBase, now);
        subscriptions::SharedEventParts parts = subscriptions::SharedPartsOf(e, content, kBase);
        std::string shared = subscriptions::EventNotificationBundleJson(
            status, NotificationType::kEventNotification, e.number, parts, content, kBase,
            common::FormatInstant(now));
        BOOST_TEST(common::ParseJson(shared).has_value());
        BOOST_TEST(WithoutIds(shared) == WithoutIds(whole));
        // And the parts are the event's only: another subscription gets its own id and number.
        subscriptions::SubscriptionStatus other = status;
        other.id = "s2";
        other.events_since_start = 12;
        std::string second = subscriptions::EventNotificationBundleJson(
            other, NotificationType::kEventNotification, 12, parts, content, kBase, common::FormatInstant(now));
        e.number = 12;
        BOOST_TEST(WithoutIds(second) ==
                   WithoutIds(subscriptions::NotificationBundleJson(other, NotificationType::kEventNotification,
                                                                    {e}, content, kBase, now)));
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
