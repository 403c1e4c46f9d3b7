#ifndef FOVEA_WORKFLOW_WORKFLOW_RULES_H_
#define FOVEA_WORKFLOW_WORKFLOW_RULES_H_

// The screening workflow on every write path (docs/WORKFLOW.md). FhirService calls PlanWrite
// (ExtensionSupport::plan_write) for every resource about to be written — PUT, PATCH,
// transaction and batch entries, operations — so nothing moves outside the state machine:
//  - a Task's status change must be one the graph allows (task_state_machine.h); a screening
//    step's (Task.code in the screening-step system, basedOn its PlanDefinition, partOf the
//    session Task) must also be made by the right person: claimed by its role, moved on by its
//    owner or a supervisor;
//  - completing a step needs its outputs (the plan's DataRequirements) recorded in the session;
//    they are linked in Task.output, and in the same transaction the steps that follow become
//    ready once all their predecessors are completed, the session Task records the progress
//    (every completion writes it: concurrent completions of parallel steps serialise on it),
//    and the last step finishes the session: Encounter finished, session Task completed, the
//    session's results final;
//  - a new Encounter typed screening-session (a check-in) starts a session: the session Task
//    and the step Tasks are created in the same transaction;
//  - a PlanDefinition written with screening steps must be one Fovea can run.
// Thread-safe.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "common/status.h"
#include "fhir/model/element.h"
#include "fhir/rest/access_control.h"
#include "fhir/search/live_registry.h"
#include "fhir/search/search_backend.h"
#include "fhir/store/resource_store.h"
#include "workflow/screening_plan.h"
#include "workflow/task_state_machine.h"

namespace workflow {

class WorkflowRules {
 public:
  WorkflowRules(fhir::store::ResourceStore& store, fhir::search::SearchBackend& search,
                std::shared_ptr<fhir::search::LiveRegistry> registry, const common::Clock& clock);

  common::Result<std::vector<fhir::store::PlannedWrite>> PlanWrite(
      fhir::model::Element& resource, const std::string& id, int replaces_version,
      const fhir::rest::AccessControl& access);

  // Screening steps and session Tasks are not deleted while they record work (status other
  // than draft, cancelled or entered-in-error): 409, mark them entered-in-error instead.
  common::Status CheckDelete(const std::string& type, const std::string& id,
                             const fhir::rest::AccessControl& access);

  // The plan a step Task is basedOn ("PlanDefinition/<id>"), parsed once per version.
  common::Result<std::shared_ptr<const ScreeningPlan>> PlanOf(const std::string& reference);

  // The Tasks of one session (partOf Task/<session_id>), by step id.
  common::Result<std::map<std::string, fhir::store::ResourceVersion>> SessionSteps(
      const std::string& session_id);

  // `current` changed by `edit` as the next version, stamped and indexed, for the same
  // transaction (compare-and-set on `current`'s version).
  common::Result<fhir::store::PlannedWrite> Revise(const fhir::store::ResourceVersion& current,
                                                   const std::function<void(common::JsonValue&)>& edit);

  static Actor ActorOf(const fhir::rest::AccessControl& access);

 private:
  // A new Encounter typed screening-session starts a session: its Tasks join the write.
  common::Result<std::vector<fhir::store::PlannedWrite>> PlanCheckIn(
      fhir::model::Element& resource, const std::string& id, const fhir::rest::AccessControl& access);
  // A screening Encounter cancelled (or entered in error) ends its session: the session Task
  // and every step not finished yet are cancelled in the same transaction.
  common::Result<std::vector<fhir::store::PlannedWrite>> PlanEncounterUpdate(
      fhir::model::Element& resource, const std::string& id, int replaces_version);
  common::Result<std::vector<fhir::store::PlannedWrite>> PlanTaskWrite(
      fhir::model::Element& resource, const std::string& id, int replaces_version,
      const fhir::rest::AccessControl& access);
  // Finds each output the step needs in the session, links it in `task`'s output; kConflict
  // naming the first one missing.
  common::Status LinkOutputs(const Step& step, const std::string& encounter, common::JsonValue& task);
  // The writes that complete a session: Encounter finished, results final.
  common::Status FinishSession(const std::string& encounter,
                               const std::map<std::string, fhir::store::ResourceVersion>& steps,
                               const common::JsonValue& completing,
                               std::vector<fhir::store::PlannedWrite>& effects);

  fhir::store::ResourceStore& store_;
  fhir::search::SearchBackend& search_;
  const std::shared_ptr<fhir::search::LiveRegistry> registry_;
  const common::Clock& clock_;

  std::mutex mu_;
  struct CachedPlan {
    int version = 0;
    std::shared_ptr<const ScreeningPlan> plan;
  };
  std::map<std::string, CachedPlan> plans_;  // GUARDED_BY(mu_), by PlanDefinition id
};

// A search the workflow makes itself (lenient: an unknown parameter is ignored), up to 1,000
// matches.
common::Result<std::vector<fhir::search::SearchMatch>> SearchFor(
    fhir::search::SearchBackend& search, const fhir::search::SearchParameterRegistry& registry,
    const std::string& type, const std::vector<std::pair<std::string, std::string>>& params);

// Reads of a Task as the workflow uses it (canonical JSON).
struct TaskView {
  std::string status;
  std::string step;        // the screening-step code; kSessionCode for a session Task
  std::string plan;        // "PlanDefinition/<id>" from basedOn
  std::string session;     // the session Task's id (partOf)
  std::string encounter;   // the Encounter's id
  std::string owner;       // owner.reference
  static TaskView Of(const common::JsonValue& task);
  bool is_step() const { return !step.empty() && step != kSessionCode && !plan.empty(); }
};

}  // namespace workflow

#endif  // FOVEA_WORKFLOW_WORKFLOW_RULES_H_
