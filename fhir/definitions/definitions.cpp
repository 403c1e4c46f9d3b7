#include "fhir/definitions/definitions.h"

#include <algorithm>
#include <set>
#include <cstdlib>
#include <iostream>

#include "common/json.h"

std::string_view EmbeddedR4Definitions();

namespace fhir::definitions {

using common::JsonValue;
using model::TypeDef;
using model::TypeKind;

namespace {

TypeKind KindOf(const std::string& kind) {
  if (kind == "primitive-type") return TypeKind::kPrimitive;
  if (kind == "resource") return TypeKind::kResource;
  if (kind == "backbone") return TypeKind::kBackbone;
  return TypeKind::kComplex;
}

model::JsonScalar ScalarOf(const std::string& primitive) {
  if (primitive == "boolean") return model::JsonScalar::kBoolean;
  if (primitive == "integer" || primitive == "decimal" || primitive == "positiveInt" ||
      primitive == "unsignedInt")
    return model::JsonScalar::kNumber;
  return model::JsonScalar::kString;
}

}  // namespace

common::Result<std::unique_ptr<Definitions>> Definitions::Load(std::string_view json) {
  FOVEA_ASSIGN_OR_RETURN(JsonValue root, common::ParseJson(json, {.max_depth = 16}));
  std::unique_ptr<Definitions> defs(new Definitions());
  if (const JsonValue* v = root.Find("fhirVersion")) defs->fhir_version_ = v->scalar();
  const JsonValue* types = root.Find("types");
  const JsonValue* value_sets = root.Find("valueSets");
  if (types == nullptr || value_sets == nullptr) {
    return common::InternalError("definitions lack 'types' or 'valueSets'");
  }
  for (const auto& [url, codes] : value_sets->members()) {
    auto& list = defs->value_sets_[url];
    for (const auto& c : codes.items()) list.push_back(c.scalar());
    std::sort(list.begin(), list.end());
  }
  if (const JsonValue* hierarchies = root.Find("codeHierarchies")) {
    for (const auto& [system, codes] : hierarchies->members()) {
      auto& parents = defs->parents_[system];
      for (const auto& [code, ups] : codes.members()) {
        auto& mine = parents[code];
        for (const auto& up : ups.items()) mine.push_back(up.scalar());
      }
    }
  }
  // Pass 1: create every type so element types can point at each other.
  for (const auto& [name, t] : types->members()) {
    auto def = std::make_unique<TypeDef>();
    def->name = name;
    def->kind = KindOf(t.Find("kind")->scalar());
    def->abstract = t.Find("abstract")->bool_value();
    if (def->kind == TypeKind::kPrimitive) def->json_scalar = ScalarOf(name);
    if (def->kind == TypeKind::kResource && !def->abstract) defs->resource_names_.push_back(name);
    defs->types_.emplace(name, std::move(def));
  }
  // Pass 2: elements.
  for (const auto& [name, t] : types->members()) {
    TypeDef& def = *defs->types_.at(name);
    for (const auto& e : t.Find("elements")->items()) {
      model::ElementDef el;
      el.name = e.Find("name")->scalar();
      for (const auto& tn : e.Find("types")->items()) {
        const TypeDef* target = defs->FindType(tn.scalar());
        if (target == nullptr) {
          return common::InternalError("definitions: " + name + "." + el.name +
                                       " refers to unknown type " + tn.scalar());
        }
        el.types.push_back(target);
      }
      el.min = std::atoi(e.Find("min")->scalar().c_str());
      el.max = std::atoi(e.Find("max")->scalar().c_str());
      el.array = e.Find("array")->bool_value();
      if (const JsonValue* c = e.Find("choice")) el.choice = c->bool_value();
      if (const JsonValue* m = e.Find("modifier")) el.modifier = m->bool_value();
      if (const JsonValue* m = e.Find("summary")) el.summary = m->bool_value();
      if (const JsonValue* b = e.Find("binding")) {
        auto it = defs->value_sets_.find(b->scalar());
        if (it != defs->value_sets_.end()) {
          el.binding_url = b->scalar();
          el.required_codes = &it->second;
        }
      }
      el.index = static_cast<int>(def.elements.size());
      def.elements.push_back(std::move(el));
    }
  }
  std::sort(defs->resource_names_.begin(), defs->resource_names_.end());
  return defs;
}

const Definitions& Definitions::R4() {
  static const Definitions* const r4 = [] {
    auto loaded = Load(EmbeddedR4Definitions());
    if (!loaded.has_value()) {
      // The definitions are compiled in; failing here is a build defect, not a runtime condition.
      std::cerr << "fovea: embedded R4 definitions are corrupt: " << loaded.error().message()
                << "\n";
      std::abort();
    }
    return std::move(loaded).value().release();
  }();
  return *r4;
}

const model::TypeDef* Definitions::FindType(std::string_view name) const {
  auto it = types_.find(std::string(name));
  return it == types_.end() ? nullptr : it->second.get();
}

const std::vector<std::string>* Definitions::ValueSetCodes(std::string_view url) const {
  std::string_view base = url.substr(0, url.find('|'));  // a version suffix is ignored
  auto it = value_sets_.find(base);
  return it == value_sets_.end() ? nullptr : &it->second;
}

bool Definitions::HasHierarchy(std::string_view system) const { return parents_.find(system) != parents_.end(); }

std::vector<std::string> Definitions::Subsuming(std::string_view system, std::string_view code) const {
  auto cs = parents_.find(system);
  if (cs == parents_.end() || cs->second.find(code) == cs->second.end()) return {};
  // Walk up; the hierarchy is small and acyclic in the spec, the visited set guards anyway.
  std::set<std::string> found{std::string(code)};
  std::vector<std::string> todo{std::string(code)};
  while (!todo.empty()) {
    std::string c = std::move(todo.back());
    todo.pop_back();
    auto it = cs->second.find(c);
    if (it == cs->second.end()) continue;
    for (const std::string& up : it->second) {
      if (found.insert(up).second) todo.push_back(up);
    }
  }
  return {found.begin(), found.end()};
}

std::vector<std::string> Definitions::Subsumed(std::string_view system, std::string_view code) const {
  auto cs = parents_.find(system);
  if (cs == parents_.end() || cs->second.find(code) == cs->second.end()) return {};
  std::set<std::string> found{std::string(code)};
  // A code is below `code` when one of its ancestors is `code`.
  for (const auto& [candidate, ups] : cs->second) {
    if (found.count(candidate) > 0) continue;
    std::vector<std::string> above = Subsuming(system, candidate);
    if (std::find(above.begin(), above.end(), code) != above.end()) found.insert(candidate);
  }
  return {found.begin(), found.end()};
}

std::vector<std::string> Definitions::HierarchiesWithCode(std::string_view code) const {
  std::vector<std::string> systems;
  for (const auto& [system, codes] : parents_) {
    if (codes.find(code) != codes.end()) systems.push_back(system);
  }
  return systems;
}

const model::TypeDef* Definitions::FindResource(std::string_view name) const {
  const TypeDef* t = FindType(name);
  return t != nullptr && t->is_resource() && !t->abstract ? t : nullptr;
}

}  // namespace fhir::definitions
