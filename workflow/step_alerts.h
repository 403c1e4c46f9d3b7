#ifndef FOVEA_WORKFLOW_STEP_ALERTS_H_
#define FOVEA_WORKFLOW_STEP_ALERTS_H_

// Supervisor alerts (docs/WORKFLOW.md, "Alerts"): a screening step ready for longer than the
// wait limit (nobody has claimed it) or in progress for longer than the run limit raises a
// `Flag` (code step-waiting | step-running-long in the screening-alert system, the patient, the
// session's Encounter), which the `supervisor-alerts` topic delivers. One Flag per step version
// and kind, so an alert is raised once; when the step moves on, its Flag goes inactive (the
// topic delivers that too). Every node runs the check; a criteria lock makes them take turns,
// so each alert is raised once across nodes. Thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "common/status.h"
#include "fhir/audit/provenance.h"
#include "fhir/search/live_registry.h"
#include "fhir/search/search_backend.h"
#include "fhir/store/resource_store.h"

namespace workflow {

inline constexpr const char* kAlertSystem = "https://fovea.health/fhir/CodeSystem/screening-alert";

struct AlertOptions {
  std::chrono::seconds wait_limit{15 * 60};  // ready and unclaimed; zero: no wait alerts
  std::chrono::seconds run_limit{30 * 60};   // in progress; zero: no run alerts
  std::chrono::seconds every{30};            // how often the background check runs
  // Audit on (`fovea serve` with authorisation): each Flag written records its Provenance and
  // AuditEvent with it, the server as the agent; this names the server (AuditEvent observer).
  // Empty: not audited, as writes are not with --auth off.
  std::string audit_observer;
  // Where that Provenance lives (--provenance; fhir/audit/provenance.h).
  fhir::audit::ProvenanceStorage provenance = fhir::audit::kDefaultProvenanceStorage;
};

class StepAlerts {
 public:
  StepAlerts(fhir::store::ResourceStore& store, fhir::search::SearchBackend& search,
             std::shared_ptr<fhir::search::LiveRegistry> registry, const common::Clock& clock,
             AlertOptions options);
  ~StepAlerts();  // Stop()

  void Start();
  void Stop();

  // One check now: raises the alerts that are due and clears those whose step moved on.
  // Returns how many Flags it wrote.
  common::Result<std::size_t> CheckNow();

 private:
  common::Result<std::vector<fhir::search::SearchMatch>> Find(
      const std::string& type, std::vector<std::pair<std::string, std::string>> params);
  common::Status Create(const std::string& json);
  common::Status Revise(const fhir::search::SearchMatch& flag, const std::string& status);

  fhir::store::ResourceStore& store_;
  fhir::search::SearchBackend& search_;
  const std::shared_ptr<fhir::search::LiveRegistry> registry_;
  const common::Clock& clock_;
  const AlertOptions options_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace workflow

#endif  // FOVEA_WORKFLOW_STEP_ALERTS_H_
