#include "subscriptions/engine/notification_bundle.h"

#include <algorithm>
#include <span>

#include "common/json.h"
#include "fhir/model/ids.h"

namespace subscriptions {

namespace {

constexpr const char* kStatusProfile =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4";

void Str(std::string& out, std::string_view s) { common::AppendJsonString(out, s); }

std::string MethodOf(Interaction i) {
  switch (i) {
    case Interaction::kCreate: return "POST";
    case Interaction::kDelete: return "DELETE";
    case Interaction::kUpdate: break;
  }
  return "PUT";
}

std::string ResponseStatusOf(Interaction i) {
  switch (i) {
    case Interaction::kCreate: return "201";
    case Interaction::kDelete: return "204";
    case Interaction::kUpdate: break;
  }
  return "200";
}

void AppendParameterString(std::string& out, const char* name, const char* type, std::string_view value) {
  out += R"({"name":)";
  Str(out, name);
  out += ",\"value";
  out += type;
  out += "\":";
  Str(out, value);
  out += '}';
}

void AppendReferenceParameter(std::string& out, const char* name, std::string_view reference) {
  out += R"({"name":)";
  Str(out, name);
  out += R"(,"valueReference":{"reference":)";
  Str(out, reference);
  out += "}}";
}

// One entry per event after the status entry: fullUrl, the resource when the content is
// full-resource (and the event is not a delete), request and response (bdl-3/4).
void AppendEventEntries(std::string& out, const std::vector<NotificationEvent>& events,
                        PayloadContent content, const std::string& base_url) {
  if (content == PayloadContent::kEmpty) return;
  for (const NotificationEvent& e : events) {
    out += R"(,{"fullUrl":)";
    Str(out, base_url + "/" + e.type + "/" + e.id);
    if (content == PayloadContent::kFullResource && !e.content.empty() &&
        e.interaction != Interaction::kDelete) {
      out += R"(,"resource":)";
      out += e.content;
    }
    out += R"(,"request":{"method":)";
    Str(out, MethodOf(e.interaction));
    out += R"(,"url":)";
    Str(out, e.interaction == Interaction::kCreate ? e.type : e.type + "/" + e.id);
    out += R"(},"response":{"status":)";
    Str(out, ResponseStatusOf(e.interaction));
    if (e.interaction != Interaction::kDelete) {
      out += R"(,"etag":)";
      Str(out, "W/\"" + std::to_string(e.version) + "\"");
    }
    out += "}}";
  }
}

// One entry per additional-context resource after the events' entries, once each, and none
// for a resource that is an event's focus already.
void AppendContextEntries(std::string& out, const std::vector<NotificationEvent>& events,
                          PayloadContent content, const std::string& base_url) {
  if (content == PayloadContent::kEmpty) return;
  std::vector<std::string> seen;
  for (const NotificationEvent& e : events) seen.push_back(base_url + "/" + e.type + "/" + e.id);
  for (const NotificationEvent& e : events) {
    for (const ContextResource& c : e.context) {
      std::string full_url = base_url + "/" + c.type + "/" + c.id;
      if (std::find(seen.begin(), seen.end(), full_url) != seen.end()) continue;
      seen.push_back(full_url);
      out += R"(,{"fullUrl":)";
      Str(out, full_url);
      if (content == PayloadContent::kFullResource && !c.content.empty()) {
        out += R"(,"resource":)";
        out += c.content;
      }
      out += R"(,"request":{"method":"GET","url":)";
      Str(out, c.type + "/" + c.id);
      out += R"(},"response":{"status":"200"}})";
    }
  }
}

// The status Parameters without its opening `{"resourceType":"Parameters",`: the Bundle puts an
// id there. `numbers` are the events' numbers (this subscription's), `parts` their shared parts.
void AppendStatusParametersBody(std::string& out, const SubscriptionStatus& status, NotificationType type,
                                std::span<const std::int64_t> numbers, std::span<const SharedEventParts> parts,
                                PayloadContent content, const std::string& base_url) {
  out += R"("meta":{"profile":[)";
  Str(out, kStatusProfile);
  out += R"(]},"parameter":[)";
  AppendReferenceParameter(out, "subscription", base_url + "/Subscription/" + status.id);
  if (!status.topic_url.empty() && content != PayloadContent::kEmpty) {
    out += ',';
    AppendParameterString(out, "topic", "Canonical", status.topic_url);
  }
  out += ',';
  AppendParameterString(out, "status", "Code", status.status);
  out += ',';
  AppendParameterString(out, "type", "Code", NotificationTypeCode(type));
  out += ',';
  AppendParameterString(out, "events-since-subscription-start", "String",
                        std::to_string(status.events_since_start));
  for (std::size_t i = 0; i < numbers.size() && i < parts.size(); ++i) {
    out += R"(,{"name":"notification-event","part":[)";
    AppendParameterString(out, "event-number", "String", std::to_string(numbers[i]));
    out += ',';
    AppendParameterString(out, "timestamp", "Instant", parts[i].timestamp);
    out += parts[i].focus;
    out += "]}";
  }
  if (!status.error.empty()) {
    out += R"(,{"name":"error","valueCodeableConcept":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/subscription-error","code":"error-response"}],"text":)";
    Str(out, status.error);
    out += "}}";
  }
  out += "]}";
}

// The notification Bundle around the status Parameters, given its entries after the status
// entry (`entries`) and the time it is sent, formatted.
std::string BundleJson(const SubscriptionStatus& status, NotificationType type,
                       std::span<const std::int64_t> numbers, std::span<const SharedEventParts> parts,
                       std::string_view entries, PayloadContent content, const std::string& base_url,
                       std::string_view now) {
  std::string id = fhir::model::LogicalId::Generate().value();
  std::string status_id = fhir::model::LogicalId::Generate().value();
  std::string out;
  out.reserve(1024 + entries.size());
  out += R"({"resourceType":"Bundle","id":)";
  Str(out, id);
  out += R"(,"meta":{"profile":["http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification-r4"]},"type":"history","timestamp":)";
  Str(out, now);
  out += R"(,"entry":[{"fullUrl":)";
  Str(out, "urn:uuid:" + status_id);
  // The Parameters gets an id too (the IG's examples carry one).
  out += R"(,"resource":{"resourceType":"Parameters","id":)";
  Str(out, status_id);
  out += ',';
  AppendStatusParametersBody(out, status, type, numbers, parts, content, base_url);
  out += R"(,"request":{"method":"GET","url":)";
  Str(out, base_url + "/Subscription/" + status.id + "/$status");
  out += R"(},"response":{"status":"200"}})";
  out += entries;
  out += "]}";
  return out;
}

}  // namespace

std::string_view NotificationTypeCode(NotificationType t) {
  switch (t) {
    case NotificationType::kHandshake: return "handshake";
    case NotificationType::kHeartbeat: return "heartbeat";
    case NotificationType::kEventNotification: return "event-notification";
    case NotificationType::kQueryStatus: return "query-status";
    case NotificationType::kQueryEvent: return "query-event";
  }
  return "event-notification";
}

SharedEventParts SharedPartsOf(const NotificationEvent& e, PayloadContent content, const std::string& base_url) {
  SharedEventParts parts;
  parts.timestamp = common::FormatInstant(e.at);
  if (content != PayloadContent::kEmpty) {
    parts.focus += ',';
    AppendReferenceParameter(parts.focus, "focus", base_url + "/" + e.type + "/" + e.id);
    for (const ContextResource& c : e.context) {
      parts.focus += ',';
      AppendReferenceParameter(parts.focus, "additional-context", base_url + "/" + c.type + "/" + c.id);
    }
  }
  std::vector<NotificationEvent> one = {e};
  AppendEventEntries(parts.entries, one, content, base_url);
  AppendContextEntries(parts.entries, one, content, base_url);
  return parts;
}

namespace {

std::vector<std::int64_t> NumbersOf(const std::vector<NotificationEvent>& events) {
  std::vector<std::int64_t> numbers;
  for (const NotificationEvent& e : events) numbers.push_back(e.number);
  return numbers;
}

std::vector<SharedEventParts> SharedPartsOfAll(const std::vector<NotificationEvent>& events,
                                               PayloadContent content, const std::string& base_url) {
  std::vector<SharedEventParts> parts;
  for (const NotificationEvent& e : events) parts.push_back(SharedPartsOf(e, content, base_url));
  return parts;
}

}  // namespace

std::string StatusParametersJson(const SubscriptionStatus& status, NotificationType type,
                                 const std::vector<NotificationEvent>& events,
                                 PayloadContent content, const std::string& base_url) {
  std::string out = R"({"resourceType":"Parameters",)";
  AppendStatusParametersBody(out, status, type, NumbersOf(events), SharedPartsOfAll(events, content, base_url),
                             content, base_url);
  return out;
}

std::string NotificationBundleJson(const SubscriptionStatus& status, NotificationType type,
                                   const std::vector<NotificationEvent>& events,
                                   PayloadContent content, const std::string& base_url,
                                   common::TimePoint now) {
  // Several events: their entries, then the additional context once for them all.
  std::string entries;
  AppendEventEntries(entries, events, content, base_url);
  AppendContextEntries(entries, events, content, base_url);
  return BundleJson(status, type, NumbersOf(events), SharedPartsOfAll(events, content, base_url), entries,
                    content, base_url, common::FormatInstant(now));
}

std::string EventNotificationBundleJson(const SubscriptionStatus& status, NotificationType type,
                                        std::int64_t event_number, const SharedEventParts& parts,
                                        PayloadContent content, const std::string& base_url,
                                        std::string_view now) {
  return BundleJson(status, type, std::span<const std::int64_t>(&event_number, 1),
                    std::span<const SharedEventParts>(&parts, 1), parts.entries, content, base_url, now);
}

std::string MedplumNotificationBundleJson(const SubscriptionStatus& status, NotificationType type,
                                          const std::vector<NotificationEvent>& events,
                                          PayloadContent content, const std::string& base_url,
                                          common::TimePoint now) {
  std::string out = R"({"resourceType":"Bundle","id":)";
  Str(out, fhir::model::LogicalId::Generate().value());
  out += R"(,"type":"history","timestamp":)";
  Str(out, common::FormatInstant(now));
  std::string status_id = fhir::model::LogicalId::Generate().value();
  out += R"(,"entry":[{"fullUrl":)";
  Str(out, "urn:uuid:" + status_id);
  out += R"(,"resource":{"resourceType":"SubscriptionStatus","id":)";
  Str(out, status_id);
  out += R"(,"status":)";
  Str(out, status.status);
  out += R"(,"type":)";
  Str(out, NotificationTypeCode(type));
  out += R"(,"eventsSinceSubscriptionStart":)";
  Str(out, std::to_string(status.events_since_start));
  if (!events.empty()) {
    out += R"(,"notificationEvent":[)";
    bool first = true;
    for (const NotificationEvent& e : events) {
      if (!first) out += ',';
      first = false;
      out += R"({"eventNumber":)";
      Str(out, std::to_string(e.number));
      out += R"(,"timestamp":)";
      Str(out, common::FormatInstant(e.at));
      if (content != PayloadContent::kEmpty) {
        out += R"(,"focus":{"reference":)";
        Str(out, e.type + "/" + e.id);
        out += '}';
      }
      out += '}';
    }
    out += ']';
  }
  out += R"(,"subscription":{"reference":)";
  Str(out, "Subscription/" + status.id);
  out += '}';
  if (!status.topic_url.empty()) {
    out += R"(,"topic":)";  // canonical in R4B and R5
    Str(out, status.topic_url);
  }
  if (!status.error.empty()) {
    out += R"(,"error":[{"text":)";
    Str(out, status.error);
    out += "}]";
  }
  out += "}}";
  AppendEventEntries(out, events, content, base_url);
  out += "]}";
  return out;
}

std::string StatusSearchsetJson(const std::vector<SubscriptionStatus>& statuses,
                                const std::string& base_url, const std::string& self_url,
                                common::TimePoint now) {
  std::string out = R"({"resourceType":"Bundle","id":)";
  Str(out, fhir::model::LogicalId::Generate().value());
  out += R"(,"meta":{"lastUpdated":)";
  Str(out, common::FormatInstant(now));
  out += R"(},"type":"searchset","total":)";
  out += std::to_string(statuses.size());
  out += R"(,"link":[{"relation":"self","url":)";
  Str(out, self_url);
  out += R"(}],"entry":[)";
  bool first = true;
  for (const SubscriptionStatus& s : statuses) {
    if (!first) out += ',';
    first = false;
    std::string id = fhir::model::LogicalId::Generate().value();
    out += R"({"fullUrl":)";
    Str(out, "urn:uuid:" + id);
    std::string parameters =
        StatusParametersJson(s, NotificationType::kQueryStatus, {}, PayloadContent::kIdOnly, base_url);
    out += R"(,"resource":{"resourceType":"Parameters","id":)";
    Str(out, id);
    out += ',';
    out.append(parameters, std::string_view(R"({"resourceType":"Parameters",)").size(), std::string::npos);
    out += R"(,"search":{"mode":"match"}})";
  }
  out += "]}";
  return out;
}

}  // namespace subscriptions
