#include "fhir/auth/roles.h"

#include <algorithm>

#include "common/json.h"

std::string_view EmbeddedRoles();

namespace fhir::auth {

common::Result<RoleCatalog> RoleCatalog::FromJson(std::string_view json) {
  FOVEA_ASSIGN_OR_RETURN(common::JsonValue doc, common::ParseJson(json));
  const common::JsonValue* roles = doc.Find("roles");
  if (roles == nullptr || !roles->is_array()) {
    return common::InvalidError("roles.json needs a 'roles' array");
  }
  RoleCatalog catalog;
  for (const common::JsonValue& r : roles->items()) {
    const common::JsonValue* code = r.Find("code");
    if (code == nullptr || !code->is_string() || code->scalar().empty()) {
      return common::InvalidError("every role needs a 'code'");
    }
    RoleDefinition def;
    def.code = code->scalar();
    if (const common::JsonValue* d = r.Find("display")) def.display = d->scalar();
    std::string scopes;
    if (const common::JsonValue* s = r.Find("scopes")) {
      for (const common::JsonValue& scope : s->items()) {
        if (!ParseResourceScope(scope.scalar())) {
          return common::InvalidError("role " + def.code + ": '" + scope.scalar() +
                                      "' is not a SMART resource scope");
        }
        scopes += scope.scalar() + " ";
      }
    }
    def.scopes = ScopeSet::Parse(scopes);
    if (const common::JsonValue* steps = r.Find("steps")) {
      for (const common::JsonValue& step : steps->items()) def.steps.push_back(step.scalar());
    }
    catalog.roles_.push_back(std::move(def));
  }
  return catalog;
}

const RoleCatalog& RoleCatalog::Default() {
  static const RoleCatalog catalog = [] {
    auto parsed = FromJson(EmbeddedRoles());
    // The file is part of the build and covered by tests; failing here is a build defect.
    if (!parsed.has_value()) std::abort();
    return std::move(parsed).value();
  }();
  return catalog;
}

const RoleDefinition* RoleCatalog::Find(std::string_view code) const {
  for (const RoleDefinition& r : roles_) {
    if (r.code == code) return &r;
  }
  return nullptr;
}

ScopeSet RoleCatalog::ScopesFor(const std::vector<std::string>& roles) const {
  std::string all;
  for (const std::string& code : roles) {
    if (const RoleDefinition* r = Find(code)) all += r->scopes.ToString() + " ";
  }
  return ScopeSet::Parse(all);
}

bool RoleCatalog::MayPerformStep(const std::vector<std::string>& roles,
                                 std::string_view step) const {
  for (const std::string& code : roles) {
    const RoleDefinition* r = Find(code);
    if (r != nullptr && std::find(r->steps.begin(), r->steps.end(), step) != r->steps.end()) {
      return true;
    }
  }
  return false;
}

}  // namespace fhir::auth
