#ifndef FOVEA_SUBSCRIPTIONS_ENGINE_REST_HOOK_REQUEST_H_
#define FOVEA_SUBSCRIPTIONS_ENGINE_REST_HOOK_REQUEST_H_

// What a rest-hook delivery sends (docs/SUBSCRIPTIONS.md, "rest-hook"), decided apart from the
// sending. Topic-based subscriptions (R4 Backport IG) get notification Bundles POSTed to
// channel.endpoint: a handshake, heartbeats, event notifications. Classic R4 criteria
// subscriptions get what R4 (subscription.html, rest-hook) defines: without channel.payload an
// empty POST per notification; with it, the endpoint is a FHIR base and each event is an update
// (PUT [endpoint]/[type]/[id] with the resource) or a DELETE. Every request carries the
// subscription's channel.header lines. Stateless: thread-safe.

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "subscriptions/engine/notification_bundle.h"
#include "subscriptions/engine/subscription_spec.h"

namespace subscriptions {

struct HookRequest {
  std::string method;  // POST | PUT | DELETE
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type first when a body
  std::string body;
};

// The handshake that verifies the endpoint before a subscription goes active; nullopt when the
// subscription's form has none (classic with a payload: R4 defines no handshake there).
std::optional<HookRequest> HandshakeRequest(const SubscriptionSpec& spec,
                                            const SubscriptionStatus& status,
                                            const std::string& base_url, common::TimePoint now);

// A heartbeat; nullopt for a classic subscription with a payload (an update per event only).
std::optional<HookRequest> HeartbeatRequest(const SubscriptionSpec& spec,
                                            const SubscriptionStatus& status,
                                            const std::string& base_url, common::TimePoint now);

// How many events one request may carry: a topic-based subscription's max-count (1 without
// it); one for classic subscriptions.
std::size_t EventsPerRequest(const SubscriptionSpec& spec);

// The request delivering `events` (1..EventsPerRequest, numbered, oldest first; with their
// content when the payload carries resources). `status.events_since_start` is the number of
// the last of them.
HookRequest EventRequest(const SubscriptionSpec& spec, const SubscriptionStatus& status,
                         const std::vector<NotificationEvent>& events, const std::string& base_url,
                         common::TimePoint now);

// Whether deliveries need each event's stored resource.
bool NeedsContent(const SubscriptionSpec& spec);

}  // namespace subscriptions

#endif  // FOVEA_SUBSCRIPTIONS_ENGINE_REST_HOOK_REQUEST_H_
