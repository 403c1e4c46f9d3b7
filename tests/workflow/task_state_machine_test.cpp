// workflow/task_state_machine: the Task state machine as a table of (from, to, who, owner
// before/after) → outcome. "tech" holds the step's role (technician), "tech2" too, "doc" holds
// another role, "sup" is a supervisor. docs/WORKFLOW.md has the same table in prose.

#include "workflow/task_state_machine.h"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace {

using common::StatusCode;
using workflow::Actor;
using workflow::StepChange;

Actor Staff(const std::string& role, const std::string& who) { return Actor{false, {role}, "Practitioner/" + who}; }

struct Row {
  const char* from;
  const char* to;
  const char* who;         // tech | tech2 | doc | sup | admin
  const char* owner_from;  // "" or a practitioner name
  const char* owner_to;
  StatusCode expected;
};

Actor ActorFor(const std::string& who) {
  if (who == "tech") return Staff("technician", "tech");
  if (who == "tech2") return Staff("technician", "tech2");
  if (who == "doc") return Staff("doctor", "doc");
  if (who == "sup") return Staff("supervisor", "sup");
  return Actor{true, {"admin"}, ""};
}

std::string Owner(const char* name) { return *name == '\0' ? "" : std::string("Practitioner/") + name; }

const std::vector<Row> kTable = {
    // claiming: the step's role, owner set to oneself
    {"ready", "in-progress", "tech", "", "tech", StatusCode::kOk},
    {"ready", "in-progress", "doc", "", "doc", StatusCode::kForbidden},
    {"ready", "in-progress", "tech", "", "", StatusCode::kInvalid},
    {"ready", "in-progress", "tech", "", "tech2", StatusCode::kInvalid},
    {"ready", "in-progress", "sup", "", "tech2", StatusCode::kOk},  // a supervisor assigns
    // skipping in-progress, and other moves the graph does not have
    {"ready", "completed", "tech", "", "tech", StatusCode::kConflict},
    {"draft", "in-progress", "tech", "", "tech", StatusCode::kConflict},
    {"completed", "in-progress", "sup", "tech", "tech", StatusCode::kConflict},
    {"entered-in-error", "ready", "admin", "", "", StatusCode::kConflict},
    // a second claim of a claimed step loses
    {"in-progress", "in-progress", "tech2", "tech", "tech2", StatusCode::kConflict},
    {"in-progress", "in-progress", "sup", "tech", "tech2", StatusCode::kOk},  // reassigning
    // the owner works on it; others may not
    {"in-progress", "completed", "tech", "tech", "tech", StatusCode::kOk},
    {"in-progress", "completed", "tech2", "tech", "tech", StatusCode::kConflict},
    {"in-progress", "completed", "sup", "tech", "tech", StatusCode::kOk},
    {"in-progress", "on-hold", "tech", "tech", "tech", StatusCode::kOk},
    {"on-hold", "in-progress", "tech", "tech", "tech", StatusCode::kOk},
    {"in-progress", "failed", "tech", "tech", "tech", StatusCode::kOk},
    {"in-progress", "in-progress", "tech", "tech", "tech", StatusCode::kOk},  // an edit (a note)
    {"in-progress", "in-progress", "tech2", "tech", "tech", StatusCode::kConflict},  // the lock
    // releasing clears the owner
    {"in-progress", "ready", "tech", "tech", "", StatusCode::kOk},
    {"in-progress", "ready", "tech", "tech", "tech", StatusCode::kInvalid},
    // the supervisor's moves
    {"draft", "ready", "sup", "", "", StatusCode::kOk},
    {"draft", "ready", "tech", "", "", StatusCode::kForbidden},
    {"ready", "cancelled", "sup", "", "", StatusCode::kOk},
    {"ready", "cancelled", "tech", "", "", StatusCode::kForbidden},
    {"failed", "ready", "sup", "tech", "", StatusCode::kOk},
    {"completed", "entered-in-error", "sup", "tech", "tech", StatusCode::kOk},
    {"completed", "entered-in-error", "tech", "tech", "tech", StatusCode::kForbidden},
    {"in-progress", "entered-in-error", "tech", "tech", "tech", StatusCode::kForbidden},
    // an owner is not set outside a claim
    {"ready", "ready", "tech", "", "tech", StatusCode::kInvalid},
    // unrestricted (--auth off, admin) may do what the graph allows
    {"in-progress", "completed", "admin", "tech", "tech", StatusCode::kOk},
    {"ready", "completed", "admin", "", "", StatusCode::kConflict},
};

BOOST_AUTO_TEST_SUITE(TaskStateMachine)

BOOST_AUTO_TEST_CASE(TheTable) {
  for (const Row& r : kTable) {
    StepChange c{r.from, r.to, Owner(r.owner_from), Owner(r.owner_to), "technician", "visual-acuity"};
    common::Status st = workflow::CheckStepChange(c, ActorFor(r.who));
    BOOST_TEST((st.code() == r.expected), r.from << " -> " << r.to << " by " << r.who << " (owner " << r.owner_from
                                                  << " -> " << r.owner_to << "): got " << st.message());
  }
}

BOOST_AUTO_TEST_CASE(IllegalTransitionsNameTheAllowedOnes) {
  common::Status st = workflow::CheckStepChange({"ready", "completed", "", "", "technician", "visual-acuity"},
                                                ActorFor("admin"));
  BOOST_TEST(st.code() == StatusCode::kConflict);
  BOOST_TEST(st.message().find("from ready it may go to in-progress, cancelled, entered-in-error") != std::string::npos,
             st.message());
}

BOOST_AUTO_TEST_CASE(TheGraphFollowsR4) {
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"requested", "accepted"}, {"accepted", "in-progress"}, {"in-progress", "on-hold"}, {"on-hold", "in-progress"}}) {
    const auto& allowed = workflow::AllowedAfter(from);
    BOOST_TEST((std::find(allowed.begin(), allowed.end(), to) != allowed.end()), from << " -> " << to);
  }
  BOOST_TEST(workflow::AllowedAfter("entered-in-error").empty());
  BOOST_TEST(workflow::IsTaskStatus("on-hold"));
  BOOST_TEST(!workflow::IsTaskStatus("paused"));
  // Creating is a transition from nothing: a step starts draft, requested or ready.
  BOOST_TEST(workflow::CheckStepChange({"", "in-progress", "", "", "", ""}, ActorFor("admin")).code() ==
             StatusCode::kConflict);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
