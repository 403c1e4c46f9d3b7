#ifndef FOVEA_FHIR_REST_ACCESS_CONTROL_H_
#define FOVEA_FHIR_REST_ACCESS_CONTROL_H_

// The decisions of one request's principal on FHIR data: may it do interaction X on type T at
// all (else 403), and is one particular resource within its reach (patient-level scopes reach
// only the launch patient's compartment; granular scopes only the resources matching their
// query). The REST layer asks before every interaction and filters what it returns (search
// matches, _include/_revinclude results, history entries). One object per request or delivery:
// thread-compatible, not thread-safe (it keeps the granular scopes' parsed queries).

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "fhir/auth/principal.h"
#include "fhir/definitions/definitions.h"
#include "fhir/model/element.h"
#include "fhir/search/index_rows.h"
#include "fhir/search/live_registry.h"
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
  // access, the granular scopes' queries, the readable types for a system-level search, and the
  // types that chains and _has reach into. kForbidden when nothing of it is reachable.
  common::Status NarrowSearch(search::SearchQuery& query) const;

 private:
  // One way to reach a type under Reach::kFiltered: inside the launch patient's compartment or
  // anywhere, and only the resources matching a granular scope's query (none: all of them).
  struct AccessPath {
    bool in_compartment = false;
    std::optional<search::SearchQuery> filter;
  };
  // Parsed once per (type, permission) for this object's lifetime: a page of history or of
  // included resources asks for every entry.
  const std::vector<AccessPath>& PathsFor(std::string_view type, auth::Permission permission) const;
  bool InPatientCompartment(std::string_view type, const model::Element& root,
                            const search::IndexRows& rows) const;
  common::Status LimitToPatientCompartment(search::SearchQuery& query) const;
  common::Status NarrowToPaths(search::SearchQuery& query, const std::vector<AccessPath>& paths) const;
  common::Status RequireClauseTypes(const search::Clause& clause) const;

  const auth::Principal& p_;
  const definitions::Definitions& defs_;
  const search::SearchParameterRegistry* registry_;
  mutable std::map<std::pair<std::string, auth::Permission>, std::vector<AccessPath>> paths_;
};

// "read", "create", ... for messages.
std::string_view PermissionName(auth::Permission permission);

// A granular scope's query (`category=http://...|laboratory`) as a search on its type: only
// search parameters this server can evaluate both in SQL and on one resource in memory (no
// result parameters, chains or _has). kInvalid / kNotSupported saying why otherwise.
common::Result<search::SearchQuery> ParseGranularQuery(const auth::ResourceScope& scope,
                                                       const search::SearchParameterRegistry& registry);
// What the token service asks before granting a granular scope.
auth::GranularCheck EnforceableGranularScopes(std::shared_ptr<search::LiveRegistry> registry);

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_ACCESS_CONTROL_H_
