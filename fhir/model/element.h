#ifndef FOVEA_FHIR_MODEL_ELEMENT_H_
#define FOVEA_FHIR_MODEL_ELEMENT_H_

// The generic typed element tree every FHIR resource is parsed into (see ARCHITECTURE.md §3).
// A node knows its definition and concrete type, keeps a primitive's exact lexical form, and
// holds its children in definition order (repeats of one element stay adjacent).
// Thread-compatible; trees are owned by value.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/model/type_def.h"

namespace fhir::model {

class Element {
 public:
  Element() = default;
  Element(const ElementDef* def, const TypeDef* type) : def_(def), type_(type) {}

  // Null for a resource root; for a contained resource, the definition of `contained` etc.
  const ElementDef* def() const { return def_; }
  const TypeDef* type() const { return type_; }
  // Element name as in the definition ("value" for valueQuantity; the type name for a root).
  std::string_view name() const;
  // Property name in JSON/XML: "valueQuantity" for a choice.
  std::string JsonName() const;

  bool has_value() const { return value_.has_value(); }
  const std::string& value() const { return *value_; }
  void set_value(std::string v) { value_ = std::move(v); }

  const std::vector<Element>& children() const { return children_; }
  std::vector<Element>& children() { return children_; }
  Element& AddChild(Element child);
  // First child with this definition name, or null.
  const Element* Child(std::string_view name) const;
  Element* MutableChild(std::string_view name);
  // The first child with this name, added empty (in definition order) when there is none.
  // Null when the type defines no single-typed element of that name.
  Element* ChildOrAdd(std::string_view name);
  // A new child for a repeating element, appended after its existing repeats.
  Element* AddRepeat(std::string_view name);
  // Removes every child with this name.
  void RemoveChildren(std::string_view name);
  // Sets a single primitive child (creating or replacing it); the name must be defined.
  bool SetPrimitiveChild(std::string_view name, std::string value);
  // Orders children by definition index, keeping the relative order of repeats.
  void SortChildren();

  bool is_resource() const { return type_ != nullptr && type_->is_resource(); }

 private:
  const ElementDef* def_ = nullptr;
  const TypeDef* type_ = nullptr;
  std::optional<std::string> value_;
  std::vector<Element> children_;
};

}  // namespace fhir::model

#endif  // FOVEA_FHIR_MODEL_ELEMENT_H_
