#ifndef FOVEA_SUBSCRIPTIONS_ENGINE_NOTIFICATION_CONTEXT_H_
#define FOVEA_SUBSCRIPTIONS_ENGINE_NOTIFICATION_CONTEXT_H_

// A topic's notificationShape `include`s (SubscriptionTopic.notificationShape.include, _include
// syntax such as "Task:encounter"): the resources an event's focus points at that a subscriber
// gets with it, as `additional-context` (R4 Backport IG, notifications). For a Task status
// change in the screening workflow that is the session's Encounter, so a staff app or an EHR
// sees which visit the step belongs to without another read. Thread-safe.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fhir/rest/access_control.h"
#include "fhir/search/search_parameter.h"
#include "fhir/store/resource_store.h"
#include "subscriptions/engine/notification_bundle.h"
#include "subscriptions/engine/subscription_spec.h"

namespace subscriptions {

// Whether the subscription's topic includes anything with events of `type` (a classic
// subscription, or content `empty`: never).
bool HasShapeIncludes(const SubscriptionSpec& spec, const std::string& type);
bool HasShapeIncludes(const SubscriptionSpec& spec);  // for any type

// The local references ("Encounter", "e1") the topic's includes for `type` find in the
// resource, in order, without duplicates.
std::vector<std::pair<std::string, std::string>> ShapeIncludes(
    const Topic& topic, const std::string& type, std::string_view resource_json,
    const fhir::search::SearchParameterRegistry& search);

// Fills each event's `context` from its `content` (the focus as stored): the included resources
// that exist now, with their current version's JSON when `with_content`. Events without
// content (deletions) get none.
void AttachContext(const SubscriptionSpec& spec, std::vector<NotificationEvent>& events,
                   const fhir::search::SearchParameterRegistry& search,
                   fhir::store::ResourceStore& store, bool with_content);

// Whether deliveries of `spec` in `content` need each event's stored resource: to send it, or to
// find what its topic includes.
bool NeedsEventContent(const SubscriptionSpec& spec, PayloadContent content);

// Full resources only for a reader allowed to read them: the content of every event and
// context resource `access` may not read is dropped (it goes id-only, as $events does).
void KeepReadable(std::vector<NotificationEvent>& events, const fhir::rest::AccessControl& access);

}  // namespace subscriptions

#endif  // FOVEA_SUBSCRIPTIONS_ENGINE_NOTIFICATION_CONTEXT_H_
