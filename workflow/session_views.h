#ifndef FOVEA_WORKFLOW_SESSION_VIEWS_H_
#define FOVEA_WORKFLOW_SESSION_VIEWS_H_

// What staff see of the sessions, derived from the Tasks (docs/WORKFLOW.md, "Views"):
//  - `GET Encounter/[id]/$session-status`: each step's status, owner and timings, the current
//    step(s), who is working on the session, and an estimate of when it will be done from the
//    unit's recent step durations;
//  - `GET Location/[id]/$queue`: the unit's open sessions, each with its current step(s) and
//    how long the patient has been waiting for them, longest wait first.
// Answers are Parameters resources (R4 operations' usual output). Thread-safe.

#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>
#include <string>

#include "common/clock.h"
#include "fhir/rest/access_control.h"
#include "fhir/rest/http_types.h"
#include "fhir/search/live_registry.h"
#include "fhir/search/search_backend.h"
#include "fhir/store/resource_store.h"
#include "workflow/workflow_rules.h"

namespace workflow {

// Who is on a session right now over a WebSocket (presence, docs/WORKFLOW.md): each member of
// staff's reference ("Practitioner/7") and since when. Supplied by the subscriptions module.
using PresenceLookup =
    std::function<common::Result<std::vector<std::pair<std::string, common::TimePoint>>>(const std::string& session)>;

class SessionViews {
 public:
  SessionViews(WorkflowRules& rules, fhir::store::ResourceStore& store,
               fhir::search::SearchBackend& search,
               std::shared_ptr<fhir::search::LiveRegistry> registry, const common::Clock& clock);

  fhir::rest::RestResponse SessionStatus(const std::string& encounter_id,
                                         const fhir::rest::RestRequest& request,
                                         const fhir::rest::AccessControl& access);
  // `GET Encounter/[id]/$session-timeline`: every Provenance of the session's Encounter, Tasks
  // and step outputs, oldest first, as a collection Bundle (who, what, when of each change).
  fhir::rest::RestResponse Timeline(const std::string& encounter_id, const fhir::rest::RestRequest& request,
                                    const fhir::rest::AccessControl& access);
  fhir::rest::RestResponse Queue(const std::string& location_id, const fhir::rest::RestRequest& request,
                                 const fhir::rest::AccessControl& access);

  // With presence, `$session-status` counts the staff present on the session as active, and
  // lists them with since when. Set before serving.
  void SetPresence(PresenceLookup lookup) { presence_ = std::move(lookup); }

  // The median duration (executionPeriod start → end) of the last completed Tasks of `step`,
  // in seconds; nullopt when none has been timed yet.
  std::optional<double> TypicalSeconds(const std::string& step);

 private:
  common::Result<std::vector<fhir::search::SearchMatch>> Find(const std::string& type,
                                                              std::vector<std::pair<std::string, std::string>> params);
  // A session as the views need it, after the caller's access to it was checked.
  struct Located {
    fhir::store::ResourceVersion encounter;
    fhir::search::SearchMatch session;  // the session Task
    common::JsonValue session_json;
    std::map<std::string, fhir::store::ResourceVersion> steps;  // by step code
  };
  common::Result<Located> Locate(const std::string& encounter_id, const fhir::rest::AccessControl& access);
  // The session Task of an Encounter.
  common::Result<std::optional<fhir::search::SearchMatch>> SessionOf(const std::string& encounter_id);

  WorkflowRules& rules_;
  fhir::store::ResourceStore& store_;
  fhir::search::SearchBackend& search_;
  const std::shared_ptr<fhir::search::LiveRegistry> registry_;
  const common::Clock& clock_;
  PresenceLookup presence_;
};

}  // namespace workflow

#endif  // FOVEA_WORKFLOW_SESSION_VIEWS_H_
