#include "subscriptions/engine/rest_hook_request.h"

namespace subscriptions {
namespace {

constexpr const char* kDefaultMime = "application/fhir+json";

bool ClassicUpdates(const SubscriptionSpec& spec) {
  return !spec.topic_based() && !spec.payload_mime.empty();
}

HookRequest Post(const SubscriptionSpec& spec, std::string body) {
  HookRequest r;
  r.method = "POST";
  r.url = spec.endpoint;
  if (!body.empty()) {
    r.headers.emplace_back("Content-Type", spec.payload_mime.empty() ? kDefaultMime : spec.payload_mime);
  }
  r.headers.insert(r.headers.end(), spec.headers.begin(), spec.headers.end());
  r.body = std::move(body);
  return r;
}

// [endpoint]/[type]/[id], whether or not the endpoint ends with a slash.
std::string InstanceUrl(const std::string& endpoint, const NotificationEvent& e) {
  std::string url = endpoint;
  if (url.empty() || url.back() != '/') url += '/';
  return url + e.type + "/" + e.id;
}

// A Backport notification Bundle, or for a classic subscription without payload an empty POST.
HookRequest Notification(const SubscriptionSpec& spec, const SubscriptionStatus& status,
                         NotificationType type, const std::vector<NotificationEvent>& events,
                         const std::string& base_url, common::TimePoint now) {
  if (!spec.topic_based()) return Post(spec, "");
  return Post(spec, NotificationBundleJson(status, type, events, spec.content, base_url, now));
}

}  // namespace

std::optional<HookRequest> HandshakeRequest(const SubscriptionSpec& spec,
                                            const SubscriptionStatus& status,
                                            const std::string& base_url, common::TimePoint now) {
  if (ClassicUpdates(spec)) return std::nullopt;
  return Notification(spec, status, NotificationType::kHandshake, {}, base_url, now);
}

std::optional<HookRequest> HeartbeatRequest(const SubscriptionSpec& spec,
                                            const SubscriptionStatus& status,
                                            const std::string& base_url, common::TimePoint now) {
  if (ClassicUpdates(spec)) return std::nullopt;
  return Notification(spec, status, NotificationType::kHeartbeat, {}, base_url, now);
}

std::size_t EventsPerRequest(const SubscriptionSpec& spec) {
  if (!spec.topic_based() || spec.max_count < 1) return 1;
  return static_cast<std::size_t>(spec.max_count);
}

bool NeedsContent(const SubscriptionSpec& spec) {
  return spec.content == PayloadContent::kFullResource || ClassicUpdates(spec);
}

HookRequest EventRequest(const SubscriptionSpec& spec, const SubscriptionStatus& status,
                         const std::vector<NotificationEvent>& events, const std::string& base_url,
                         common::TimePoint now) {
  if (!ClassicUpdates(spec) || events.empty()) {
    return Notification(spec, status, NotificationType::kEventNotification, events, base_url, now);
  }
  // Classic with a payload: the endpoint is a FHIR base that receives the change itself.
  const NotificationEvent& e = events.front();
  HookRequest r;
  r.url = InstanceUrl(spec.endpoint, e);
  if (e.interaction == Interaction::kDelete) {
    r.method = "DELETE";
  } else {
    r.method = "PUT";
    r.headers.emplace_back("Content-Type", spec.payload_mime);
    r.body = e.content;
  }
  r.headers.insert(r.headers.end(), spec.headers.begin(), spec.headers.end());
  return r;
}

}  // namespace subscriptions
