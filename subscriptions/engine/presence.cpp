#include "subscriptions/engine/presence.h"

#include "common/json.h"

namespace subscriptions {

using common::JsonValue;

namespace {

// "Encounter/<id>" from a reference filter's value (relative, absolute on this server, or a
// bare id); nullopt for anything else.
std::optional<std::string> EncounterReference(std::string value, std::string_view base_url) {
  if (!base_url.empty() && value.size() > base_url.size() + 1 && value.compare(0, base_url.size(), base_url) == 0 &&
      value[base_url.size()] == '/') {
    value.erase(0, base_url.size() + 1);
  }
  std::size_t slash = value.find('/');
  if (slash == std::string::npos) value = "Encounter/" + value;
  else if (value.compare(0, slash, "Encounter") != 0 || value.find('/', slash + 1) != std::string::npos) return std::nullopt;
  if (value.size() <= std::string_view("Encounter/").size()) return std::nullopt;
  return value;
}

JsonValue StaffJson(const StaffMember& staff) {
  JsonValue s = JsonValue::Object();
  s.Set("reference", JsonValue::String(staff.reference));
  s.Set("user", JsonValue::String(staff.user));
  JsonValue roles = JsonValue::Array();
  for (const std::string& r : staff.roles) roles.Add(JsonValue::String(r));
  s.Set("roles", std::move(roles));
  return s;
}

std::string Text(const JsonValue& v, std::string_view key) {
  const JsonValue* f = v.Find(key);
  return f != nullptr && f->is_string() ? f->scalar() : std::string();
}

}  // namespace

std::optional<std::string> SessionOfSubscription(const SubscriptionSpec& spec, std::string_view base_url) {
  for (const TypeFilter& filter : spec.filters) {
    for (const fhir::search::Clause& c : filter.query.clauses) {
      if (c.chain != nullptr || c.values.size() != 1) continue;
      bool by_reference = (c.name == "encounter" || c.name == "context") &&
                          (c.modifier.empty() || c.modifier == "Encounter");
      bool by_id = filter.type == "Encounter" && c.name == "_id" && c.modifier.empty();
      if (by_reference) {
        if (auto session = EncounterReference(c.values.front(), base_url)) return session;
      } else if (by_id && c.values.front().find('/') == std::string::npos) {
        return EncounterReference(c.values.front(), base_url);
      }
    }
  }
  return std::nullopt;
}

std::optional<StaffMember> StaffOf(const fhir::auth::Principal& reader) {
  if (reader.kind != fhir::auth::Principal::Kind::kUser || reader.fhir_user.empty()) return std::nullopt;
  StaffMember staff;
  staff.reference = reader.fhir_user;
  staff.user = reader.subject;
  staff.roles = reader.roles;
  return staff;
}

std::string PresenceChangeJson(const PresenceChange& change) {
  JsonValue v = JsonValue::Object();
  v.Set("session", JsonValue::String(change.session));
  v.Set("event", JsonValue::String(change.joined ? "join" : "leave"));
  v.Set("staff", StaffJson(change.staff));
  return common::ToJson(v);
}

common::Result<PresenceChange> ParsePresenceChange(std::string_view json) {
  FOVEA_ASSIGN_OR_RETURN(JsonValue v, common::ParseJson(json));
  PresenceChange change;
  change.session = Text(v, "session");
  std::string event = Text(v, "event");
  const JsonValue* staff = v.Find("staff");
  if (change.session.empty() || (event != "join" && event != "leave") || staff == nullptr || !staff->is_object()) {
    return common::InvalidError("not a presence change");
  }
  change.joined = event == "join";
  change.staff.reference = Text(*staff, "reference");
  change.staff.user = Text(*staff, "user");
  if (const JsonValue* roles = staff->Find("roles"); roles != nullptr && roles->is_array()) {
    for (const JsonValue& r : roles->items()) change.staff.roles.push_back(r.scalar());
  }
  return change;
}

std::string PresenceFrame(const std::string& session, std::string_view event, const StaffMember* staff,
                          const std::vector<PresentStaff>& active) {
  JsonValue v = JsonValue::Object();
  v.Set("type", JsonValue::String("presence"));
  v.Set("session", JsonValue::String(session));
  v.Set("event", JsonValue::String(std::string(event)));
  if (staff != nullptr) v.Set("staff", StaffJson(*staff));
  JsonValue list = JsonValue::Array();
  for (const PresentStaff& p : active) {
    JsonValue entry = StaffJson(p.staff);
    entry.Set("since", JsonValue::String(common::FormatInstant(p.since)));
    list.Add(std::move(entry));
  }
  v.Set("active", std::move(list));
  return common::ToJson(v);
}

}  // namespace subscriptions
