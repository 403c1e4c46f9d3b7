#include "fhir/rest/access_control.h"

#include <algorithm>

#include "common/url.h"
#include "fhir/format/json_format.h"
#include "fhir/model/issues.h"
#include "fhir/search/index_extractor.h"
#include "fhir/search/memory_matcher.h"

namespace fhir::rest {

using auth::Permission;
using auth::Reach;
using common::Status;
using common::StatusCode;

std::string_view PermissionName(Permission permission) {
  switch (permission) {
    case Permission::kCreate: return "create";
    case Permission::kRead: return "read";
    case Permission::kUpdate: return "update";
    case Permission::kDelete: return "delete";
    case Permission::kSearch: return "search";
  }
  return "access";
}

namespace {

char PermissionLetter(Permission permission) {
  switch (permission) {
    case Permission::kCreate: return 'c';
    case Permission::kRead: return 'r';
    case Permission::kUpdate: return 'u';
    case Permission::kDelete: return 'd';
    case Permission::kSearch: return 's';
  }
  return '?';
}

// How far short of search access to a whole type a token falls, for the 403's message.
const char* WhatTokenHas(Reach reach) {
  if (reach == Reach::kNone) return "has none";
  return reach == Reach::kPatientCompartment ? "is limited to one patient" : "is limited by granular scopes";
}

}  // namespace

Status AccessControl::Require(std::string_view type, Permission permission) const {
  if (ReachFor(type, permission) != Reach::kNone) return Status::Ok();
  return Status(StatusCode::kForbidden,
                "Access denied: this token does not allow " +
                    std::string(PermissionName(permission)) + " on " + std::string(type) +
                    " (needs a scope such as user/" + std::string(type) + "." +
                    PermissionLetter(permission) + ")");
}

bool AccessControl::MayAccess(std::string_view type, Permission permission,
                              std::string_view content) const {
  Reach reach = ReachFor(type, permission);
  if (reach == Reach::kAll) return true;
  if (reach == Reach::kNone) return false;
  model::OperationOutcomeSink issues;
  auto root = format::ParseResourceJson(content, defs_, issues);
  if (!root.has_value()) return false;
  search::IndexRows rows;
  if (registry_ != nullptr) rows = search::ExtractIndex(*root, *registry_);
  if (reach == Reach::kPatientCompartment) return InPatientCompartment(type, *root, rows);
  const model::Element* id = root->Child("id");
  std::string id_value = id != nullptr ? std::string(id->value()) : std::string();
  for (const AccessPath& path : PathsFor(type, permission)) {
    if (path.in_compartment && !InPatientCompartment(type, *root, rows)) continue;
    if (path.filter && !search::MatchesInMemory(*path.filter, id_value, rows)) continue;
    return true;
  }
  return false;
}

bool AccessControl::InPatientCompartment(std::string_view type, const model::Element& root,
                                         const search::IndexRows& rows) const {
  if (type == "Patient") {
    const model::Element* id = root.Child("id");
    return id != nullptr && id->value() == p_.patient;
  }
  if (registry_ == nullptr) return false;
  const std::vector<std::string>& params = registry_->CompartmentParams("Patient", type);
  if (params.empty()) return false;
  return std::any_of(rows.references.begin(), rows.references.end(), [&](const auto& r) {
    return r.target_type == "Patient" && r.target_id == p_.patient &&
           std::find(params.begin(), params.end(), r.param) != params.end();
  });
}

const std::vector<AccessControl::AccessPath>& AccessControl::PathsFor(std::string_view type,
                                                                      Permission permission) const {
  auto [cached, fresh] = paths_.try_emplace({std::string(type), permission});
  if (!fresh) return cached->second;
  std::vector<AccessPath>& paths = cached->second;
  const bool with_patient = !p_.patient.empty();
  // Under kFiltered a plain scope is a patient-level one (a plain user/system scope would be
  // kAll): it reaches the whole compartment.
  for (const auth::ResourceScope& s : p_.scopes.resource_scopes()) {
    if (!(s.permissions & static_cast<unsigned>(permission)) || !s.Covers(type)) continue;
    bool in_compartment = s.context == auth::ScopeContext::kPatient;
    if (in_compartment && !with_patient) continue;
    AccessPath path;
    path.in_compartment = in_compartment;
    if (!s.query.empty()) {
      if (registry_ == nullptr) continue;  // cannot be evaluated: reaches nothing
      auth::ResourceScope typed = s;
      typed.type = std::string(type);
      auto filter = ParseGranularQuery(typed, *registry_);
      if (!filter.has_value()) continue;  // granted under other search parameters: fail closed
      path.filter = std::move(filter).value();
    }
    paths.push_back(std::move(path));
  }
  return paths;
}

Status AccessControl::LimitToPatientCompartment(search::SearchQuery& query) const {
  if (!query.compartment_type.empty() &&
      (query.compartment_type != "Patient" || query.compartment_id != p_.patient)) {
    return Status(StatusCode::kForbidden,
                  "Access denied: this token reaches only its own patient's compartment");
  }
  if (registry_ == nullptr) return Require(query.type, Permission::kSearch);
  const std::vector<std::string>& params = registry_->CompartmentParams("Patient", query.type);
  if (params.empty() && query.type != "Patient") {
    return Status(StatusCode::kForbidden, "Access denied: " + query.type +
                                              " resources are not in a patient's compartment");
  }
  query.compartment_type = "Patient";
  query.compartment_id = p_.patient;
  query.compartment_params = params;
  return Status::Ok();
}

Status AccessControl::NarrowToPaths(search::SearchQuery& query,
                                    const std::vector<AccessPath>& paths) const {
  if (paths.empty()) {
    return Status(StatusCode::kForbidden,
                  "Access denied: this token's scopes for " + query.type +
                      " cannot be applied to this search (a granular scope this server no longer "
                      "understands, or a patient scope without a patient in context)");
  }
  const bool all_in_compartment = std::all_of(paths.begin(), paths.end(),
                                              [](const AccessPath& p) { return p.in_compartment; });
  if (all_in_compartment) {
    // Every path stays inside the compartment: restrict to it once, then to the queries.
    FOVEA_RETURN_IF_ERROR(LimitToPatientCompartment(query));
    for (const AccessPath& p : paths) {
      if (!p.filter) return Status::Ok();  // the whole compartment
    }
    for (const AccessPath& p : paths) query.access_any.push_back({p.filter->clauses, {}, {}});
    return Status::Ok();
  }
  const std::vector<std::string> no_params;
  const std::vector<std::string>& params =
      registry_ != nullptr ? registry_->CompartmentParams("Patient", query.type) : no_params;
  for (const AccessPath& p : paths) {
    search::AccessAlternative alternative;
    if (p.filter) alternative.clauses = p.filter->clauses;
    if (p.in_compartment) {
      alternative.patient = p_.patient;
      alternative.compartment_params = params;
    }
    query.access_any.push_back(std::move(alternative));
  }
  return Status::Ok();
}

// A chain or _has matches on resources of another type that the result does not show, so the
// principal must be able to search *every* resource of that type: a type it sees only in part
// (one patient's compartment, or what a granular scope's query matches) is not narrowed inside
// the chain, and a match would tell something about a resource it may not read.
Status AccessControl::RequireClauseTypes(const search::Clause& clause) const {
  auto require_all = [this](const std::string& type, std::string_view how) -> Status {
    Reach reach = ReachFor(type, Permission::kSearch);
    if (reach == Reach::kNone) return Require(type, Permission::kSearch);
    if (reach == Reach::kAll) return Status::Ok();
    return Status(StatusCode::kForbidden,
                  "Access denied: " + std::string(how) + " through " + type +
                      " needs search access to every " + type + ", and this token " + WhatTokenHas(reach) +
                      " for " + type + "; search " + type + " on its own instead");
  };
  if (!clause.has_type.empty()) FOVEA_RETURN_IF_ERROR(require_all(clause.has_type, "_has"));
  if (clause.chain == nullptr) return Status::Ok();
  for (const std::string& t : clause.target_types) FOVEA_RETURN_IF_ERROR(require_all(t, "a chained search"));
  return RequireClauseTypes(*clause.chain);
}

Status AccessControl::NarrowSearch(search::SearchQuery& query) const {
  if (trusted()) return Status::Ok();
  // Chains and _has look into other types: the principal must be able to search all of those
  // too, or a match would reveal what it may not read (RequireClauseTypes).
  for (const search::Clause& c : query.clauses) FOVEA_RETURN_IF_ERROR(RequireClauseTypes(c));
  if (query.type.empty()) {
    // System-level search: only the types the principal may search everywhere.
    std::vector<std::string> allowed;
    const std::vector<std::string>& candidates =
        query.types.empty() ? defs_.resource_names() : query.types;
    for (const std::string& t : candidates) {
      Reach reach = ReachFor(t, Permission::kSearch);
      if (reach == Reach::kAll) {
        allowed.push_back(t);
      } else if (!query.types.empty()) {
        return Status(StatusCode::kForbidden,
                      "Access denied: a system-level search needs search access to every type "
                      "it names, and this token " + std::string(WhatTokenHas(reach)) + " for " + t +
                          "; search " + t + " on its own instead");
      }
    }
    if (allowed.empty()) {
      return Status(StatusCode::kForbidden, "Access denied: this token allows no system-level search");
    }
    query.types = std::move(allowed);
    return Status::Ok();
  }
  Reach reach = ReachFor(query.type, Permission::kSearch);
  if (reach == Reach::kNone) return Require(query.type, Permission::kSearch);
  if (reach == Reach::kAll) return Status::Ok();
  if (reach == Reach::kPatientCompartment) return LimitToPatientCompartment(query);
  return NarrowToPaths(query, PathsFor(query.type, Permission::kSearch));
}

common::Result<search::SearchQuery> ParseGranularQuery(const auth::ResourceScope& scope,
                                                       const search::SearchParameterRegistry& registry) {
  if (scope.type == "*") return common::InvalidError("a granular scope must name its resource type");
  auto pairs = common::ParseQueryString(scope.query);
  if (pairs.empty()) return common::InvalidError("the granular scope has no search parameter");
  model::OperationOutcomeSink issues;
  search::SearchOptions options;
  options.strict = true;
  search::SearchQuery query = search::ParseSearch(scope.type, pairs, registry, options, issues);
  if (issues.HasErrors()) {
    return common::InvalidError("granular scope " + scope.ToString() + ": " +
                                issues.issues().front().diagnostics);
  }
  // Every pair must be a filter (no _count, _sort, _include...): each makes one clause.
  if (query.clauses.size() != pairs.size() || !query.includes.empty() || !query.sort.empty()) {
    return common::InvalidError("granular scope " + scope.ToString() +
                                ": only search parameters may restrict a scope");
  }
  for (const search::Clause& c : query.clauses) {
    if (c.chain || !c.has_type.empty()) {
      return Status(StatusCode::kNotSupported, "granular scope " + scope.ToString() +
                                                   ": chains and _has cannot restrict a scope");
    }
  }
  FOVEA_RETURN_IF_ERROR(search::CheckMatchable(query));
  return query;
}

auth::GranularCheck EnforceableGranularScopes(std::shared_ptr<search::LiveRegistry> registry) {
  return [registry = std::move(registry)](const auth::ResourceScope& scope) {
    if (auth::NamedOnly(scope.type)) return false;  // the audit trail is not searched this way
    std::shared_ptr<const search::SearchParameterRegistry> current = registry->Get();
    return ParseGranularQuery(scope, *current).has_value();
  };
}

}  // namespace fhir::rest
