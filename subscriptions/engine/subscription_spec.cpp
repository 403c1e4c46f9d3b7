#include "subscriptions/engine/subscription_spec.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "common/url.h"
#include "fhir/model/issues.h"
#include "fhir/rest/bind_address.h"
#include "fhir/search/memory_matcher.h"

namespace subscriptions {

using common::JsonValue;
using common::Result;
using common::Status;
using Params = std::vector<std::pair<std::string, std::string>>;

namespace {

const std::string kFilterCriteria = std::string(kBackportBase) + "backport-filter-criteria";
const std::string kPayloadContent = std::string(kBackportBase) + "backport-payload-content";
const std::string kHeartbeat = std::string(kBackportBase) + "backport-heartbeat-period";
const std::string kTimeout = std::string(kBackportBase) + "backport-timeout";
const std::string kMaxCount = std::string(kBackportBase) + "backport-max-count";
const std::string kProfile = std::string(kBackportBase) + "backport-subscription";

std::string Str(const JsonValue& v, std::string_view key) {
  const JsonValue* f = v.Find(key);
  return f != nullptr && f->is_string() ? f->scalar() : std::string();
}

// The extensions of `_element` (the primitive's extension holder), as (url, value) pairs.
std::vector<const JsonValue*> ExtensionsOf(const JsonValue* holder) {
  std::vector<const JsonValue*> out;
  if (holder == nullptr) return out;
  const JsonValue* list = holder->Find("extension");
  if (list == nullptr || !list->is_array()) return out;
  for (const JsonValue& e : list->items()) out.push_back(&e);
  return out;
}

// The value[x] of an extension, whatever its type.
const JsonValue* ValueOf(const JsonValue& extension) {
  for (const auto& [key, value] : extension.members()) {
    if (key.rfind("value", 0) == 0) return &value;
  }
  return nullptr;
}

bool IsResourceType(std::string_view s) {
  return !s.empty() && std::isupper(static_cast<unsigned char>(s.front())) &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
}

Status Invalid(const std::string& where, const std::string& why) {
  return common::InvalidError("Subscription." + where + ": " + why);
}

// One backport-filter-criteria value: "Task?encounter=X", "Task.encounter=X" or "encounter=X".
struct FilterText {
  std::string type;  // empty: every trigger resource of the topic
  Params params;
};

Result<FilterText> ParseFilterText(const std::string& text) {
  FilterText f;
  std::size_t q = text.find('?');
  std::size_t eq = text.find('=');
  if (q != std::string::npos && (eq == std::string::npos || q < eq)) {
    f.type = text.substr(0, q);
    f.params = common::ParseQueryString(text.substr(q + 1));
  } else {
    std::size_t dot = text.find('.');
    if (dot != std::string::npos && (eq == std::string::npos || dot < eq) &&
        IsResourceType(std::string_view(text).substr(0, dot))) {
      f.type = text.substr(0, dot);
      f.params = common::ParseQueryString(text.substr(dot + 1));
    } else {
      f.params = common::ParseQueryString(text);
    }
  }
  if (f.params.empty()) return common::InvalidError("the filter '" + text + "' has no parameter");
  if (!f.type.empty() && !IsResourceType(f.type)) {
    return common::InvalidError("the filter '" + text + "' names no resource type");
  }
  return f;
}

// Parsed and checked criteria for one type: strict (unknown parameters are errors) and within
// what the in-memory matcher evaluates.
Result<fhir::search::SearchQuery> CriteriaFor(const std::string& type, const Params& params,
                                              const SpecContext& c) {
  fhir::model::OperationOutcomeSink issues;
  fhir::search::SearchOptions options;
  options.strict = true;
  fhir::search::SearchQuery query = fhir::search::ParseSearch(type, params, c.search, options, issues);
  if (issues.HasErrors()) return common::InvalidError(issues.issues().front().diagnostics);
  for (const auto& [name, value] : params) {
    if (!name.empty() && name.front() == '_' && name != "_id") {
      return common::InvalidError("'" + name + "' is a result parameter, not a criterion");
    }
  }
  query.base_url = c.base_url;
  if (Status st = fhir::search::CheckMatchable(query); !st.ok()) {
    return common::InvalidError(st.message());
  }
  return query;
}

// The topic's filters, per trigger type: each subscriber parameter mapped to the search
// parameter the topic says it stands for on that type.
Status AddTopicFilters(const JsonValue& subscription, const Topic& topic, const SpecContext& c,
                       SubscriptionSpec& spec) {
  std::map<std::string, Params> per_type;
  for (const ResourceTrigger& t : topic.triggers) per_type[t.resource];
  for (const JsonValue* ext : ExtensionsOf(subscription.Find("_criteria"))) {
    std::string url = Str(*ext, "url");
    if (url != kFilterCriteria) {
      return Invalid("criteria", "the extension " + url + " is not supported (only " +
                                     kFilterCriteria + ")");
    }
    const JsonValue* value = ValueOf(*ext);
    if (value == nullptr || !value->is_string()) {
      return Invalid("criteria", "backport-filter-criteria needs a valueString");
    }
    spec.filter_texts.push_back(value->scalar());
    FOVEA_ASSIGN_OR_RETURN(FilterText f, ParseFilterText(value->scalar()));
    if (!f.type.empty() && per_type.count(f.type) == 0) {
      return Invalid("criteria", "the filter '" + value->scalar() + "' is for " + f.type +
                                     ", which the topic " + topic.url + " does not cover");
    }
    for (auto& [type, params] : per_type) {
      if (!f.type.empty() && f.type != type) continue;
      for (const auto& [name, v] : f.params) {
        std::string base = name.substr(0, name.find(':'));
        std::string modifier = name.size() > base.size() ? name.substr(base.size()) : "";
        auto mapped = topic.FilterParameterFor(base, type);
        if (!mapped) {
          // A filter without a type must be offered for every trigger type it applies to.
          return Invalid("criteria", "the topic " + topic.url + " offers no filter '" + base +
                                         "' for " + type);
        }
        std::string value_text = v;
        if (*mapped == "_id") value_text = v.substr(v.rfind('/') == std::string::npos ? 0 : v.rfind('/') + 1);
        params.emplace_back(*mapped + modifier, value_text);
      }
    }
  }
  for (auto& [type, params] : per_type) {
    auto query = CriteriaFor(type, params, c);
    if (!query.has_value()) return Invalid("criteria", query.error().message());
    spec.filters.push_back({type, std::move(query).value()});
  }
  return Status::Ok();
}

Status AddClassicCriteria(const std::string& criteria, const SpecContext& c, SubscriptionSpec& spec) {
  std::size_t q = criteria.find('?');
  std::string type = criteria.substr(0, q);
  Params params = q == std::string::npos ? Params{} : common::ParseQueryString(criteria.substr(q + 1));
  auto query = CriteriaFor(type, params, c);
  if (!query.has_value()) return Invalid("criteria", query.error().message());
  spec.filters.push_back({type, std::move(query).value()});
  return Status::Ok();
}

// Whether an http:// URL's host is a loopback address, by the server's one rule for that
// (fhir/rest/bind_address.h).
bool LoopbackUrl(std::string_view url) {
  constexpr std::string_view kHttp = "http://";
  if (url.substr(0, kHttp.size()) != kHttp) return false;
  std::string_view authority = url.substr(kHttp.size());
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) return false;  // no user info games
  std::string_view host = authority;
  if (!host.empty() && host.front() == '[') {
    std::size_t close = host.find(']');
    if (close == std::string_view::npos) return false;
    host = host.substr(1, close - 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  return fhir::rest::IsLoopbackAddress(host);
}

Status ReadChannel(const JsonValue& subscription, const SpecContext& c, SubscriptionSpec& spec) {
  const JsonValue* channel = subscription.Find("channel");
  if (channel == nullptr || !channel->is_object()) return Invalid("channel", "is required");
  if (channel->Find("_type") != nullptr) {
    return Invalid("channel.type", "custom channel types (backport-channel-type) are not supported");
  }
  std::string type = Str(*channel, "type");
  if (type == "rest-hook") {
    spec.channel = ChannelType::kRestHook;
  } else if (type == "websocket") {
    spec.channel = ChannelType::kWebSocket;
  } else {
    return Invalid("channel.type", "'" + type + "' is not supported: use rest-hook or websocket");
  }
  spec.endpoint = Str(*channel, "endpoint");
  if (spec.channel == ChannelType::kRestHook) {
    bool https = spec.endpoint.rfind("https://", 0) == 0;
    bool http = spec.endpoint.rfind("http://", 0) == 0;
    if (!https && !(http && (c.allow_http_hooks || LoopbackUrl(spec.endpoint)))) {
      return Invalid("channel.endpoint", spec.endpoint.empty()
                                             ? "a rest-hook needs an endpoint"
                                             : "a rest-hook endpoint must be https:// (plain http only "
                                               "on loopback, or when the server allows it)");
    }
  }
  if (const JsonValue* headers = channel->Find("header"); headers != nullptr) {
    for (const JsonValue& h : headers->items()) {
      const std::string& text = h.scalar();
      std::size_t colon = text.find(':');
      if (colon == std::string::npos || colon == 0) {
        return Invalid("channel.header", "'" + text + "' is not 'Name: value'");
      }
      std::string value = text.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      spec.headers.emplace_back(text.substr(0, colon), value);
    }
  }
  spec.payload_mime = Str(*channel, "payload");
  if (!spec.payload_mime.empty()) {
    std::string mime = spec.payload_mime.substr(0, spec.payload_mime.find(';'));
    if (mime != "application/fhir+json" && mime != "application/json") {
      return Invalid("channel.payload", "'" + spec.payload_mime +
                                            "' is not supported: use application/fhir+json");
    }
    std::size_t version = spec.payload_mime.find("fhirVersion=");
    if (version != std::string::npos && spec.payload_mime.compare(version + 12, 3, "4.0") != 0) {
      return Invalid("channel.payload", "only FHIR 4.0 payloads are served");
    }
  }
  // Content: the backport extension; classic subscriptions: the resource when a payload is set,
  // and always on a websocket (what @medplum/core's subscribeToCriteria creates and expects:
  // Medplum's server sends the resource there; Fovea only to readers allowed to read it).
  spec.content = spec.topic_based() || !spec.payload_mime.empty() ? PayloadContent::kIdOnly
                                                                  : PayloadContent::kEmpty;
  if (!spec.topic_based() && (!spec.payload_mime.empty() || spec.channel == ChannelType::kWebSocket)) {
    spec.content = PayloadContent::kFullResource;
  }
  for (const JsonValue* ext : ExtensionsOf(channel->Find("_payload"))) {
    std::string url = Str(*ext, "url");
    const JsonValue* value = ValueOf(*ext);
    if (url != kPayloadContent || value == nullptr) {
      return Invalid("channel.payload", "the extension " + url + " is not supported");
    }
    const std::string& code = value->scalar();
    if (code == "empty") {
      spec.content = PayloadContent::kEmpty;
    } else if (code == "id-only") {
      spec.content = PayloadContent::kIdOnly;
    } else if (code == "full-resource") {
      spec.content = PayloadContent::kFullResource;
    } else {
      return Invalid("channel.payload", "payload content '" + code +
                                            "' is not one of empty, id-only, full-resource");
    }
  }
  for (const JsonValue* ext : ExtensionsOf(channel)) {
    std::string url = Str(*ext, "url");
    const JsonValue* value = ValueOf(*ext);
    int n = value != nullptr ? std::atoi(value->scalar().c_str()) : -1;
    if (url == kHeartbeat && n >= 0) {
      spec.heartbeat_seconds = n;
    } else if (url == kTimeout && n >= 0) {
      spec.timeout_seconds = n;
    } else if (url == kMaxCount && n >= 1) {
      spec.max_count = n;
    } else {
      return Invalid("channel", "the extension " + url + " is not supported or has a bad value");
    }
  }
  return Status::Ok();
}

// Extensions on the Subscription itself. Only the server's own registrant stamp is understood
// (a client sending back what it read is fine: the server replaces it); any other would be
// accepted and ignored, so it is refused instead, by name. Medplum's (its client adds them only
// when the caller asks) change what fires or how it is delivered, so they get a message that
// says what to use here.
Status ReadResourceExtensions(const JsonValue& subscription, SubscriptionSpec& spec) {
  if (subscription.Find("modifierExtension") != nullptr) {
    return Invalid("modifierExtension", "no modifier extension is understood here");
  }
  for (const JsonValue* ext : ExtensionsOf(&subscription)) {
    std::string url = Str(*ext, "url");
    if (url == kRegistrantExtension) {
      spec.registrant = Str(*ext, "valueString");
      continue;
    }
    if (url == "https://medplum.com/fhir/StructureDefinition/subscription-supported-interaction" ||
        url == "https://medplum.com/fhir/StructureDefinition/fhir-path-criteria-expression") {
      return Invalid("extension", url + " is not supported: subscribe to a topic instead (per-type "
                                        "create/update/delete topics and task-status, see the "
                                        "CapabilityStatement)");
    }
    return Invalid("extension", "the extension " + url + " is not supported");
  }
  return Status::Ok();
}

}  // namespace

std::string_view PayloadContentCode(PayloadContent c) {
  switch (c) {
    case PayloadContent::kEmpty: return "empty";
    case PayloadContent::kIdOnly: return "id-only";
    case PayloadContent::kFullResource: return "full-resource";
  }
  return "id-only";
}

const TypeFilter* SubscriptionSpec::FiltersFor(const std::string& type) const {
  for (const TypeFilter& f : filters) {
    if (f.type == type) return &f;
  }
  return nullptr;
}

Result<SubscriptionSpec> ParseSubscription(const JsonValue& subscription, const SpecContext& c) {
  if (Str(subscription, "resourceType") != "Subscription") {
    return common::InvalidError("not a Subscription");
  }
  SubscriptionSpec spec;
  FOVEA_RETURN_IF_ERROR(ReadResourceExtensions(subscription, spec));
  spec.id = Str(subscription, "id");
  spec.status = Str(subscription, "status");
  spec.criteria = Str(subscription, "criteria");
  if (spec.criteria.empty()) return Invalid("criteria", "is required");
  std::string type = spec.criteria.substr(0, spec.criteria.find('?'));
  if (IsResourceType(type)) {
    if (subscription.Find("_criteria") != nullptr) {
      return Invalid("criteria", "filter extensions need a topic URL in criteria, not a search");
    }
    FOVEA_RETURN_IF_ERROR(AddClassicCriteria(spec.criteria, c, spec));
  } else {
    spec.topic = c.topics.Find(spec.criteria);
    if (spec.topic == nullptr) {
      return Invalid("criteria", "the topic '" + spec.criteria +
                                     "' is not known here (see the CapabilityStatement's "
                                     "subscription topics)");
    }
    FOVEA_RETURN_IF_ERROR(AddTopicFilters(subscription, *spec.topic, c, spec));
  }
  FOVEA_RETURN_IF_ERROR(ReadChannel(subscription, c, spec));
  if (std::string end = Str(subscription, "end"); !end.empty()) {
    common::TimePoint t;
    if (!common::ParseInstant(end, t)) return Invalid("end", "is not an instant");
    spec.end = t;
  }
  return spec;
}

}  // namespace subscriptions
