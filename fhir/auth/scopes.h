#ifndef FOVEA_FHIR_AUTH_SCOPES_H_
#define FOVEA_FHIR_AUTH_SCOPES_H_

// SMART on FHIR scopes (App Launch 2.x, hl7.org/fhir/smart-app-launch/scopes-and-launch-context):
// `patient|user|system / Type|* . cruds` (v2) and `.read|.write|.*` (v1), plus the launch and
// identity scopes. A ScopeSet answers "may this token do interaction X on type T, and how far":
// everywhere, or only inside the patient compartment of its launch patient.
//
// Deliberate narrowing: a wildcard (`*`) never covers AuditEvent or SearchParameter; only a
// scope that names them reaches the audit trail, or changes how the server indexes (a new
// SearchParameter re-indexes a resource type).
//
// Granular scopes (`patient/Observation.rs?category=...|laboratory`) narrow a permission to the
// resources that match their search query; scopes for one type add up (a resource is reachable
// when any scope reaches it). They are granted only where the server can enforce the query
// (GrantOptions::enforceable, which the REST layer answers from the search registry), so a
// token never carries a promise the server cannot keep.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fhir::auth {

// SMART v2 permissions, in their canonical order c r u d s.
enum class Permission : unsigned { kCreate = 1, kRead = 2, kUpdate = 4, kDelete = 8, kSearch = 16 };

enum class ScopeContext { kPatient, kUser, kSystem };

struct ResourceScope {
  ScopeContext context = ScopeContext::kUser;
  std::string type;          // "Observation" or "*"
  unsigned permissions = 0;  // bit set of Permission
  std::string query;         // granular restriction after '?', empty when none
  bool v1 = false;           // written as .read/.write/.*

  bool Covers(std::string_view resource_type) const;
  std::string ToString() const;  // canonical v2 form (v1 scopes are written as v2)
};

// How far an interaction reaches: nowhere, everywhere, only inside the launch patient's
// compartment, or as far as a mix of granular scopes (and perhaps the compartment) allows, which
// the caller decides resource by resource (fhir::rest::AccessControl).
enum class Reach { kNone, kPatientCompartment, kFiltered, kAll };

// Whether the server can enforce a granular scope's query on its type.
using GranularCheck = std::function<bool(const ResourceScope&)>;

class ScopeSet {
 public:
  ScopeSet() = default;
  // Splits a space-separated scope string; unknown scopes are kept in `others` (e.g. openid).
  static ScopeSet Parse(std::string_view text);

  // `with_patient` false: there is no launch patient, so patient-level scopes reach nothing.
  Reach ReachFor(std::string_view resource_type, Permission permission,
                 bool with_patient = true) const;

  // The scopes of `requested` this set permits: each requested resource scope is narrowed to the
  // permissions some scope here grants for the same context and type (a requested `*` stays `*`
  // only if a `*` scope here grants it). A requested granular scope keeps its query where
  // `enforceable` accepts it and a plain scope here, or the same granular scope, backs it;
  // without `enforceable` granular scopes are dropped. Identity/launch scopes of `requested` are
  // kept when `others_allowed` lists them.
  ScopeSet Grant(const ScopeSet& requested, const std::vector<std::string>& others_allowed,
                 const GranularCheck& enforceable = nullptr) const;

  const std::vector<ResourceScope>& resource_scopes() const { return resource_; }
  const std::vector<std::string>& others() const { return others_; }
  bool Has(std::string_view other) const;  // e.g. Has("offline_access")
  bool empty() const { return resource_.empty() && others_.empty(); }
  std::string ToString() const;  // space-separated, resource scopes first

 private:
  std::vector<ResourceScope> resource_;
  std::vector<std::string> others_;
};

std::optional<ResourceScope> ParseResourceScope(std::string_view scope);
// AuditEvent and SearchParameter: types a wildcard scope does not reach.
bool NamedOnly(std::string_view resource_type);

}  // namespace fhir::auth

#endif  // FOVEA_FHIR_AUTH_SCOPES_H_
