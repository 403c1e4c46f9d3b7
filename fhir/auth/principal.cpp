#include "fhir/auth/principal.h"

#include <algorithm>

namespace fhir::auth {

Principal Principal::Trusted() {
  Principal p;
  p.kind = Kind::kTrusted;
  p.subject = "trusted-local";
  p.client_id = "trusted-local";
  return p;
}

Reach Principal::ReachFor(std::string_view resource_type, Permission permission) const {
  if (kind == Kind::kTrusted) return Reach::kAll;
  // A patient-level grant without a launch patient reaches nothing.
  return scopes.ReachFor(resource_type, permission, !patient.empty());
}

}  // namespace fhir::auth
