#ifndef FOVEA_SERVER_DEMO_DATA_H_
#define FOVEA_SERVER_DEMO_DATA_H_

// Demo data for the staff console (docs/CONSOLE.md#demo-data): a mobile unit, one staff
// account per role with published passwords, seven patients, four of them checked in and
// waiting (one with check-in done), and one patient's screening from a year ago. Loaded by
// `fovea serve --demo-data`, and by the embedded default on its first start, only into an
// empty database. Everything goes through the normal write paths: FHIR requests to a
// FhirService (validation, indexing, the workflow's rules, $start-screening) and the auth
// store for the logins, never SQL into the resource tables.

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "fhir/auth/auth_store.h"
#include "fhir/rest/fhir_service.h"

namespace server {

struct DemoAccount {
  const char* role;
  const char* username;
  const char* password;
  const char* name;
};
// The demo's staff accounts (their passwords are in README.md: public).
const std::vector<DemoAccount>& DemoAccounts();

inline constexpr const char* kDemoSystem = "https://fovea.health/fhir/demo";
inline constexpr const char* kDemoMrnSystem = "https://fovea.health/fhir/demo-mrn";

// Empty means: no Patient, no Location, no Encounter, and none of DemoAccounts()' user names
// taken. (Other accounts, such as the administrator scripts/run.sh creates, do not count.)
common::Result<bool> DatabaseIsEmpty(fhir::rest::FhirService& service, fhir::auth::AuthStore& auth);

// Loads the demo into an empty database and returns true; leaves any other database alone
// (one log line) and returns false. `service` must carry the workflow's extensions
// (ScreeningApi::Extensions) and no authentication: it acts as the installer. Not atomic as a
// whole (accounts live outside the resource tables): an error half-way is returned, and the
// partly loaded database then counts as not empty.
common::Result<bool> LoadDemoData(fhir::rest::FhirService& service, fhir::auth::AuthStore& auth,
                                  const common::Clock& clock);

// LoadDemoData under a PostgreSQL advisory lock on the database at `dsn`, so nodes started
// together with --demo-data take turns and the second finds the demo loaded.
common::Result<bool> LoadDemoDataOnce(const std::string& dsn, fhir::rest::FhirService& service,
                                      fhir::auth::AuthStore& auth, const common::Clock& clock);

// Logs a warning when a demo account still signs in with its published password.
void WarnAboutDemoAccounts(fhir::auth::AuthStore& auth);

}  // namespace server

#endif  // FOVEA_SERVER_DEMO_DATA_H_
