#ifndef FOVEA_FHIR_REST_ACCESS_CONTROL_H_
#define FOVEA_FHIR_REST_ACCESS_CONTROL_H_

// The decisions of one request's principal on FHIR data: may it do interaction X on type T at
// all (else 403), and is one particular resource within its reach (patient-level scopes reach
// only the launch patient's compartment). The REST layer asks before every interaction and
// filters what it returns (search matches, _include/_revinclude results, history entries).

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "fhir/auth/principal.h"
#include "fhir/definitions/definitions.h"
#include "fhir/search/search_parameter.h"
#include "fhir/search/search_query.h"

namespace fhir::rest {

class AccessControl {
 public:
  // `registry` may be null (no search wiring): compartments are then unknown and patient-level
  // access reaches only the Patient resource itself.
  AccessControl(const auth::Principal& principal, const definitions::Definitions& defs,
                const search::SearchParameterRegistry* registry)
      : p_(principal), defs_(defs), registry_(registry) {}

  const auth::Principal& principal() const { return p_; }
  bool trusted() const { return p_.kind == auth::Principal::Kind::kTrusted; }

  auth::Reach ReachFor(std::string_view type, auth::Permission permission) const {
    return p_.ReachFor(type, permission);
  }
  // kForbidden with a message naming the missing scope when the principal cannot do
  // `permission` on `type` anywhere.
  common::Status Require(std::string_view type, auth::Permission permission) const;
  // Whether this stored resource (canonical JSON) is within reach for `permission`.
  bool MayAccess(std::string_view type, auth::Permission permission,
                 std::string_view content) const;
  // Narrows a search to what the principal may see: the patient compartment for patient-level
  // access, the readable types for a system-level search, and the types that chains and _has
  // reach into. kForbidden when nothing of it is reachable.
  common::Status NarrowSearch(search::SearchQuery& query) const;

 private:
  bool InPatientCompartment(std::string_view type, std::string_view content) const;
  common::Status RequireClauseTypes(const search::Clause& clause) const;

  const auth::Principal& p_;
  const definitions::Definitions& defs_;
  const search::SearchParameterRegistry* registry_;
};

// "read", "create", ... for messages.
std::string_view PermissionName(auth::Permission permission);

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_ACCESS_CONTROL_H_
