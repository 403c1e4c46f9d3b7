#include "workflow/session_start.h"

#include "fhir/definitions/definitions.h"
#include "fhir/format/json_format.h"
#include "fhir/model/ids.h"
#include "fhir/model/issues.h"
#include "fhir/rest/writes.h"
#include "fhir/search/index_extractor.h"

namespace workflow {

using common::JsonValue;
using common::Result;
using fhir::store::PlannedWrite;

JsonValue ReferenceJson(const std::string& reference) {
  JsonValue r = JsonValue::Object();
  r.Set("reference", JsonValue::String(reference));
  return r;
}

JsonValue ConceptJson(const Coding& c) {
  JsonValue coding = JsonValue::Object();
  coding.Set("system", JsonValue::String(c.system));
  coding.Set("code", JsonValue::String(c.code));
  if (!c.display.empty()) coding.Set("display", JsonValue::String(c.display));
  JsonValue cc = JsonValue::Object();
  cc.Set("coding", JsonValue::Array()).Add(std::move(coding));
  return cc;
}

JsonValue ArrayOf(JsonValue item) {
  JsonValue a = JsonValue::Array();
  a.Add(std::move(item));
  return a;
}

Result<PlannedWrite> NewResource(const std::string& type, JsonValue json, common::TimePoint now,
                                 const fhir::search::SearchParameterRegistry& registry) {
  std::string id = fhir::model::LogicalId::Generate().value();
  json.Set("id", JsonValue::String(id));
  PlannedWrite w;
  FOVEA_ASSIGN_OR_RETURN(w.version, fhir::rest::VersionOfJson(common::ToJson(json), type, id, 1,
                                                             fhir::store::Method::kCreate, now, &registry));
  return w;
}

JsonValue CheckInEncounter(const SessionStart& start) {
  JsonValue encounter = JsonValue::Object();
  encounter.Set("resourceType", JsonValue::String("Encounter"));
  encounter.Set("status", JsonValue::String("arrived"));
  JsonValue klass = JsonValue::Object();
  klass.Set("system", JsonValue::String("http://terminology.hl7.org/CodeSystem/v3-ActCode"));
  klass.Set("code", JsonValue::String("FLD"));
  klass.Set("display", JsonValue::String("field"));
  encounter.Set("class", std::move(klass));
  encounter.Set("type", ArrayOf(ConceptJson({kStepSystem, kSessionCode, "Vision screening session"})));
  encounter.Set("subject", ReferenceJson("Patient/" + start.patient_id));
  JsonValue period = JsonValue::Object();
  period.Set("start", JsonValue::String(common::FormatInstant(start.now)));
  encounter.Set("period", std::move(period));
  JsonValue where = JsonValue::Object();
  where.Set("location", ReferenceJson("Location/" + start.location_id));
  where.Set("status", JsonValue::String("active"));
  encounter.Set("location", ArrayOf(std::move(where)));
  return encounter;
}

Result<std::vector<PlannedWrite>> SessionTasks(const SessionStart& start, const std::string& encounter_id,
                                               const fhir::search::SearchParameterRegistry& registry) {
  const std::string at = common::FormatInstant(start.now);
  auto task = [&](const std::string& status, const std::string& code, const std::string& display) {
    JsonValue t = JsonValue::Object();
    t.Set("resourceType", JsonValue::String("Task"));
    t.Set("basedOn", ArrayOf(ReferenceJson("PlanDefinition/" + start.plan_id)));
    t.Set("status", JsonValue::String(status));
    t.Set("intent", JsonValue::String("order"));
    t.Set("code", ConceptJson({kStepSystem, code, display}));
    t.Set("description", JsonValue::String(display));
    t.Set("for", ReferenceJson("Patient/" + start.patient_id));
    t.Set("encounter", ReferenceJson("Encounter/" + encounter_id));
    t.Set("authoredOn", JsonValue::String(at));
    t.Set("lastModified", JsonValue::String(at));
    if (!start.location_id.empty()) t.Set("location", ReferenceJson("Location/" + start.location_id));
    return t;
  };
  std::vector<PlannedWrite> writes;
  JsonValue session = task("in-progress", kSessionCode, "Vision screening session");
  JsonValue started = JsonValue::Object();
  started.Set("start", JsonValue::String(at));
  session.Set("executionPeriod", std::move(started));
  if (!start.requester.empty()) session.Set("requester", ReferenceJson(start.requester));
  FOVEA_ASSIGN_OR_RETURN(PlannedWrite s, NewResource("Task", std::move(session), start.now, registry));
  const std::string session_ref = "Task/" + s.version.id;
  writes.push_back(std::move(s));
  for (const Step& step : start.plan->steps()) {
    JsonValue t = task(step.after.empty() ? "ready" : "draft", step.code.code,
                       step.title.empty() ? step.code.display : step.title);
    t.Set("partOf", ArrayOf(ReferenceJson(session_ref)));
    t.Set("performerType", ArrayOf(ConceptJson(step.role)));
    FOVEA_ASSIGN_OR_RETURN(PlannedWrite w, NewResource("Task", std::move(t), start.now, registry));
    writes.push_back(std::move(w));
  }
  return writes;
}

bool IsScreeningEncounter(const JsonValue& encounter) {
  const JsonValue* types = encounter.Find("type");
  if (types == nullptr || !types->is_array()) return false;
  for (const JsonValue& t : types->items()) {
    const JsonValue* codings = t.Find("coding");
    if (codings == nullptr || !codings->is_array()) continue;
    for (const JsonValue& c : codings->items()) {
      const JsonValue* system = c.Find("system");
      const JsonValue* code = c.Find("code");
      if (system != nullptr && code != nullptr && system->scalar() == kStepSystem && code->scalar() == kSessionCode) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace workflow
