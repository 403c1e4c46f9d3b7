#ifndef FOVEA_WORKFLOW_SCREENING_PLAN_H_
#define FOVEA_WORKFLOW_SCREENING_PLAN_H_

// The screening protocol as data: a PlanDefinition whose actions are the steps of a session
// (docs/WORKFLOW.md). Each action has an id, a step code (screening-step CodeSystem), the role
// that performs it (participant.role: Task.performerType), the steps that must be completed
// before it (relatedAction after-end: steps with the same predecessors run in parallel), and the
// outputs that must be recorded in the session before it can be completed (DataRequirement: a
// resource type and code filters). Fovea ships one (data/screening-plan.json, loaded at first
// start); it can be edited through the API. Immutable once parsed: thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace workflow {

inline constexpr const char* kStepSystem = "https://fovea.health/fhir/CodeSystem/screening-step";
inline constexpr const char* kRoleSystem = "https://fovea.health/fhir/CodeSystem/staff-role";
inline constexpr const char* kPlanUrl = "https://fovea.health/fhir/PlanDefinition/vision-screening";
inline constexpr const char* kPlanId = "vision-screening";
// The session Task's code (the parent of the step Tasks).
inline constexpr const char* kSessionCode = "screening-session";

struct Coding {
  std::string system;
  std::string code;
  std::string display;
};

// One code filter of an output: the element (a top-level CodeableConcept) must carry one of
// the codings.
struct CodeFilter {
  std::string path;
  std::vector<Coding> codes;
};

struct OutputRequirement {
  std::string type;  // resource type
  std::vector<CodeFilter> filters;
  std::string Describe() const;  // "Observation with code 363983007 and bodySite 362502000"
};

struct Step {
  std::string id;     // the action id, also the step code
  std::string title;
  Coding code;        // in kStepSystem
  Coding role;        // in kRoleSystem: who performs it
  std::vector<std::string> after;  // step ids that must be completed first
  std::vector<OutputRequirement> outputs;
};

class ScreeningPlan {
 public:
  // Reads a PlanDefinition (canonical JSON). kInvalid naming the action and element for what
  // Fovea cannot run: no actions, an action without id or step code, a relatedAction naming an
  // unknown action or forming a cycle, no step without predecessors.
  static common::Result<ScreeningPlan> Parse(const common::JsonValue& plan_definition);
  // The shipped plan (data/screening-plan.json).
  static const std::string& BuiltInJson();

  const std::string& url() const { return url_; }
  const std::string& id() const { return id_; }
  const std::vector<Step>& steps() const { return steps_; }  // in the PlanDefinition's order
  const Step* Find(std::string_view step_id) const;
  // The steps that follow `step_id` directly.
  std::vector<const Step*> Next(std::string_view step_id) const;
  // The steps without predecessors (ready when a session starts).
  std::vector<const Step*> First() const;
  // The steps that complete the session when they complete (no step follows them).
  bool IsLast(std::string_view step_id) const;

 private:
  std::string url_;
  std::string id_;
  std::vector<Step> steps_;
};

}  // namespace workflow

#endif  // FOVEA_WORKFLOW_SCREENING_PLAN_H_
