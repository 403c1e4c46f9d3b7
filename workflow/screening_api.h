#ifndef FOVEA_WORKFLOW_SCREENING_API_H_
#define FOVEA_WORKFLOW_SCREENING_API_H_

// The workflow's side of the FHIR API (docs/WORKFLOW.md), plugged into FhirService through
// ExtensionSupport:
//  - `GET Encounter/[id]/$session-status` and `GET Location/[id]/$queue` (session_views.h);
//  - `POST Encounter/$start-screening` (Parameters: patient, location, optional plan) starts a
//    session in one transaction: the Encounter, the session Task and one Task per step of the
//    plan, the first step(s) ready, with its AuditEvent and their Provenance (ScreeningAudit);
//    answers a Bundle with all of them;
//  - plan_write: WorkflowRules on every write path;
//  - EnsureShipped(): the shipped PlanDefinition and OperationDefinitions, created at first
//    start (and then editable through the API).
// Thread-safe.

#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "fhir/audit/provenance.h"
#include "fhir/rest/fhir_service.h"
#include "fhir/search/live_registry.h"
#include "fhir/store/resource_store.h"
#include "workflow/session_views.h"
#include "workflow/workflow_rules.h"

namespace workflow {

inline constexpr const char* kStartScreeningUrl =
    "https://fovea.health/fhir/OperationDefinition/start-screening";

// How `$start-screening` audits the session it writes: with `observer` set (auth on), the
// AuditEvent of the operation and the Provenance of its writes commit with them, as a client's
// writes' do (fhir/rest/audit_recording.h); empty: no audit (--auth off, as other writes).
struct ScreeningAudit {
  std::string observer;  // this server's name (AuditEvent.source.observer)
  fhir::audit::ProvenanceStorage provenance = fhir::audit::kDefaultProvenanceStorage;
};

class ScreeningApi {
 public:
  ScreeningApi(WorkflowRules& rules, fhir::store::ResourceStore& store,
               fhir::search::SearchBackend& search,
               std::shared_ptr<fhir::search::LiveRegistry> registry, const common::Clock& clock,
               ScreeningAudit audit = {});

  fhir::rest::ExtensionSupport Extensions();

  // Creates PlanDefinition/vision-screening and OperationDefinition/start-screening when they
  // do not exist (a deleted one stays deleted: an administrator removed it).
  common::Status EnsureShipped();

  // Presence for `$session-status` (SessionViews::SetPresence). Set before serving.
  void SetPresence(PresenceLookup lookup) { views_.SetPresence(std::move(lookup)); }

  std::optional<fhir::rest::RestResponse> Operation(const std::string& type, const std::string& id,
                                                    const std::string& name,
                                                    const fhir::rest::RestRequest& request,
                                                    const fhir::rest::AccessControl& access);

 private:
  fhir::rest::RestResponse StartScreening(const fhir::rest::RestRequest& request,
                                          const fhir::rest::AccessControl& access);

  WorkflowRules& rules_;
  fhir::store::ResourceStore& store_;
  SessionViews views_;
  const std::shared_ptr<fhir::search::LiveRegistry> registry_;
  const common::Clock& clock_;
  const ScreeningAudit audit_;
};

}  // namespace workflow

#endif  // FOVEA_WORKFLOW_SCREENING_API_H_
