#include "workflow/task_state_machine.h"

#include <algorithm>
#include <map>

namespace workflow {
namespace {

using common::Status;
using common::StatusCode;

const std::map<std::string, std::vector<std::string>, std::less<>>& Graph() {
  // R4's typical Task life cycle (task.html), with the base spec's additions that workflows
  // use: draft → requested|ready, ready → in-progress, releasing (in-progress|on-hold → ready),
  // retrying (failed → ready), and entered-in-error from anywhere.
  static const std::map<std::string, std::vector<std::string>, std::less<>> graph = {
      {"", {"draft", "requested", "ready"}},
      {"draft", {"requested", "ready", "cancelled", "entered-in-error"}},
      {"requested", {"received", "accepted", "rejected", "ready", "cancelled", "entered-in-error"}},
      {"received", {"accepted", "rejected", "cancelled", "entered-in-error"}},
      {"accepted", {"ready", "in-progress", "cancelled", "entered-in-error"}},
      {"ready", {"in-progress", "cancelled", "entered-in-error"}},
      {"in-progress", {"on-hold", "completed", "failed", "ready", "entered-in-error"}},
      {"on-hold", {"in-progress", "ready", "failed", "entered-in-error"}},
      {"failed", {"ready", "entered-in-error"}},
      {"completed", {"entered-in-error"}},
      {"cancelled", {"entered-in-error"}},
      {"rejected", {"entered-in-error"}},
      {"entered-in-error", {}},
  };
  return graph;
}

std::string Join(const std::vector<std::string>& v) {
  if (v.empty()) return "nothing (it is final)";
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i == 0 ? "" : ", ") + v[i];
  return out;
}

Status Conflict(std::string m) { return Status(StatusCode::kConflict, std::move(m)); }
Status Forbidden(std::string m) { return Status(StatusCode::kForbidden, std::move(m)); }

}  // namespace

const std::vector<std::string>& AllowedAfter(std::string_view from) {
  static const std::vector<std::string> none;
  auto it = Graph().find(from);
  return it == Graph().end() ? none : it->second;
}

bool IsTaskStatus(std::string_view status) { return !status.empty() && Graph().count(status) != 0; }

bool Actor::Has(std::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

Status CheckStepChange(const StepChange& c, const Actor& actor) {
  const std::string what = c.step.empty() ? "Task" : "The " + c.step + " step";
  if (c.from != c.to) {
    const std::vector<std::string>& allowed = AllowedAfter(c.from);
    if (std::find(allowed.begin(), allowed.end(), c.to) == allowed.end()) {
      if (c.from.empty()) {
        return Conflict("A Task is created as " + Join(allowed) + ", not " + c.to);
      }
      return Conflict(what + " cannot go from " + c.from + " to " + c.to + "; from " + c.from +
                      " it may go to " + Join(allowed));
    }
  }
  if (c.step_role.empty() || c.from.empty()) return Status::Ok();  // not a step, or its creation

  const bool supervisor = actor.unrestricted || actor.Has("supervisor");
  const bool performer = actor.unrestricted || actor.Has(c.step_role);
  const bool owner = !c.from_owner.empty() && !actor.reference.empty() && c.from_owner == actor.reference;
  auto owned_by_other = [&] {
    return Conflict(what + " is claimed by " + c.from_owner +
                    "; only its owner or a supervisor may change it (a supervisor can reassign it)");
  };

  if (c.from == "ready" && c.to == "in-progress") {  // a claim
    if (!performer && !supervisor) {
      return Forbidden(what + " is performed by the " + c.step_role + " role");
    }
    if (c.to_owner.empty()) return common::InvalidError("Claiming a step sets Task.owner to who works on it");
    if (!supervisor && !actor.reference.empty() && c.to_owner != actor.reference) {
      return common::InvalidError("Claiming a step sets Task.owner to yourself (" + actor.reference +
                                  "); a supervisor assigns it to someone else");
    }
    return Status::Ok();
  }
  if (c.from == "in-progress" || c.from == "on-hold") {
    if (c.from == c.to && c.to_owner != c.from_owner) {  // a second claim, or a reassignment
      if (supervisor) return Status::Ok();
      return owner && c.to_owner.empty() ? Status::Ok() : owned_by_other();
    }
    if (!owner && !supervisor) return owned_by_other();
    if (c.to == "ready" && !c.to_owner.empty()) {
      return common::InvalidError("Releasing a step (back to ready) clears Task.owner");
    }
    if (c.to == "entered-in-error" && !supervisor) return Forbidden("Only a supervisor marks a step entered-in-error");
    return Status::Ok();
  }
  if (c.from == c.to) {
    if (c.to_owner != c.from_owner && !supervisor) {
      return common::InvalidError("Task.owner is set by claiming the step (status in-progress), or by a supervisor");
    }
    return Status::Ok();  // an edit that keeps the status (a note, an input)
  }
  // Everything else is the supervisor's: readying, cancelling, retrying, entered-in-error.
  if (!supervisor) return Forbidden("Only a supervisor moves " + std::string(c.step.empty() ? "a step" : c.step) +
                                    " from " + c.from + " to " + c.to);
  return Status::Ok();
}

}  // namespace workflow
