#ifndef FOVEA_SUBSCRIPTIONS_ENGINE_NOTIFICATION_BUNDLE_H_
#define FOVEA_SUBSCRIPTIONS_ENGINE_NOTIFICATION_BUNDLE_H_

// Notification Bundles exactly as the R4 Backport IG has them (SUBSCRIPTIONS.md §2): a `history`
// Bundle whose first entry is the subscription-status Parameters (profile
// backport-subscription-status-r4), `request` and `response` on every entry, then one entry per
// event as the payload content allows (empty: none; id-only: fullUrl and request, no resource;
// full-resource: the resource too). Stateless: thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "subscriptions/engine/subscription_spec.h"
#include "subscriptions/engine/topics.h"

namespace subscriptions {

enum class NotificationType { kHandshake, kHeartbeat, kEventNotification, kQueryStatus, kQueryEvent };
std::string_view NotificationTypeCode(NotificationType t);  // "event-notification", ...

// A resource a topic's notificationShape includes with an event (additional-context).
struct ContextResource {
  std::string type;
  std::string id;
  std::string content;  // its current JSON, for full-resource payloads; may be empty
};

// One numbered event of one subscription.
struct NotificationEvent {
  std::int64_t number = 0;
  common::TimePoint at{};
  std::string type;
  std::string id;
  int version = 0;
  Interaction interaction = Interaction::kUpdate;
  std::string content;  // the version's canonical JSON, for full-resource payloads; may be empty
  std::vector<ContextResource> context;  // notificationShape includes (notification_context.h)
};

// The subscription as the status Parameters describe it.
struct SubscriptionStatus {
  std::string id;
  std::string status;     // requested | active | error | off
  std::string topic_url;  // empty for a classic subscription
  std::int64_t events_since_start = 0;
  std::string error;      // the last delivery error, if any
};

// What a one-event notification Bundle holds that is the same for every subscription the event
// goes to: formatted once per event and delivery round, not once per subscription.
struct SharedEventParts {
  std::string timestamp;  // the event's instant
  std::string focus;      // its focus and additional-context parameters, each after a ','
  std::string entries;    // the Bundle entries after the status entry, each after a ','
};
SharedEventParts SharedPartsOf(const NotificationEvent& e, PayloadContent content, const std::string& base_url);

// The backport-subscription-status-r4 Parameters (without id).
std::string StatusParametersJson(const SubscriptionStatus& status, NotificationType type,
                                 const std::vector<NotificationEvent>& events,
                                 PayloadContent content, const std::string& base_url);

// The notification Bundle.
std::string NotificationBundleJson(const SubscriptionStatus& status, NotificationType type,
                                   const std::vector<NotificationEvent>& events,
                                   PayloadContent content, const std::string& base_url,
                                   common::TimePoint now);

// NotificationBundleJson of one event, from its shared parts and the sending time (formatted):
// the same Bundle, for a dispatcher sending one event to many subscriptions.
std::string EventNotificationBundleJson(const SubscriptionStatus& status, NotificationType type,
                                        std::int64_t event_number, const SharedEventParts& parts,
                                        PayloadContent content, const std::string& base_url,
                                        std::string_view now);

// The same notification in the dialect @medplum/core's SubscriptionManager reads (the bundles
// Medplum's own server sends on /ws/subscriptions-r4), served to classic (criteria = search URL)
// websocket subscriptions: a `history` Bundle whose first entry is an R4B-style
// SubscriptionStatus {status, type, eventsSinceSubscriptionStart, subscription: {reference:
// "Subscription/<id>"} (relative: the client splits it on '/'), notificationEvent [{eventNumber,
// timestamp, focus}]}, then one entry per event as the content allows (as in the IG form, with
// request and response). Unlike Medplum's server, event numbers are the real ones.
std::string MedplumNotificationBundleJson(const SubscriptionStatus& status, NotificationType type,
                                          const std::vector<NotificationEvent>& events,
                                          PayloadContent content, const std::string& base_url,
                                          common::TimePoint now);

// $status: a searchset Bundle with one query-status Parameters per subscription.
std::string StatusSearchsetJson(const std::vector<SubscriptionStatus>& statuses,
                                const std::string& base_url, const std::string& self_url,
                                common::TimePoint now);

}  // namespace subscriptions

#endif  // FOVEA_SUBSCRIPTIONS_ENGINE_NOTIFICATION_BUNDLE_H_
