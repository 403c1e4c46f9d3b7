#include "fhir/rest/access_control.h"

#include <algorithm>

#include "fhir/format/json_format.h"
#include "fhir/model/issues.h"
#include "fhir/search/index_extractor.h"

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
  switch (ReachFor(type, permission)) {
    case Reach::kAll: return true;
    case Reach::kNone: return false;
    case Reach::kPatientCompartment: return InPatientCompartment(type, content);
  }
  return false;
}

bool AccessControl::InPatientCompartment(std::string_view type, std::string_view content) const {
  model::OperationOutcomeSink issues;
  auto root = format::ParseResourceJson(content, defs_, issues);
  if (!root.has_value()) return false;
  if (type == "Patient") {
    const model::Element* id = root->Child("id");
    return id != nullptr && id->value() == p_.patient;
  }
  if (registry_ == nullptr) return false;
  const std::vector<std::string>& params = registry_->CompartmentParams("Patient", type);
  if (params.empty()) return false;
  search::IndexRows rows = search::ExtractIndex(*root, *registry_);
  return std::any_of(rows.references.begin(), rows.references.end(), [&](const auto& r) {
    return r.target_type == "Patient" && r.target_id == p_.patient &&
           std::find(params.begin(), params.end(), r.param) != params.end();
  });
}

Status AccessControl::RequireClauseTypes(const search::Clause& clause) const {
  if (!clause.has_type.empty()) {
    FOVEA_RETURN_IF_ERROR(Require(clause.has_type, Permission::kSearch));
  }
  if (clause.chain == nullptr) return Status::Ok();
  for (const std::string& t : clause.target_types) {
    FOVEA_RETURN_IF_ERROR(Require(t, Permission::kSearch));
  }
  return RequireClauseTypes(*clause.chain);
}

Status AccessControl::NarrowSearch(search::SearchQuery& query) const {
  if (trusted()) return Status::Ok();
  // Chains and _has look into other types: the principal must be able to search those too,
  // or a match count would reveal what it may not read.
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
                      "it names, and this token " +
                          std::string(reach == Reach::kNone ? "has none" : "is limited to one patient") +
                          " for " + t + "; search " + t + " on its own instead");
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
  // Patient-level access: the search runs inside the launch patient's compartment.
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

}  // namespace fhir::rest
