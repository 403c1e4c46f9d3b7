#include "fhir/search/search_parameter.h"

#include <cstdlib>
#include <utility>
#include <iostream>

#include "common/json.h"
#include "fhir/definitions/definitions.h"

std::string_view EmbeddedR4SearchParameters();

namespace fhir::search {
namespace {

bool ParseType(std::string_view s, ParamType& out) {
  static const std::pair<std::string_view, ParamType> kTypes[] = {
      {"string", ParamType::kString},     {"token", ParamType::kToken},
      {"reference", ParamType::kReference}, {"date", ParamType::kDate},
      {"number", ParamType::kNumber},     {"quantity", ParamType::kQuantity},
      {"uri", ParamType::kUri},           {"composite", ParamType::kComposite},
      {"special", ParamType::kSpecial},
  };
  for (const auto& [name, type] : kTypes) {
    if (name == s) {
      out = type;
      return true;
    }
  }
  return false;
}

// "Resource.meta.tag" -> "meta.tag": evaluated on a resource, the relative path means the same
// for every concrete type.
std::string WithoutAbstractRoot(const std::string& expression) {
  for (std::string_view root : {"Resource.", "DomainResource."}) {
    if (expression.rfind(root, 0) == 0) return expression.substr(root.size());
  }
  return expression;
}

}  // namespace

std::string_view ParamTypeName(ParamType t) {
  switch (t) {
    case ParamType::kString: return "string";
    case ParamType::kToken: return "token";
    case ParamType::kReference: return "reference";
    case ParamType::kDate: return "date";
    case ParamType::kNumber: return "number";
    case ParamType::kQuantity: return "quantity";
    case ParamType::kUri: return "uri";
    case ParamType::kComposite: return "composite";
    case ParamType::kSpecial: return "special";
  }
  return "string";
}

namespace {

// One parameter from a SearchParameter resource, or the compact form (which keeps the same
// field names): url, code, base, type, expression, target, component.
common::Result<std::unique_ptr<SearchParameter>> ParseParameter(const common::JsonValue& item) {
  auto p = std::make_unique<SearchParameter>();
  auto text = [&](const char* key) {
    const common::JsonValue* v = item.Find(key);
    return v != nullptr ? v->scalar() : std::string();
  };
  p->url = text("url");
  p->code = text("code");
  p->expression = text("expression");
  if (!ParseType(text("type"), p->type)) {
    return common::InvalidError("search parameter " + p->url + " has an unknown type");
  }
  if (const auto* base = item.Find("base")) {
    for (const auto& b : base->items()) p->base.push_back(b.scalar());
  }
  if (const auto* t = item.Find("target")) {
    for (const auto& v : t->items()) p->targets.push_back(v.scalar());
  }
  if (const auto* c = item.Find("component")) {
    for (const auto& v : c->items()) {
      const common::JsonValue* definition = v.Find("definition");
      const common::JsonValue* expression = v.Find("expression");
      if (definition == nullptr || expression == nullptr) {
        return common::InvalidError("search parameter " + p->url +
                                    ": each component needs a definition and an expression");
      }
      SearchParameter::Component component{definition->scalar(), expression->scalar(), nullptr};
      if (auto compiled = fhirpath::Compile(component.expression); compiled.has_value()) {
        component.compiled = std::move(compiled).value();
      }
      p->components.push_back(std::move(component));
    }
  }
  if (!p->expression.empty()) {
    if (auto compiled = fhirpath::Compile(WithoutAbstractRoot(p->expression));
        compiled.has_value()) {
      p->compiled = std::move(compiled).value();
    }
  }
  return p;
}

// R4 declares DocumentReference-relationship's component expressions the wrong way round:
// relatesto (a reference) on "code", relation (a token) on "target". Where each of two
// components' expressions is the other's definition path below the composite's expression,
// they are swapped back, so the reference comes from `target` and the token from `code`.
void FixSwappedComponents(SearchParameter& p, const SearchParameterRegistry& registry) {
  if (p.type != ParamType::kComposite || p.components.size() != 2) return;
  auto below = [&](const SearchParameter::Component& c) -> std::string {
    const SearchParameter* d = registry.FindByUrl(c.definition);
    std::string prefix = p.expression + ".";
    if (d == nullptr || d->expression.rfind(prefix, 0) != 0) return "";
    return d->expression.substr(prefix.size());
  };
  SearchParameter::Component& a = p.components[0];
  SearchParameter::Component& b = p.components[1];
  if (a.expression != b.expression && below(a) == b.expression && below(b) == a.expression) {
    std::swap(a.expression, b.expression);
    std::swap(a.compiled, b.compiled);
  }
}

}  // namespace

void SearchParameterRegistry::Add(std::unique_ptr<SearchParameter> p) {
  for (const auto& b : p->base) by_type_[b][p->code] = p.get();
  by_url_[p->url] = p.get();
  params_.push_back(std::move(p));
}

common::Result<std::shared_ptr<const SearchParameterRegistry>> SearchParameterRegistry::Load(
    std::string_view json) {
  FOVEA_ASSIGN_OR_RETURN(common::JsonValue root, common::ParseJson(json, {.max_depth = 16}));
  const common::JsonValue* list = root.Find("searchParameters");
  if (list == nullptr) return common::InternalError("search parameters lack 'searchParameters'");
  auto registry = std::make_shared<SearchParameterRegistry>();
  for (const auto& item : list->items()) {
    FOVEA_ASSIGN_OR_RETURN(auto p, ParseParameter(item));
    registry->Add(std::move(p));
  }
  for (auto& p : registry->params_) FixSwappedComponents(*p, *registry);
  if (const auto* compartments = root.Find("compartments")) {
    for (const auto& [compartment, members] : compartments->members()) {
      auto& by_type = registry->compartments_[compartment];
      for (const auto& [type, params] : members.members()) {
        for (const auto& p : params.items()) by_type[type].push_back(p.scalar());
      }
    }
  }
  return std::shared_ptr<const SearchParameterRegistry>(std::move(registry));
}

common::Result<SearchParameter> SearchParameterRegistry::FromResource(
    const common::JsonValue& resource) const {
  FOVEA_ASSIGN_OR_RETURN(auto p, ParseParameter(resource));
  if (p->code.empty() || p->base.empty() || p->url.empty()) {
    return common::InvalidError("A SearchParameter needs url, code and base to be searchable");
  }
  if (p->type == ParamType::kSpecial || (p->type != ParamType::kComposite && p->expression.empty())) {
    return common::InvalidError("SearchParameter " + p->code +
                                ": Fovea can only search parameters with an expression");
  }
  if (!p->expression.empty() && p->compiled == nullptr) {
    auto compiled = fhirpath::Compile(p->expression);
    return common::InvalidError("SearchParameter " + p->code + ": the expression does not compile: " +
                                (compiled.has_value() ? std::string("unknown error")
                                                      : compiled.error().message()));
  }
  for (const std::string& b : p->base) {
    if (definitions::Definitions::R4().FindResource(b) == nullptr && b != "Resource" &&
        b != "DomainResource") {
      return common::InvalidError("SearchParameter " + p->code + ": '" + b +
                                  "' is not a resource type");
    }
    const SearchParameter* existing = Find(b, p->code);
    if (existing != nullptr && existing->url != p->url) {
      return common::InvalidError("SearchParameter " + p->code + ": " + b +
                                  " already has a parameter with that code (" + existing->url + ")");
    }
  }
  return std::move(*p);
}

std::shared_ptr<const SearchParameterRegistry> SearchParameterRegistry::WithCustom(
    const std::vector<SearchParameter>& custom) const {
  auto registry = std::make_shared<SearchParameterRegistry>();
  for (const auto& p : params_) registry->Add(std::make_unique<SearchParameter>(*p));
  for (const auto& p : custom) registry->Add(std::make_unique<SearchParameter>(p));
  registry->compartments_ = compartments_;
  return registry;
}

std::shared_ptr<const SearchParameterRegistry> SearchParameterRegistry::R4() {
  static const std::shared_ptr<const SearchParameterRegistry> r4 = [] {
    auto loaded = Load(EmbeddedR4SearchParameters());
    if (!loaded.has_value()) {
      std::cerr << "fovea: embedded search parameters are corrupt: " << loaded.error().message()
                << "\n";
      std::abort();
    }
    return std::move(loaded).value();
  }();
  return r4;
}

const SearchParameter* SearchParameterRegistry::Find(std::string_view resource_type,
                                                     std::string_view code) const {
  for (std::string_view scope : {resource_type, std::string_view("DomainResource"),
                                 std::string_view("Resource")}) {
    auto t = by_type_.find(scope);
    if (t == by_type_.end()) continue;
    auto p = t->second.find(code);
    if (p != t->second.end()) return p->second;
  }
  return nullptr;
}

std::vector<const SearchParameter*> SearchParameterRegistry::ForType(
    std::string_view resource_type) const {
  std::map<std::string_view, const SearchParameter*> merged;
  for (std::string_view scope : {std::string_view("Resource"), std::string_view("DomainResource"),
                                 resource_type}) {
    auto t = by_type_.find(scope);
    if (t == by_type_.end()) continue;
    for (const auto& [code, p] : t->second) merged[code] = p;  // the more specific one wins
  }
  std::vector<const SearchParameter*> out;
  for (const auto& [code, p] : merged) out.push_back(p);
  return out;
}

const std::vector<std::string>& SearchParameterRegistry::CompartmentParams(
    std::string_view compartment_type, std::string_view resource_type) const {
  static const std::vector<std::string> kNone;
  auto c = compartments_.find(compartment_type);
  if (c == compartments_.end()) return kNone;
  auto t = c->second.find(resource_type);
  return t == c->second.end() ? kNone : t->second;
}

const SearchParameter* SearchParameterRegistry::FindByUrl(std::string_view url) const {
  auto it = by_url_.find(url);
  return it == by_url_.end() ? nullptr : it->second;
}

}  // namespace fhir::search
