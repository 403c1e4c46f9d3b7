#ifndef FOVEA_FHIR_AUTH_ROLES_H_
#define FOVEA_FHIR_AUTH_ROLES_H_

// Roles as data (fhir/auth/data/roles.json, compiled in): for each role, the SMART scopes its
// holders may be granted and the screening workflow steps they may perform.

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "fhir/auth/scopes.h"

namespace fhir::auth {

struct RoleDefinition {
  std::string code;
  std::string display;
  ScopeSet scopes;
  std::vector<std::string> steps;
};

class RoleCatalog {
 public:
  // The compiled-in roles.
  static const RoleCatalog& Default();
  static common::Result<RoleCatalog> FromJson(std::string_view json);

  const RoleDefinition* Find(std::string_view code) const;
  // The union of the scopes of `roles` (unknown roles add nothing).
  ScopeSet ScopesFor(const std::vector<std::string>& roles) const;
  bool MayPerformStep(const std::vector<std::string>& roles, std::string_view step) const;
  const std::vector<RoleDefinition>& roles() const { return roles_; }

 private:
  std::vector<RoleDefinition> roles_;
};

}  // namespace fhir::auth

#endif  // FOVEA_FHIR_AUTH_ROLES_H_
