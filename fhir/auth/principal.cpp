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
  Reach reach = scopes.ReachFor(resource_type, permission);
  // A patient-level grant without a launch patient reaches nothing.
  if (reach == Reach::kPatientCompartment && patient.empty()) return Reach::kNone;
  return reach;
}

}  // namespace fhir::auth
