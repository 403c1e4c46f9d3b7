#include "fhir/definitions/definitions.h"

#include <algorithm>
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

const model::TypeDef* Definitions::FindResource(std::string_view name) const {
  const TypeDef* t = FindType(name);
  return t != nullptr && t->is_resource() && !t->abstract ? t : nullptr;
}

}  // namespace fhir::definitions
