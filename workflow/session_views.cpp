#include "workflow/session_views.h"

#include <algorithm>
#include <cmath>

#include "fhir/model/issues.h"
#include "fhir/rest/media_types.h"
#include "fhir/rest/outcome.h"
#include "fhir/search/search_query.h"

namespace workflow {

using common::JsonValue;
using common::Result;
using common::Status;
using common::StatusCode;
using fhir::rest::RestRequest;
using fhir::rest::RestResponse;
using fhir::rest::FhirJsonResponse;
using fhir::rest::OutcomeResponse;

namespace {

constexpr int kRecentSteps = 20;  // completed steps a typical duration is taken from

std::string Str(const JsonValue* v, std::initializer_list<const char*> path) {
  for (const char* p : path) {
    if (v == nullptr) return "";
    v = v->Find(p);
  }
  return v != nullptr && !v->is_object() && !v->is_array() ? v->scalar() : "";
}

std::optional<common::TimePoint> Instant(const std::string& text) {
  common::TimePoint t;
  if (text.empty() || !common::ParseInstant(text, t)) return std::nullopt;
  return t;
}

double Minutes(common::TimePoint from, common::TimePoint to) {
  return std::round(std::chrono::duration<double>(to - from).count() / 6.0) / 10.0;  // 0.1 min
}

std::string Decimal(double v) {
  std::string s = std::to_string(std::round(v * 10.0) / 10.0);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

void Param(std::string& out, const std::string& name, const char* type, const std::string& value) {
  if (out.back() != '[') out += ',';
  out += R"({"name":)";
  common::AppendJsonString(out, name);
  out += R"(,"value)";
  out += type;
  out += R"(":)";
  if (std::string_view(type) == "Decimal" || std::string_view(type) == "Integer") {
    out += value;
  } else if (std::string_view(type) == "Reference") {
    out += R"({"reference":)";
    common::AppendJsonString(out, value);
    out += '}';
  } else {
    common::AppendJsonString(out, value);
  }
  out += '}';
}

}  // namespace

SessionViews::SessionViews(WorkflowRules& rules, fhir::store::ResourceStore& store,
                           fhir::search::SearchBackend& search,
                           std::shared_ptr<fhir::search::LiveRegistry> registry, const common::Clock& clock)
    : rules_(rules), store_(store), search_(search), registry_(std::move(registry)), clock_(clock) {}

Result<std::vector<fhir::search::SearchMatch>> SessionViews::Find(
    const std::string& type, std::vector<std::pair<std::string, std::string>> params) {
  return SearchFor(search_, *registry_->Get(), type, params);
}

Result<std::optional<fhir::search::SearchMatch>> SessionViews::SessionOf(const std::string& encounter_id) {
  FOVEA_ASSIGN_OR_RETURN(auto tasks, Find("Task", {{"encounter", "Encounter/" + encounter_id},
                                                   {"code", std::string(kStepSystem) + "|" + kSessionCode}}));
  if (tasks.empty()) return std::optional<fhir::search::SearchMatch>();
  return std::optional<fhir::search::SearchMatch>(std::move(tasks.front()));
}

std::optional<double> SessionViews::TypicalSeconds(const std::string& step) {
  auto done = Find("Task", {{"code", std::string(kStepSystem) + "|" + step}, {"status", "completed"},
                            {"_sort", "-_lastUpdated"}, {"_count", std::to_string(kRecentSteps)}});
  if (!done.has_value()) return std::nullopt;
  std::vector<double> seconds;
  for (const auto& m : *done) {
    auto json = common::ParseJson(m.content);
    if (!json.has_value()) continue;
    auto start = Instant(Str(&*json, {"executionPeriod", "start"}));
    auto end = Instant(Str(&*json, {"executionPeriod", "end"}));
    if (start && end && *end >= *start) seconds.push_back(std::chrono::duration<double>(*end - *start).count());
  }
  if (seconds.empty()) return std::nullopt;
  std::sort(seconds.begin(), seconds.end());
  std::size_t mid = seconds.size() / 2;
  return seconds.size() % 2 == 1 ? seconds[mid] : (seconds[mid - 1] + seconds[mid]) / 2.0;
}

Result<SessionViews::Located> SessionViews::Locate(const std::string& encounter_id,
                                                   const fhir::rest::AccessControl& access) {
  for (const char* t : {"Encounter", "Task"}) {
    FOVEA_RETURN_IF_ERROR(access.Require(t, fhir::auth::Permission::kRead));
  }
  auto visit = store_.Read("Encounter", encounter_id);
  if (!visit.has_value() || visit->deleted ||
      (access.ReachFor("Encounter", fhir::auth::Permission::kRead) != fhir::auth::Reach::kAll &&
       !access.MayAccess("Encounter", fhir::auth::Permission::kRead, visit->content))) {
    return Status(StatusCode::kNotFound, "Encounter/" + encounter_id + " is not known");
  }
  FOVEA_ASSIGN_OR_RETURN(auto session, SessionOf(encounter_id));
  if (!session.has_value()) {
    return Status(StatusCode::kNotFound, "Encounter/" + encounter_id + " is not a screening session");
  }
  FOVEA_ASSIGN_OR_RETURN(JsonValue session_json, common::ParseJson(session->content));
  FOVEA_ASSIGN_OR_RETURN(auto steps, rules_.SessionSteps(session->id));
  return Located{std::move(visit).value(), std::move(session).value(), std::move(session_json), std::move(steps)};
}

RestResponse SessionViews::SessionStatus(const std::string& encounter_id, const RestRequest& request,
                                         const fhir::rest::AccessControl& access) {
  auto found = Locate(encounter_id, access);
  if (!found.has_value()) return OutcomeResponse(found.error());
  const fhir::store::ResourceVersion* visit = &found->encounter;
  const fhir::search::SearchMatch* session = &found->session;
  TaskView session_view = TaskView::Of(found->session_json);
  auto plan = rules_.PlanOf(session_view.plan);
  if (!plan.has_value()) return OutcomeResponse(plan.error());
  const auto* steps = &found->steps;
  auto encounter_json = common::ParseJson(visit->content);

  const common::TimePoint now = clock_.Now();
  std::string out = R"({"resourceType":"Parameters","parameter":[)";
  Param(out, "encounter", "Reference", "Encounter/" + encounter_id);
  Param(out, "encounter-status", "Code", Str(&*encounter_json, {"status"}));
  Param(out, "session", "Reference", "Task/" + session->id);
  Param(out, "session-status", "Code", session_view.status);
  std::vector<std::string> staff;
  double remaining_seconds = 0;
  bool estimable = true;
  bool open = false;
  for (const Step& step : (*plan)->steps()) {
    auto it = steps->find(step.id);
    if (it == steps->end()) continue;
    auto json = common::ParseJson(it->second.content);
    if (!json.has_value()) continue;
    TaskView t = TaskView::Of(*json);
    if (t.status == "ready" || t.status == "in-progress" || t.status == "on-hold") Param(out, "current", "Code", step.id);
    if (t.status == "in-progress" && !t.owner.empty() && std::find(staff.begin(), staff.end(), t.owner) == staff.end()) {
      staff.push_back(t.owner);
    }
    out += R"(,{"name":"step","part":[)";
    Param(out, "code", "Code", step.id);
    Param(out, "task", "Reference", "Task/" + it->second.id);
    Param(out, "status", "Code", t.status);
    if (!t.owner.empty()) Param(out, "owner", "Reference", t.owner);
    auto start = Instant(Str(&*json, {"executionPeriod", "start"}));
    auto end = Instant(Str(&*json, {"executionPeriod", "end"}));
    if (start) Param(out, "started", "DateTime", common::FormatInstant(*start));
    if (end) Param(out, "ended", "DateTime", common::FormatInstant(*end));
    if (start) Param(out, "minutes", "Decimal", Decimal(Minutes(*start, end.value_or(now))));
    out += "]}";
    // What is left: each unfinished step's typical duration (less what it has run already).
    if (t.status != "completed" && t.status != "cancelled" && t.status != "entered-in-error") {
      open = true;
      std::optional<double> typical = TypicalSeconds(step.id);
      if (!typical) {
        estimable = false;
        continue;
      }
      double spent = start ? std::chrono::duration<double>(now - *start).count() : 0.0;
      remaining_seconds += std::max(0.0, *typical - spent);
    }
  }
  // Working on a step, or present on the session's WebSocket: both are active staff.
  std::vector<std::pair<std::string, common::TimePoint>> present;
  if (presence_) {
    auto found = presence_("Encounter/" + encounter_id);
    if (found.has_value()) present = std::move(found).value();
  }
  for (const auto& [who, since] : present) {
    if (std::find(staff.begin(), staff.end(), who) == staff.end()) staff.push_back(who);
  }
  for (const std::string& s : staff) Param(out, "active-staff", "Reference", s);
  for (const auto& [who, since] : present) {
    out += R"(,{"name":"present","part":[)";
    Param(out, "staff", "Reference", who);
    Param(out, "since", "DateTime", common::FormatInstant(since));
    out += "]}";
  }
  if (open && estimable) {
    // Steps are summed as if one after another: parallel steps make the real wait shorter.
    Param(out, "estimated-minutes-remaining", "Decimal", Decimal(remaining_seconds / 60.0));
    Param(out, "estimated-completion", "DateTime",
          common::FormatInstant(now + std::chrono::duration_cast<common::TimePoint::duration>(
                                          std::chrono::duration<double>(remaining_seconds))));
  }
  out += "]}";
  (void)request;
  return FhirJsonResponse(200, std::move(out));
}

RestResponse SessionViews::Timeline(const std::string& encounter_id, const RestRequest& request,
                                    const fhir::rest::AccessControl& access) {
  auto found = Locate(encounter_id, access);
  if (!found.has_value()) return OutcomeResponse(found.error());
  if (Status st = access.Require("Provenance", fhir::auth::Permission::kSearch); !st.ok()) return OutcomeResponse(st);
  // What the session is made of: its Encounter, its Tasks and what the steps produced.
  std::vector<std::string> targets = {"Encounter/" + encounter_id, "Task/" + found->session.id};
  for (const auto& [step, task] : found->steps) {
    targets.push_back("Task/" + task.id);
    auto json = common::ParseJson(task.content);
    const JsonValue* outputs = json.has_value() ? json->Find("output") : nullptr;
    if (outputs == nullptr || !outputs->is_array()) continue;
    for (const JsonValue& o : outputs->items()) {
      std::string ref = Str(&o, {"valueReference", "reference"});
      if (!ref.empty() && std::find(targets.begin(), targets.end(), ref) == targets.end()) targets.push_back(ref);
    }
  }
  std::string any_of;
  for (const std::string& t : targets) any_of += (any_of.empty() ? "" : ",") + t;
  auto provenance = Find("Provenance", {{"target", any_of}, {"_sort", "recorded"}, {"_count", "1000"}});
  if (!provenance.has_value()) return OutcomeResponse(provenance.error());
  std::string out = R"({"resourceType":"Bundle","type":"collection","total":)" + std::to_string(provenance->size()) +
                    R"(,"entry":[)";
  bool first = true;
  for (const fhir::search::SearchMatch& m : *provenance) {
    if (!access.MayAccess("Provenance", fhir::auth::Permission::kRead, m.content)) continue;
    out += first ? "" : ",";
    first = false;
    out += R"({"fullUrl":)";
    common::AppendJsonString(out, request.base_url + "/Provenance/" + m.id);
    out += R"(,"resource":)" + m.content + "}";
  }
  out += "]}";
  return FhirJsonResponse(200, std::move(out));
}

RestResponse SessionViews::Queue(const std::string& location_id, const RestRequest& request,
                                 const fhir::rest::AccessControl& access) {
  for (const char* t : {"Encounter", "Task"}) {
    if (Status st = access.Require(t, fhir::auth::Permission::kSearch); !st.ok()) return OutcomeResponse(st);
  }
  auto unit = store_.Head("Location", location_id);
  if (!unit.has_value() || unit->deleted) return OutcomeResponse(Status(StatusCode::kNotFound, "Location/" + location_id + " is not known"));
  auto open = Find("Encounter", {{"location", "Location/" + location_id}, {"status", "arrived,triaged,in-progress"},
                                 {"_count", "500"}});
  if (!open.has_value()) return OutcomeResponse(open.error());
  struct Waiting {
    std::string encounter, patient, session;
    std::vector<std::string> current;
    std::vector<std::string> owners;
    double minutes = 0;
  };
  std::vector<Waiting> queue;
  const common::TimePoint now = clock_.Now();
  for (const auto& e : *open) {
    if (!access.MayAccess("Encounter", fhir::auth::Permission::kRead, e.content) &&
        access.ReachFor("Encounter", fhir::auth::Permission::kRead) != fhir::auth::Reach::kAll) {
      continue;
    }
    auto session = SessionOf(e.id);
    if (!session.has_value()) return OutcomeResponse(session.error());
    if (!session->has_value()) continue;
    auto steps = rules_.SessionSteps((*session)->id);
    if (!steps.has_value()) return OutcomeResponse(steps.error());
    auto encounter_json = common::ParseJson(e.content);
    Waiting w;
    w.encounter = "Encounter/" + e.id;
    w.patient = encounter_json.has_value() ? Str(&*encounter_json, {"subject", "reference"}) : "";
    w.session = "Task/" + (*session)->id;
    std::optional<common::TimePoint> since;
    for (const auto& [code, version] : *steps) {
      auto json = common::ParseJson(version.content);
      if (!json.has_value()) continue;
      TaskView t = TaskView::Of(*json);
      if (t.status != "ready" && t.status != "in-progress" && t.status != "on-hold") continue;
      w.current.push_back(code);
      if (!t.owner.empty()) w.owners.push_back(t.owner);
      // A ready step waits since it became ready (its last change); one in progress is not waiting.
      if (t.status == "ready") {
        auto at = Instant(Str(&*json, {"lastModified"}));
        common::TimePoint ready = at.value_or(version.last_updated);
        if (!since || ready < *since) since = ready;
      }
    }
    w.minutes = since ? Minutes(*since, now) : 0;
    queue.push_back(std::move(w));
  }
  std::stable_sort(queue.begin(), queue.end(), [](const Waiting& a, const Waiting& b) { return a.minutes > b.minutes; });
  std::string out = R"({"resourceType":"Parameters","parameter":[)";
  Param(out, "location", "Reference", "Location/" + location_id);
  Param(out, "count", "Integer", std::to_string(queue.size()));
  for (const Waiting& w : queue) {
    out += R"(,{"name":"session","part":[)";
    Param(out, "encounter", "Reference", w.encounter);
    if (!w.patient.empty()) Param(out, "patient", "Reference", w.patient);
    Param(out, "task", "Reference", w.session);
    for (const std::string& c : w.current) Param(out, "current", "Code", c);
    for (const std::string& o : w.owners) Param(out, "owner", "Reference", o);
    Param(out, "waiting-minutes", "Decimal", Decimal(w.minutes));
    out += "]}";
  }
  out += "]}";
  (void)request;
  return FhirJsonResponse(200, std::move(out));
}

}  // namespace workflow
