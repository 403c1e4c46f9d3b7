#ifndef FOVEA_WORKFLOW_TASK_STATE_MACHINE_H_
#define FOVEA_WORKFLOW_TASK_STATE_MACHINE_H_

// The Task state machine (R4 task-status codes; docs/WORKFLOW.md has the table). Two layers:
//  - the status graph, for every Task: which status may follow which (a write that keeps the
//    status is always a legal transition; ready → completed is not: a step is worked on first);
//  - the rules of screening steps: who may make a transition (the step's role claims and works
//    on it; its owner alone, or a supervisor, moves it on; only a supervisor reassigns, cancels,
//    retries or marks in error), and that claiming sets the claimant as owner and releasing
//    clears it. The owner is the lock everyone sees.
// Stateless: thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace workflow {

// The statuses that may follow `from` (not including `from` itself). Empty `from`: a create.
const std::vector<std::string>& AllowedAfter(std::string_view from);
bool IsTaskStatus(std::string_view status);

// Who asks, as the workflow sees it.
struct Actor {
  bool unrestricted = false;        // --auth off, or the admin role
  std::vector<std::string> roles;   // staff-role codes (registration, technician, doctor, supervisor)
  std::string reference;            // "Practitioner/abc" (the token's fhirUser); empty for systems
  bool Has(std::string_view role) const;
};

struct StepChange {
  std::string from;        // empty: the Task is being created
  std::string to;
  std::string from_owner;  // Task.owner.reference before and after
  std::string to_owner;
  std::string step_role;   // the role that performs the step; empty: not a screening step
  std::string step;        // the step's id, for messages
};

// OK, or why not: kConflict (409) for a transition the graph does not allow, or a step claimed
// by someone else; kForbidden (403) for a role that may not make it; kInvalid (400) for an owner
// that does not go with the transition. Messages name the allowed statuses.
common::Status CheckStepChange(const StepChange& change, const Actor& actor);

}  // namespace workflow

#endif  // FOVEA_WORKFLOW_TASK_STATE_MACHINE_H_
