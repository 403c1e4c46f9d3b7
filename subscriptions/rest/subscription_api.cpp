#include "subscriptions/rest/subscription_api.h"

#include <algorithm>

#include "common/json.h"
#include "common/url.h"
#include "fhir/auth/crypto/secrets.h"
#include "fhir/format/json_format.h"
#include "fhir/rest/access_control.h"
#include "fhir/rest/media_types.h"
#include "fhir/rest/outcome.h"
#include "subscriptions/engine/notification_bundle.h"
#include "subscriptions/engine/notification_context.h"
#include "subscriptions/engine/subscription_spec.h"

namespace subscriptions {

using common::JsonValue;
using common::StatusCode;
using fhir::auth::Permission;
using fhir::auth::Reach;
using fhir::rest::RestRequest;
using fhir::rest::RestResponse;
using fhir::rest::FhirJsonResponse;
using fhir::rest::OutcomeResponse;

namespace {

// The values of an operation parameter: from the query string, and from a Parameters body
// (valueString, valueCode, valueId, valueUri... any primitive value[x]).
std::vector<std::string> ParamValues(const RestRequest& request, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : request.query) {
    if (k == name) {
      for (const std::string& item : fhir::search::SplitValues(v)) out.push_back(item);
    }
  }
  if (request.method != "POST" || request.body.empty()) return out;
  auto body = common::ParseJson(request.body);
  const JsonValue* params = body.has_value() ? body->Find("parameter") : nullptr;
  if (params == nullptr || !params->is_array()) return out;
  for (const JsonValue& p : params->items()) {
    const JsonValue* n = p.Find("name");
    if (n == nullptr || n->scalar() != name) continue;
    for (const auto& [key, value] : p.members()) {
      if (key.rfind("value", 0) == 0 && !value.is_object()) out.push_back(value.scalar());
    }
  }
  return out;
}

bool ParseCount(const std::string& text, std::int64_t& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (end == nullptr || *end != '\0' || v < 0) return false;
  out = v;
  return true;
}

}  // namespace

SubscriptionApi::SubscriptionApi(const TopicRegistry& topics,
                                 std::shared_ptr<fhir::search::LiveRegistry> search,
                                 fhir::store::ResourceStore& store,
                                 NotificationStore& notifications, const common::Clock& clock,
                                 SubscriptionApiOptions options)
    : topics_(topics),
      search_(std::move(search)),
      store_(store),
      notifications_(notifications),
      clock_(clock),
      options_(std::move(options)) {}

namespace {

// The registrant stamp (kRegistrantExtension) for the caller writing a Subscription: who may
// read what its rest-hooks carry. Only what access control needs, not the login's identity.
std::string RegistrantJson(const fhir::auth::Principal& writer) {
  fhir::auth::Principal stamp;
  stamp.kind = writer.kind;
  stamp.client_id = writer.client_id;
  stamp.fhir_user = writer.fhir_user;
  stamp.scopes = writer.scopes;
  stamp.patient = writer.patient;
  return ReaderJson(stamp);
}

common::Status StampRegistrant(fhir::model::Element& resource, const fhir::auth::Principal& writer) {
  FOVEA_ASSIGN_OR_RETURN(JsonValue json, common::ParseJson(fhir::format::WriteResourceJson(resource)));
  std::vector<JsonValue> kept;
  if (const JsonValue* list = json.Find("extension"); list != nullptr && list->is_array()) {
    for (const JsonValue& ext : list->items()) {
      const JsonValue* url = ext.Find("url");
      if (url == nullptr || url->scalar() != kRegistrantExtension) kept.push_back(ext);
    }
  }
  // `--auth off` writes no stamp: there is nobody whose access could narrow anything.
  if (writer.kind != fhir::auth::Principal::Kind::kTrusted) {
    JsonValue stamp = JsonValue::Object();
    stamp.Set("url", JsonValue::String(kRegistrantExtension));
    stamp.Set("valueString", JsonValue::String(RegistrantJson(writer)));
    kept.push_back(std::move(stamp));
  }
  JsonValue list = JsonValue::Array();
  for (JsonValue& ext : kept) list.Add(std::move(ext));
  std::erase_if(json.members(), [](const auto& m) { return m.first == "extension"; });
  if (!list.items().empty()) json.Set("extension", std::move(list));
  fhir::model::OperationOutcomeSink issues;
  FOVEA_ASSIGN_OR_RETURN(resource, fhir::format::ParseResourceJson(common::ToJson(json),
                                                                   fhir::definitions::Definitions::R4(), issues));
  return common::Status::Ok();
}

}  // namespace

fhir::rest::ExtensionSupport SubscriptionApi::Extensions() {
  fhir::rest::ExtensionSupport e;
  e.before_write = [this](fhir::model::Element& resource) { return BeforeWrite(resource); };
  e.plan_write = [](fhir::model::Element& resource, const std::string&, int,
                    const fhir::rest::AccessControl& access)
      -> common::Result<std::vector<fhir::store::PlannedWrite>> {
    if (resource.type() != nullptr && resource.type()->name == "Subscription") {
      FOVEA_RETURN_IF_ERROR(StampRegistrant(resource, access.principal()));
    }
    return std::vector<fhir::store::PlannedWrite>{};
  };
  e.operation = [this](const std::string& type, const std::string& id, const std::string& name,
                       const RestRequest& request, const fhir::rest::AccessControl& access) {
    return Operation(type, id, name, request, access);
  };
  for (const Topic& t : topics_.topics()) e.subscription_topics.push_back(t.url);
  return e;
}

common::Status SubscriptionApi::BeforeWrite(fhir::model::Element& resource) const {
  if (resource.type() == nullptr || resource.type()->name != "Subscription") {
    return common::Status::Ok();
  }
  FOVEA_ASSIGN_OR_RETURN(JsonValue json, common::ParseJson(fhir::format::WriteResourceJson(resource)));
  std::shared_ptr<const fhir::search::SearchParameterRegistry> search = search_->Get();
  SpecContext context{topics_, *search, options_.base_url, options_.allow_http_hooks};
  FOVEA_ASSIGN_OR_RETURN(SubscriptionSpec spec, ParseSubscription(json, context));
  if (options_.provenance == fhir::audit::ProvenanceStorage::kAuditTrail && spec.status != "off" &&
      spec.FiltersFor("Provenance") != nullptr) {
    return common::InvalidError(
        "This server reads the Provenance of its writes from its audit trail (--provenance "
        "audit-trail), where they raise no notifications: a Subscription on Provenance would "
        "miss them. Subscribe to the resources they are about, whose changes notify, or ask "
        "for the server to store Provenance as resources (--provenance resource)");
  }
  // The server moves a subscription to active (or error); a client may ask, or switch it off.
  if (spec.status == "requested" || spec.status == "active") {
    resource.SetPrimitiveChild("status",
                               spec.channel == ChannelType::kWebSocket ? "active" : "requested");
  } else if (spec.status == "error") {
    return common::InvalidError("Subscription.status: 'error' is set by the server; send requested "
                                "(to try again) or off");
  }
  return common::Status::Ok();
}

std::optional<RestResponse> SubscriptionApi::Operation(const std::string& type,
                                                       const std::string& id,
                                                       const std::string& name,
                                                       const RestRequest& request,
                                                       const fhir::rest::AccessControl& access) const {
  if (type != "Subscription") return std::nullopt;
  if (request.method != "GET" && request.method != "POST") {
    return OutcomeResponse(common::Status(StatusCode::kMethodNotAllowed, "$" + name + " takes GET or POST"));
  }
  if (name == "status") return Status(id, request, access);
  if (name == "get-ws-binding-token") return BindingToken(id, request, access);
  if (name == "events") {
    if (id.empty()) return OutcomeResponse(common::InvalidError("$events is an instance operation: Subscription/[id]/$events"));
    return Events(id, request, access);
  }
  return std::nullopt;
}

RestResponse SubscriptionApi::Status(const std::string& id, const RestRequest& request,
                                     const fhir::rest::AccessControl& access) const {
  if (auto st = access.Require("Subscription", Permission::kRead); !st.ok()) return OutcomeResponse(st);
  std::vector<std::string> ids;
  if (!id.empty()) {
    ids = {id};
  } else {
    ids = ParamValues(request, "id");
    if (ids.empty()) {
      auto all = notifications_.SubscriptionIds();
      if (!all.has_value()) return OutcomeResponse(all.error());
      ids = std::move(all).value();
    }
  }
  std::vector<std::string> wanted_status = ParamValues(request, "status");
  auto counts = notifications_.EventCounts(ids);
  if (!counts.has_value()) return OutcomeResponse(counts.error());
  std::vector<SubscriptionStatus> statuses;
  for (const std::string& sid : ids) {
    auto stored = store_.Read("Subscription", sid);
    if (!stored.has_value() || stored->deleted ||
        (access.ReachFor("Subscription", Permission::kRead) != Reach::kAll &&
         !access.MayAccess("Subscription", Permission::kRead, stored->content))) {
      if (!id.empty()) {
        return OutcomeResponse(common::Status(StatusCode::kNotFound, "Subscription/" + sid + " is not known"));
      }
      continue;  // type level: not reported
    }
    auto json = common::ParseJson(stored->content);
    if (!json.has_value()) continue;
    SubscriptionStatus s;
    s.id = sid;
    const JsonValue* status = json->Find("status");
    s.status = status != nullptr ? status->scalar() : "";
    const JsonValue* criteria = json->Find("criteria");
    if (criteria != nullptr && topics_.Find(criteria->scalar()) != nullptr) s.topic_url = criteria->scalar();
    const JsonValue* error = json->Find("error");
    if (error != nullptr) s.error = error->scalar();
    auto count = counts->find(sid);
    s.events_since_start = count != counts->end() ? count->second : 0;
    if (!wanted_status.empty() &&
        std::find(wanted_status.begin(), wanted_status.end(), s.status) == wanted_status.end()) {
      continue;
    }
    statuses.push_back(std::move(s));
  }
  std::string self = request.base_url + "/Subscription/" + (id.empty() ? "" : id + "/") + "$status";
  return FhirJsonResponse(200, StatusSearchsetJson(statuses, request.base_url, self, clock_.Now()));
}

RestResponse SubscriptionApi::Events(const std::string& id, const RestRequest& request,
                                     const fhir::rest::AccessControl& access) const {
  if (auto st = access.Require("Subscription", Permission::kRead); !st.ok()) return OutcomeResponse(st);
  auto stored = store_.Read("Subscription", id);
  if (!stored.has_value() || stored->deleted ||
      (access.ReachFor("Subscription", Permission::kRead) != Reach::kAll &&
       !access.MayAccess("Subscription", Permission::kRead, stored->content))) {
    return OutcomeResponse(common::Status(StatusCode::kNotFound, "Subscription/" + id + " is not known"));
  }
  auto json = common::ParseJson(stored->content);
  if (!json.has_value()) return OutcomeResponse(json.error());
  std::shared_ptr<const fhir::search::SearchParameterRegistry> search = search_->Get();
  SpecContext context{topics_, *search, options_.base_url, true};
  auto spec = ParseSubscription(*json, context);
  if (!spec.has_value()) return OutcomeResponse(spec.error());
  auto counts = notifications_.EventCounts({id});
  if (!counts.has_value()) return OutcomeResponse(counts.error());
  std::int64_t total = counts->count(id) != 0 ? counts->at(id) : 0;

  std::int64_t since = 1;
  std::int64_t until = total;
  std::vector<std::string> since_values = ParamValues(request, "eventsSinceNumber");
  std::vector<std::string> until_values = ParamValues(request, "eventsUntilNumber");
  if (!since_values.empty() && !ParseCount(since_values.front(), since)) {
    return OutcomeResponse(common::InvalidError("eventsSinceNumber must be a whole number"));
  }
  if (!until_values.empty() && !ParseCount(until_values.front(), until)) {
    return OutcomeResponse(common::InvalidError("eventsUntilNumber must be a whole number"));
  }
  // Without a lower bound, the most recent events the answer can carry.
  if (since_values.empty() && until - since + 1 > static_cast<std::int64_t>(options_.max_events)) {
    since = until - static_cast<std::int64_t>(options_.max_events) + 1;
  }
  PayloadContent content = spec->content;
  if (std::vector<std::string> hint = ParamValues(request, "content"); !hint.empty()) {
    if (hint.front() == "empty") content = PayloadContent::kEmpty;
    else if (hint.front() == "id-only") content = PayloadContent::kIdOnly;
    else if (hint.front() == "full-resource") content = PayloadContent::kFullResource;
    else return OutcomeResponse(common::InvalidError("content must be empty, id-only or full-resource"));
  }
  auto events = notifications_.Events(id, since, until, options_.max_events,
                                      NeedsEventContent(*spec, content));
  if (!events.has_value()) return OutcomeResponse(events.error());
  AttachContext(*spec, *events, *search, store_, content == PayloadContent::kFullResource);
  // Full resources only where the caller may read them; the others stay id-only.
  KeepReadable(*events, access);
  SubscriptionStatus status;
  status.id = id;
  status.status = spec->status;
  if (spec->topic_based()) status.topic_url = spec->topic->url;
  status.events_since_start = total;
  return FhirJsonResponse(200, NotificationBundleJson(status, NotificationType::kQueryEvent, *events, content,
                                          request.base_url, clock_.Now()));
}

std::string BindingTokenHash(std::string_view token) {
  return fhir::auth::Base64UrlEncode(fhir::auth::Sha256(token));
}

std::string ReaderJson(const fhir::auth::Principal& reader) {
  using Kind = fhir::auth::Principal::Kind;
  std::string out = R"({"kind":)";
  common::AppendJsonString(out, reader.kind == Kind::kTrusted ? "trusted"
                                : reader.kind == Kind::kClient ? "client"
                                                               : "user");
  auto field = [&out](const char* name, const std::string& value) {
    out += ",\"";
    out += name;
    out += "\":";
    common::AppendJsonString(out, value);
  };
  field("subject", reader.subject);
  field("client", reader.client_id);
  field("fhirUser", reader.fhir_user);
  field("scopes", reader.scopes.ToString());
  field("patient", reader.patient);
  field("tokenId", reader.token_id);
  out += R"(,"roles":[)";
  for (std::size_t i = 0; i < reader.roles.size(); ++i) {
    if (i != 0) out += ',';
    common::AppendJsonString(out, reader.roles[i]);
  }
  out += "]}";
  return out;
}

common::Result<fhir::auth::Principal> ReaderFromJson(std::string_view json) {
  using Kind = fhir::auth::Principal::Kind;
  FOVEA_ASSIGN_OR_RETURN(JsonValue v, common::ParseJson(json));
  auto text = [&v](std::string_view key) {
    const JsonValue* f = v.Find(key);
    return f != nullptr && f->is_string() ? f->scalar() : std::string();
  };
  fhir::auth::Principal p;
  std::string kind = text("kind");
  if (kind == "trusted") {
    p.kind = Kind::kTrusted;
  } else if (kind == "client") {
    p.kind = Kind::kClient;
  } else if (kind == "user") {
    p.kind = Kind::kUser;
  } else {
    return common::InvalidError("not a binding token's reader");
  }
  p.subject = text("subject");
  p.client_id = text("client");
  p.fhir_user = text("fhirUser");
  p.scopes = fhir::auth::ScopeSet::Parse(text("scopes"));
  p.patient = text("patient");
  p.token_id = text("tokenId");
  if (const JsonValue* roles = v.Find("roles"); roles != nullptr && roles->is_array()) {
    for (const JsonValue& r : roles->items()) p.roles.push_back(r.scalar());
  }
  return p;
}

// $get-ws-binding-token (SUBSCRIPTIONS.md §3.4): a short-lived token for one or more websocket
// subscriptions the caller may read, and where to use it.
RestResponse SubscriptionApi::BindingToken(const std::string& id, const RestRequest& request,
                                           const fhir::rest::AccessControl& access) const {
  if (auto st = access.Require("Subscription", Permission::kRead); !st.ok()) return OutcomeResponse(st);
  std::vector<std::string> ids = id.empty() ? ParamValues(request, "id") : std::vector<std::string>{id};
  if (ids.empty()) {
    return OutcomeResponse(common::InvalidError(
        "Name the subscriptions: Subscription/[id]/$get-ws-binding-token, or id parameters"));
  }
  for (const std::string& sid : ids) {
    auto stored = store_.Read("Subscription", sid);
    bool reachable = stored.has_value() && !stored->deleted &&
                     (access.ReachFor("Subscription", Permission::kRead) == Reach::kAll ||
                      access.MayAccess("Subscription", Permission::kRead, stored->content));
    if (!reachable) {
      return OutcomeResponse(common::Status(StatusCode::kNotFound, "Subscription/" + sid + " is not known"));
    }
    auto json = common::ParseJson(stored->content);
    const JsonValue* channel = json.has_value() ? json->Find("channel") : nullptr;
    const JsonValue* type = channel != nullptr ? channel->Find("type") : nullptr;
    if (type == nullptr || type->scalar() != "websocket") {
      return OutcomeResponse(common::InvalidError("Subscription/" + sid + " does not use the websocket channel"));
    }
  }
  std::string token = fhir::auth::RandomToken(32);
  common::TimePoint expires = clock_.Now() + options_.binding_token_lifetime;
  // Kept with who asked: full-resource payloads on the socket go only where this reader may read.
  if (auto st = notifications_.SaveBindingToken(BindingTokenHash(token), ids, expires,
                                                ReaderJson(access.principal()));
      !st.ok()) {
    return OutcomeResponse(st);
  }
  // ws(s)://host[:port]/ws/subscriptions-r4, from the FHIR base the client used.
  std::string base = request.base_url;
  std::string url = base.rfind("https://", 0) == 0 ? "wss://" + base.substr(8)
                    : base.rfind("http://", 0) == 0 ? "ws://" + base.substr(7)
                                                   : base;
  std::string path = fhir::rest::kFhirBasePath;
  if (url.size() >= path.size() && url.compare(url.size() - path.size(), path.size(), path) == 0) {
    url.resize(url.size() - path.size());
  }
  url += kWebSocketPath;
  std::string out = R"({"resourceType":"Parameters","parameter":[{"name":"token","valueString":)";
  common::AppendJsonString(out, token);
  out += R"(},{"name":"expiration","valueDateTime":)";
  common::AppendJsonString(out, common::FormatInstant(expires));
  out += '}';
  for (const std::string& sid : ids) {
    out += R"(,{"name":"subscription","valueString":)";
    common::AppendJsonString(out, sid);
    out += '}';
  }
  out += R"(,{"name":"websocket-url","valueUrl":)";
  common::AppendJsonString(out, url);
  out += "}]}";
  return FhirJsonResponse(200, std::move(out));
}

}  // namespace subscriptions
