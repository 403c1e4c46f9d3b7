#include "workflow/workflow_rules.h"

#include <algorithm>

#include "fhir/definitions/definitions.h"
#include "fhir/format/json_format.h"
#include "fhir/model/issues.h"
#include "fhir/rest/writes.h"
#include "fhir/search/index_extractor.h"
#include "fhir/search/search_query.h"
#include "workflow/session_start.h"

namespace workflow {

using common::JsonValue;
using common::Result;
using common::Status;
using common::StatusCode;
using fhir::store::PlannedWrite;
using fhir::store::ResourceVersion;

namespace {

std::string Str(const JsonValue* v, std::string_view key) {
  if (v == nullptr) return "";
  const JsonValue* f = v->Find(key);
  return f != nullptr && !f->is_object() && !f->is_array() ? f->scalar() : std::string();
}

// "Encounter/e1" → "e1" when the reference is to `type`, else "".
std::string IdIn(const std::string& reference, std::string_view type) {
  std::string prefix = std::string(type) + "/";
  std::size_t at = reference.find(prefix);
  if (at == std::string::npos || (at != 0 && reference[at - 1] != '/')) return "";
  std::string id = reference.substr(at + prefix.size());
  return id.substr(0, id.find('/'));  // drop a /_history/n
}

std::string ReferenceOf(const JsonValue* element) { return Str(element, "reference"); }

JsonValue& Member(JsonValue& object, const std::string& key, JsonValue fresh) {
  for (auto& [k, v] : object.members()) {
    if (k == key) return v;
  }
  return object.Set(key, std::move(fresh));
}

// Whether a CodeableConcept (or an array of them) carries one of `codes`.
bool Carries(const JsonValue* element, const std::vector<Coding>& codes) {
  if (element == nullptr) return false;
  if (element->is_array()) {
    return std::any_of(element->items().begin(), element->items().end(),
                       [&](const JsonValue& item) { return Carries(&item, codes); });
  }
  const JsonValue* codings = element->Find("coding");
  if (codings == nullptr || !codings->is_array()) return false;
  for (const JsonValue& c : codings->items()) {
    for (const Coding& want : codes) {
      if (Str(&c, "code") == want.code && (want.system.empty() || Str(&c, "system") == want.system)) return true;
    }
  }
  return false;
}

bool Satisfies(const JsonValue& resource, const OutputRequirement& req) {
  if (Str(&resource, "resourceType") != req.type) return false;
  std::string status = Str(&resource, "status");
  if (status == "entered-in-error" || status == "cancelled") return false;
  return std::all_of(req.filters.begin(), req.filters.end(),
                     [&](const CodeFilter& f) { return Carries(resource.Find(f.path), f.codes); });
}

// The status that makes a result final when the session is approved, or "" to leave it.
std::string FinalStatusOf(const std::string& type, const std::string& status) {
  if ((type == "Observation" || type == "DiagnosticReport") &&
      (status == "registered" || status == "preliminary")) {
    return "final";
  }
  if (type == "VisionPrescription" && status == "draft") return "active";
  if (type == "ClinicalImpression" && status == "in-progress") return "completed";
  return "";
}

bool IsStepPlan(const JsonValue& plan) {
  const JsonValue* actions = plan.Find("action");
  if (actions == nullptr || !actions->is_array()) return false;
  for (const JsonValue& a : actions->items()) {
    const JsonValue* codes = a.Find("code");
    if (codes == nullptr || !codes->is_array()) continue;
    for (const JsonValue& c : codes->items()) {
      const JsonValue* codings = c.Find("coding");
      if (codings == nullptr || !codings->is_array()) continue;
      for (const JsonValue& coding : codings->items()) {
        if (Str(&coding, "system") == kStepSystem) return true;
      }
    }
  }
  return false;
}

}  // namespace

Result<std::vector<fhir::search::SearchMatch>> SearchFor(
    fhir::search::SearchBackend& search, const fhir::search::SearchParameterRegistry& registry,
    const std::string& type, const std::vector<std::pair<std::string, std::string>>& params) {
  fhir::model::OperationOutcomeSink issues;
  fhir::search::SearchOptions options;
  options.max_count = 1000;
  fhir::search::SearchQuery query = fhir::search::ParseSearch(type, params, registry, options, issues);
  FOVEA_ASSIGN_OR_RETURN(fhir::search::SearchResult found, search.Search(query));
  return std::move(found.matches);
}

TaskView TaskView::Of(const JsonValue& task) {
  TaskView v;
  v.status = Str(&task, "status");
  if (const JsonValue* code = task.Find("code"); code != nullptr) {
    if (const JsonValue* codings = code->Find("coding"); codings != nullptr && codings->is_array()) {
      for (const JsonValue& c : codings->items()) {
        if (Str(&c, "system") == kStepSystem) v.step = Str(&c, "code");
      }
    }
  }
  if (const JsonValue* based = task.Find("basedOn"); based != nullptr && based->is_array()) {
    for (const JsonValue& b : based->items()) {
      std::string id = IdIn(ReferenceOf(&b), "PlanDefinition");
      if (!id.empty()) v.plan = "PlanDefinition/" + id;
    }
  }
  if (const JsonValue* part = task.Find("partOf"); part != nullptr && part->is_array() && !part->items().empty()) {
    v.session = IdIn(ReferenceOf(&part->items().front()), "Task");
  }
  v.encounter = IdIn(ReferenceOf(task.Find("encounter")), "Encounter");
  v.owner = ReferenceOf(task.Find("owner"));
  return v;
}

WorkflowRules::WorkflowRules(fhir::store::ResourceStore& store, fhir::search::SearchBackend& search,
                             std::shared_ptr<fhir::search::LiveRegistry> registry,
                             const common::Clock& clock)
    : store_(store), search_(search), registry_(std::move(registry)), clock_(clock) {}

Actor WorkflowRules::ActorOf(const fhir::rest::AccessControl& access) {
  const fhir::auth::Principal& p = access.principal();
  Actor a;
  a.unrestricted = access.trusted() ||
                   std::find(p.roles.begin(), p.roles.end(), "admin") != p.roles.end();
  a.roles = p.roles;
  a.reference = p.fhir_user;
  return a;
}

Result<std::shared_ptr<const ScreeningPlan>> WorkflowRules::PlanOf(const std::string& reference) {
  std::string id = IdIn(reference, "PlanDefinition");
  FOVEA_ASSIGN_OR_RETURN(ResourceVersion stored, store_.Read("PlanDefinition", id));
  if (stored.deleted) return Status(StatusCode::kConflict, reference + " was deleted");
  {
    std::lock_guard lock(mu_);
    auto it = plans_.find(id);
    if (it != plans_.end() && it->second.version == stored.version) return it->second.plan;
  }
  FOVEA_ASSIGN_OR_RETURN(JsonValue json, common::ParseJson(stored.content));
  FOVEA_ASSIGN_OR_RETURN(ScreeningPlan plan, ScreeningPlan::Parse(json));
  auto shared = std::make_shared<const ScreeningPlan>(std::move(plan));
  std::lock_guard lock(mu_);
  plans_[id] = {stored.version, shared};
  return std::shared_ptr<const ScreeningPlan>(shared);
}

Result<std::map<std::string, ResourceVersion>> WorkflowRules::SessionSteps(const std::string& session_id) {
  FOVEA_ASSIGN_OR_RETURN(auto found, SearchFor(search_, *registry_->Get(), "Task",
                                               {{"part-of", "Task/" + session_id}, {"_count", "100"}}));
  std::map<std::string, ResourceVersion> out;
  for (fhir::search::SearchMatch& m : found) {
    FOVEA_ASSIGN_OR_RETURN(JsonValue json, common::ParseJson(m.content));
    TaskView view = TaskView::Of(json);
    if (view.step.empty()) continue;
    ResourceVersion v;
    v.type = "Task";
    v.id = m.id;
    v.version = m.version;
    v.last_updated = m.last_updated;
    v.content = std::move(m.content);
    out[view.step] = std::move(v);
  }
  return out;
}

Result<PlannedWrite> WorkflowRules::Revise(const ResourceVersion& current,
                                           const std::function<void(JsonValue&)>& edit) {
  FOVEA_ASSIGN_OR_RETURN(JsonValue json, common::ParseJson(current.content));
  edit(json);
  PlannedWrite w;
  w.expected_version = current.version;
  FOVEA_ASSIGN_OR_RETURN(w.version, fhir::rest::VersionOfJson(common::ToJson(json), current.type, current.id,
                                                             current.version + 1, fhir::store::Method::kUpdate,
                                                             clock_.Now(), registry_->Get().get()));
  return w;
}

Status WorkflowRules::CheckDelete(const std::string& type, const std::string& id,
                                  const fhir::rest::AccessControl& access) {
  if (type != "Task") return Status::Ok();
  auto current = store_.Read(type, id);
  if (!current.has_value() || current->deleted) return Status::Ok();
  FOVEA_ASSIGN_OR_RETURN(JsonValue json, common::ParseJson(current->content));
  TaskView t = TaskView::Of(json);
  if (!t.is_step() && t.step != kSessionCode) return Status::Ok();
  if (t.status == "draft" || t.status == "cancelled" || t.status == "entered-in-error") return Status::Ok();
  (void)access;
  return Status(StatusCode::kConflict, "Task/" + id + " is a screening " +
                                           std::string(t.step == kSessionCode ? "session" : "step") + " (" +
                                           t.status + "): it is kept; a supervisor marks it entered-in-error instead");
}

Result<std::vector<PlannedWrite>> WorkflowRules::PlanWrite(fhir::model::Element& resource,
                                                           const std::string& id, int replaces_version,
                                                           const fhir::rest::AccessControl& access) {
  if (resource.type() == nullptr) return std::vector<PlannedWrite>{};
  const std::string& type = resource.type()->name;
  if (type == "PlanDefinition") {
    FOVEA_ASSIGN_OR_RETURN(JsonValue json, common::ParseJson(fhir::format::WriteResourceJson(resource)));
    if (IsStepPlan(json)) {
      auto parsed = ScreeningPlan::Parse(json);
      if (!parsed.has_value()) return parsed.error();
    }
    return std::vector<PlannedWrite>{};
  }
  if (type == "Encounter" && replaces_version == 0) return PlanCheckIn(resource, id, access);
  if (type == "Encounter") return PlanEncounterUpdate(resource, id, replaces_version);
  if (type != "Task") return std::vector<PlannedWrite>{};
  return PlanTaskWrite(resource, id, replaces_version, access);
}

Result<std::vector<PlannedWrite>> WorkflowRules::PlanCheckIn(fhir::model::Element& resource, const std::string& id,
                                                             const fhir::rest::AccessControl& access) {
  FOVEA_ASSIGN_OR_RETURN(JsonValue encounter, common::ParseJson(fhir::format::WriteResourceJson(resource)));
  if (!IsScreeningEncounter(encounter)) return std::vector<PlannedWrite>{};
  const std::string status = Str(&encounter, "status");
  if (status != "planned" && status != "arrived" && status != "triaged" && status != "in-progress") {
    return std::vector<PlannedWrite>{};  // a record of a past visit starts nothing
  }
  SessionStart start;
  start.patient_id = IdIn(ReferenceOf(encounter.Find("subject")), "Patient");
  if (const JsonValue* locations = encounter.Find("location"); locations != nullptr && locations->is_array() &&
                                                                 !locations->items().empty()) {
    start.location_id = IdIn(ReferenceOf(locations->items().front().Find("location")), "Location");
  }
  if (start.patient_id.empty()) {
    return common::InvalidError("Encounter.subject: a screening check-in names its Patient (Patient/<id>)");
  }
  start.plan_id = kPlanId;
  FOVEA_ASSIGN_OR_RETURN(std::shared_ptr<const ScreeningPlan> plan, PlanOf(std::string("PlanDefinition/") + kPlanId));
  start.plan = plan.get();
  start.requester = ActorOf(access).reference;
  start.now = clock_.Now();
  return SessionTasks(start, id, *registry_->Get());
}

Result<std::vector<PlannedWrite>> WorkflowRules::PlanEncounterUpdate(fhir::model::Element& resource,
                                                                     const std::string& id, int replaces_version) {
  std::vector<PlannedWrite> effects;
  FOVEA_ASSIGN_OR_RETURN(JsonValue encounter, common::ParseJson(fhir::format::WriteResourceJson(resource)));
  const std::string status = Str(&encounter, "status");
  if (status != "cancelled" && status != "entered-in-error") return effects;
  auto previous = store_.ReadVersion("Encounter", id, replaces_version);
  if (!previous.has_value() || previous->deleted) return effects;
  FOVEA_ASSIGN_OR_RETURN(JsonValue before, common::ParseJson(previous->content));
  const std::string was = Str(&before, "status");
  if (was == "cancelled" || was == "entered-in-error" || was == "finished") return effects;
  FOVEA_ASSIGN_OR_RETURN(auto sessions, SearchFor(search_, *registry_->Get(), "Task",
                                                  {{"encounter", "Encounter/" + id},
                                                   {"code", std::string(kStepSystem) + "|" + kSessionCode}}));
  const std::string at = common::FormatInstant(clock_.Now());
  const std::string why = status == "cancelled" ? "Visit cancelled" : "Visit entered in error";
  auto cancel = [&](const ResourceVersion& task) -> Status {
    FOVEA_ASSIGN_OR_RETURN(JsonValue json, common::ParseJson(task.content));
    const std::string task_status = Str(&json, "status");
    if (task_status == "completed" || task_status == "cancelled" || task_status == "failed" ||
        task_status == "entered-in-error") {
      return Status::Ok();  // what was done stays done
    }
    FOVEA_ASSIGN_OR_RETURN(PlannedWrite w, Revise(task, [&](JsonValue& t) {
      t.Set("status", JsonValue::String("cancelled"));
      JsonValue reason = JsonValue::Object();
      reason.Set("text", JsonValue::String(why));
      t.Set("statusReason", std::move(reason));
      t.Set("lastModified", JsonValue::String(at));
    }));
    effects.push_back(std::move(w));
    return Status::Ok();
  };
  for (fhir::search::SearchMatch& m : sessions) {
    ResourceVersion session;
    session.type = "Task";
    session.id = m.id;
    session.version = m.version;
    session.content = std::move(m.content);
    FOVEA_ASSIGN_OR_RETURN(auto steps, SessionSteps(session.id));
    for (const auto& [code, step] : steps) FOVEA_RETURN_IF_ERROR(cancel(step));
    FOVEA_RETURN_IF_ERROR(cancel(session));
  }
  return effects;
}

Result<std::vector<PlannedWrite>> WorkflowRules::PlanTaskWrite(fhir::model::Element& resource,
                                                               const std::string& id, int replaces_version,
                                                               const fhir::rest::AccessControl& access) {
  std::vector<PlannedWrite> effects;
  FOVEA_ASSIGN_OR_RETURN(JsonValue task, common::ParseJson(fhir::format::WriteResourceJson(resource)));
  TaskView now = TaskView::Of(task);
  std::optional<TaskView> before;
  if (replaces_version > 0) {
    auto previous = store_.ReadVersion("Task", id, replaces_version);
    if (!previous.has_value() && previous.error().code() != StatusCode::kNotFound) return previous.error();
    if (previous.has_value() && !previous->deleted) {
      FOVEA_ASSIGN_OR_RETURN(JsonValue json, common::ParseJson(previous->content));
      before = TaskView::Of(json);
    }
  }
  StepChange change;
  change.from = before ? before->status : "";
  change.to = now.status;
  change.from_owner = before ? before->owner : "";
  change.to_owner = now.owner;
  const Actor actor = ActorOf(access);
  // Other Tasks (an EHR's own workflows) are not the screening's to police.
  if (!now.is_step() && !(before && before->is_step())) {
    const bool session = now.step == kSessionCode || (before && before->step == kSessionCode);
    if (session && before) FOVEA_RETURN_IF_ERROR(CheckStepChange(change, actor));
    return effects;
  }
  if (before && before->is_step() &&
      (before->step != now.step || before->session != now.session || before->encounter != now.encounter ||
       before->plan != now.plan)) {
    return Status(StatusCode::kConflict,
                  "A screening step's code, session (partOf), encounter and plan (basedOn) are fixed "
                  "when the session starts");
  }
  FOVEA_ASSIGN_OR_RETURN(std::shared_ptr<const ScreeningPlan> plan, PlanOf(now.plan));
  const Step* step = plan->Find(now.step);
  if (step == nullptr) {
    return common::InvalidError("Task.code: '" + now.step + "' is not a step of " + now.plan);
  }
  change.step_role = step->role.code;
  change.step = step->id;
  FOVEA_RETURN_IF_ERROR(CheckStepChange(change, actor));
  if (!before || before->status == now.status) return effects;

  // The transition is allowed: record its timing, and what completing it means.
  const std::string at = common::FormatInstant(clock_.Now());
  if (now.status == "in-progress" && !Member(task, "executionPeriod", JsonValue::Object()).Find("start")) {
    Member(task, "executionPeriod", JsonValue::Object()).Set("start", JsonValue::String(at));
  }
  if (now.status == "completed") {
    if (now.encounter.empty() || now.session.empty()) {
      return common::InvalidError("A screening step needs Task.encounter and Task.partOf (its session)");
    }
    FOVEA_RETURN_IF_ERROR(LinkOutputs(*step, now.encounter, task));
    Member(task, "executionPeriod", JsonValue::Object()).Set("end", JsonValue::String(at));

    // The session Task first, then the steps: a completion that commits between the two reads
    // shows in the steps, and one that commits later changes the session Task, so this write's
    // compare-and-set on it fails and the request re-plans. Read the other way round, two
    // parallel steps completing at once could each miss the other and leave the next draft.
    auto session = store_.Read("Task", now.session);
    if (!session.has_value()) return session.error();
    FOVEA_ASSIGN_OR_RETURN(auto steps, SessionSteps(now.session));
    auto completed = [&](const std::string& step_id) {
      if (step_id == step->id) return true;
      auto it = steps.find(step_id);
      if (it == steps.end()) return false;
      auto json = common::ParseJson(it->second.content);
      return json.has_value() && Str(&*json, "status") == "completed";
    };
    std::vector<std::string> readied;
    for (const Step* next : plan->Next(step->id)) {
      auto it = steps.find(next->id);
      if (it == steps.end()) continue;
      if (!std::all_of(next->after.begin(), next->after.end(), completed)) continue;
      auto json = common::ParseJson(it->second.content);
      std::string status = json.has_value() ? Str(&*json, "status") : "";
      if (status != "draft" && status != "requested") continue;
      FOVEA_ASSIGN_OR_RETURN(PlannedWrite w, Revise(it->second, [&](JsonValue& t) {
        t.Set("status", JsonValue::String("ready"));
        t.Set("lastModified", JsonValue::String(at));  // waiting since (step alerts, $queue)
      }));
      effects.push_back(std::move(w));
      readied.push_back(next->id);
    }
    // The session Task records the progress; every completion writes it, so completions of
    // parallel steps take turns (one of two concurrent ones re-plans and sees the other).
    const bool last = plan->IsLast(step->id);
    FOVEA_ASSIGN_OR_RETURN(PlannedWrite w, Revise(*session, [&](JsonValue& s) {
      std::string text = step->title + " completed";
      if (!readied.empty()) {
        text += "; ready: ";
        for (std::size_t i = 0; i < readied.size(); ++i) text += (i == 0 ? "" : ", ") + readied[i];
      }
      if (last) {
        text = "Approved: session finished";
        s.Set("status", JsonValue::String("completed"));
        Member(s, "executionPeriod", JsonValue::Object()).Set("end", JsonValue::String(at));
      }
      JsonValue business = JsonValue::Object();
      business.Set("text", JsonValue::String(text));
      s.Set("businessStatus", std::move(business));
      s.Set("lastModified", JsonValue::String(at));
    }));
    effects.push_back(std::move(w));
    if (last) {
      FOVEA_RETURN_IF_ERROR(FinishSession(now.encounter, steps, task, effects));
    } else if (step->after.empty()) {
      // Checked in: the visit itself is under way.
      auto visit = store_.Read("Encounter", now.encounter);
      if (visit.has_value() && !visit->deleted) {
        FOVEA_ASSIGN_OR_RETURN(JsonValue e, common::ParseJson(visit->content));
        if (Str(&e, "status") == "arrived" || Str(&e, "status") == "triaged") {
          FOVEA_ASSIGN_OR_RETURN(PlannedWrite w, Revise(*visit, [](JsonValue& v) {
            v.Set("status", JsonValue::String("in-progress"));
          }));
          effects.push_back(std::move(w));
        }
      }
    }
  }
  task.Set("lastModified", JsonValue::String(at));
  fhir::model::OperationOutcomeSink issues;
  FOVEA_ASSIGN_OR_RETURN(resource, fhir::format::ParseResourceJson(common::ToJson(task),
                                                                   fhir::definitions::Definitions::R4(), issues));
  return effects;
}

Status WorkflowRules::LinkOutputs(const Step& step, const std::string& encounter, JsonValue& task) {
  if (step.outputs.empty()) return Status::Ok();
  // Candidates: what the Task links already, then what the session has of each type.
  std::vector<JsonValue> candidates;
  std::vector<std::string> references;
  if (const JsonValue* outputs = task.Find("output"); outputs != nullptr && outputs->is_array()) {
    for (const JsonValue& o : outputs->items()) {
      std::string ref = ReferenceOf(o.Find("valueReference"));
      std::size_t slash = ref.find('/');
      if (slash == std::string::npos) continue;
      auto stored = store_.Read(ref.substr(0, slash), ref.substr(slash + 1));
      if (!stored.has_value() || stored->deleted) continue;
      FOVEA_ASSIGN_OR_RETURN(JsonValue json, common::ParseJson(stored->content));
      candidates.push_back(std::move(json));
      references.push_back(ref);
    }
  }
  std::vector<std::string> types;
  for (const OutputRequirement& req : step.outputs) {
    if (std::find(types.begin(), types.end(), req.type) != types.end()) continue;
    types.push_back(req.type);
    FOVEA_ASSIGN_OR_RETURN(auto found, SearchFor(search_, *registry_->Get(), req.type,
                                                 {{"encounter", "Encounter/" + encounter}, {"_count", "200"}}));
    for (const fhir::search::SearchMatch& m : found) {
      std::string ref = m.type + "/" + m.id;
      if (std::find(references.begin(), references.end(), ref) != references.end()) continue;
      FOVEA_ASSIGN_OR_RETURN(JsonValue json, common::ParseJson(m.content));
      candidates.push_back(std::move(json));
      references.push_back(ref);
    }
  }
  std::vector<bool> used(candidates.size(), false);
  JsonValue& outputs = Member(task, "output", JsonValue::Array());
  for (const OutputRequirement& req : step.outputs) {
    std::size_t found = candidates.size();
    for (std::size_t i = 0; i < candidates.size() && found == candidates.size(); ++i) {
      if (!used[i] && Satisfies(candidates[i], req)) found = i;
    }
    if (found == candidates.size()) {
      return Status(StatusCode::kConflict,
                    "The " + step.id + " step cannot be completed yet: Encounter/" + encounter +
                        " has no " + req.Describe() + ". Record it in the session, then complete the step");
    }
    used[found] = true;
    bool linked = std::any_of(outputs.items().begin(), outputs.items().end(), [&](const JsonValue& o) {
      return ReferenceOf(o.Find("valueReference")) == references[found];
    });
    if (linked) continue;
    JsonValue output = JsonValue::Object();
    Coding kind = req.filters.empty() ? step.code : req.filters.front().codes.front();
    output.Set("type", ConceptJson(kind));
    output.Set("valueReference", ReferenceJson(references[found]));
    outputs.Add(std::move(output));
  }
  return Status::Ok();
}

Status WorkflowRules::FinishSession(const std::string& encounter,
                                    const std::map<std::string, ResourceVersion>& steps,
                                    const JsonValue& completing, std::vector<PlannedWrite>& effects) {
  const std::string at = common::FormatInstant(clock_.Now());
  auto visit = store_.Read("Encounter", encounter);
  if (visit.has_value() && !visit->deleted) {
    FOVEA_ASSIGN_OR_RETURN(PlannedWrite w, Revise(*visit, [&](JsonValue& e) {
      e.Set("status", JsonValue::String("finished"));
      Member(e, "period", JsonValue::Object()).Set("end", JsonValue::String(at));
    }));
    effects.push_back(std::move(w));
  }
  // Every output of every step becomes final (once each).
  std::vector<std::string> done;
  auto finalise = [&](const JsonValue& task) -> Status {
    const JsonValue* outputs = task.Find("output");
    if (outputs == nullptr || !outputs->is_array()) return Status::Ok();
    for (const JsonValue& o : outputs->items()) {
      std::string ref = ReferenceOf(o.Find("valueReference"));
      std::size_t slash = ref.find('/');
      if (slash == std::string::npos || std::find(done.begin(), done.end(), ref) != done.end()) continue;
      done.push_back(ref);
      auto stored = store_.Read(ref.substr(0, slash), ref.substr(slash + 1));
      if (!stored.has_value() || stored->deleted) continue;
      FOVEA_ASSIGN_OR_RETURN(JsonValue json, common::ParseJson(stored->content));
      std::string final_status = FinalStatusOf(stored->type, Str(&json, "status"));
      if (final_status.empty()) continue;
      FOVEA_ASSIGN_OR_RETURN(PlannedWrite w, Revise(*stored, [&](JsonValue& r) {
        r.Set("status", JsonValue::String(final_status));
      }));
      effects.push_back(std::move(w));
    }
    return Status::Ok();
  };
  for (const auto& [id, version] : steps) {
    FOVEA_ASSIGN_OR_RETURN(JsonValue json, common::ParseJson(version.content));
    FOVEA_RETURN_IF_ERROR(finalise(json));
  }
  return finalise(completing);
}

}  // namespace workflow
