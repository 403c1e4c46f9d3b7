#ifndef FOVEA_FHIR_AUTH_PRINCIPAL_H_
#define FOVEA_FHIR_AUTH_PRINCIPAL_H_

// Who is calling: the identity and permissions an access token carries, as the REST layer
// checks them on every interaction and the audit trail records them.

#include <string>
#include <vector>

#include "common/clock.h"
#include "fhir/auth/scopes.h"

namespace fhir::auth {

struct Principal {
  enum class Kind {
    kUser,     // a staff member (authorization code or password grant)
    kClient,   // a system client (SMART Backend Services)
    kTrusted,  // `--auth off` on a loopback address: every permission, for tests only
  };
  Kind kind = Kind::kUser;
  std::string subject;    // user name, or the client id for system clients
  std::string client_id;  // the application the token was issued to
  std::string fhir_user;  // "Practitioner/abc" for staff; empty for clients
  std::vector<std::string> roles;
  ScopeSet scopes;
  std::string patient;   // launch context: the patient `patient/` scopes are limited to
  std::string encounter;  // launch context of an EHR launch, informational
  std::string token_id;  // jti
  common::TimePoint expires_at{};

  static Principal Trusted();
  Reach ReachFor(std::string_view resource_type, Permission permission) const;
};

}  // namespace fhir::auth

#endif  // FOVEA_FHIR_AUTH_PRINCIPAL_H_
