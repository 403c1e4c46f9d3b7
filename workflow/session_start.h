#ifndef FOVEA_WORKFLOW_SESSION_START_H_
#define FOVEA_WORKFLOW_SESSION_START_H_

// The resources that start a screening session (docs/WORKFLOW.md, "Sessions"), built once for
// every way a session starts: $start-screening (the Encounter too), a check-in Encounter
// written through the API (the Tasks join that write's transaction), and later an HL7 ADT.
// Stateless: thread-safe.

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "common/status.h"
#include "fhir/search/search_parameter.h"
#include "fhir/store/resource_store.h"
#include "workflow/screening_plan.h"

namespace workflow {

struct SessionStart {
  std::string patient_id;
  std::string location_id;
  std::string plan_id;               // PlanDefinition id
  const ScreeningPlan* plan = nullptr;
  std::string requester;             // "Practitioner/x" or empty
  common::TimePoint now{};
};

// The check-in Encounter $start-screening creates (status arrived, class FLD, type
// screening-session, subject, location, period.start); no id.
common::JsonValue CheckInEncounter(const SessionStart& start);

// The session Task and one Task per step for `encounter_id`, as new resources (version 1,
// stamped and indexed), the session Task first.
common::Result<std::vector<fhir::store::PlannedWrite>> SessionTasks(
    const SessionStart& start, const std::string& encounter_id,
    const fhir::search::SearchParameterRegistry& registry);

// A new resource from `json` (an id is generated): version 1, stamped and indexed.
common::Result<fhir::store::PlannedWrite> NewResource(const std::string& type, common::JsonValue json,
                                                      common::TimePoint now,
                                                      const fhir::search::SearchParameterRegistry& registry);

// JSON pieces of the resources the workflow writes: {"reference": ...}, a CodeableConcept of
// one coding, a one-item array.
common::JsonValue ReferenceJson(const std::string& reference);
common::JsonValue ConceptJson(const Coding& coding);
common::JsonValue ArrayOf(common::JsonValue item);

// Whether an Encounter (canonical JSON) is a screening check-in: its type carries
// screening-step|screening-session.
bool IsScreeningEncounter(const common::JsonValue& encounter);

}  // namespace workflow

#endif  // FOVEA_WORKFLOW_SESSION_START_H_
