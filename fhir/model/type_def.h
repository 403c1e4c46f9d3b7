#ifndef FOVEA_FHIR_MODEL_TYPE_DEF_H_
#define FOVEA_FHIR_MODEL_TYPE_DEF_H_

// The shape of FHIR types as the element tree needs it: a type is an ordered list of child
// element definitions. Loaded once from the R4 StructureDefinitions by fhir/definitions; immutable
// afterwards and shared by all threads.

#include <string>
#include <vector>

namespace fhir::model {

struct TypeDef;

enum class TypeKind { kPrimitive, kComplex, kResource, kBackbone };

// JSON representation of a primitive's value.
enum class JsonScalar { kString, kBoolean, kNumber };

struct ElementDef {
  std::string name;                   // "status", or "value" for value[x]
  std::vector<const TypeDef*> types;  // one, or several for a choice
  int min = 0;
  int max = 1;                        // -1 means unbounded
  bool array = false;                 // JSON array (base cardinality > 1)
  bool choice = false;                // value[x]
  bool modifier = false;
  bool summary = false;               // part of the _summary=true view
  const std::vector<std::string>* required_codes = nullptr;  // sorted; required binding
  std::string binding_url;
  int index = 0;                      // position in the parent's definition order
};

struct TypeDef {
  std::string name;  // "Patient", "HumanName", "string", or "Patient.contact" for a backbone
  TypeKind kind = TypeKind::kComplex;
  bool abstract = false;
  JsonScalar json_scalar = JsonScalar::kString;  // primitives only
  std::vector<ElementDef> elements;

  bool is_primitive() const { return kind == TypeKind::kPrimitive; }
  bool is_resource() const { return kind == TypeKind::kResource; }
  const ElementDef* FindElement(std::string_view n) const {
    for (const auto& e : elements) {
      if (e.name == n) return &e;
    }
    return nullptr;
  }
};

}  // namespace fhir::model

#endif  // FOVEA_FHIR_MODEL_TYPE_DEF_H_
