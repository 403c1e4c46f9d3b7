#ifndef FOVEA_FHIR_FHIRPATH_FHIRPATH_H_
#define FOVEA_FHIR_FHIRPATH_FHIRPATH_H_

// FHIRPath 2.0 (hl7.org/fhirpath/N1) over Fovea's typed element tree, as used by FHIR R4:
// search-parameter extraction, invariants, Subscriptions, the workflow and TestScript asserts.
//
//   FOVEA_ASSIGN_OR_RETURN(auto expr, fhirpath::CompileCached("Patient.name.given"));
//   FOVEA_ASSIGN_OR_RETURN(auto result, fhirpath::Evaluate(*expr, patient, context));
//
// Expressions compile once to an immutable AST and are evaluated many times, from any thread.
// A Collection holds pointers into the evaluated tree: the tree must outlive it.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "fhir/definitions/definitions.h"
#include "fhir/model/element.h"

namespace fhir::fhirpath {

// A quantity: a decimal value (kept as its lexical form) with a UCUM unit or calendar unit.
struct Quantity {
  std::string value;  // decimal lexeme, e.g. "1.50"
  std::string unit;   // "mg", "'wk'" stays "wk", calendar durations as "year", "month", ...
};

// One item of a FHIRPath collection: a node of an element tree, or a value the expression
// computed (a System type). Thread-compatible value type.
class Value {
 public:
  enum class Kind { kElement, kBoolean, kInteger, kDecimal, kString, kDate, kDateTime, kTime, kQuantity };

  static Value OfElement(const model::Element* e);
  static Value Boolean(bool b);
  static Value Integer(long long i);
  static Value Decimal(std::string lexeme);
  static Value String(std::string s);
  static Value Date(std::string lexeme);      // FHIRPath/FHIR date lexeme without '@'
  static Value DateTime(std::string lexeme);  // without '@'
  static Value Time(std::string lexeme);      // hh:mm(:ss(.sss)) without '@T'
  static Value OfQuantity(Quantity q);
  // The result of type(): a String holding the type name, with the namespace ("System" or
  // "FHIR") alongside so that `.name` and `.namespace` work on it.
  static Value TypeInfo(std::string type_namespace, std::string name);

  Kind kind() const { return kind_; }
  // For kElement: the tree node (never null).
  const model::Element* element() const { return element_; }
  // The FHIR type name for elements ("HumanName", "date", "Patient", "Patient.contact"),
  // or the System type name for computed values ("Boolean", "Integer", "Decimal", "String",
  // "Date", "DateTime", "Time", "Quantity").
  std::string_view type_name() const;
  // Computed scalars; for primitive elements, their lexical value ("true", "1.50", "2026-11").
  const std::string& text() const;
  bool boolean() const { return boolean_; }
  long long integer() const { return integer_; }
  const Quantity& quantity() const { return quantity_; }
  // Non-empty only for values made by TypeInfo().
  const std::string& type_namespace() const { return type_namespace_; }

 private:
  Kind kind_ = Kind::kBoolean;
  const model::Element* element_ = nullptr;
  bool boolean_ = false;
  long long integer_ = 0;
  std::string text_;
  Quantity quantity_;
  std::string type_namespace_;
};

using Collection = std::vector<Value>;

// Inputs to one evaluation besides the focus.
struct EvaluationContext {
  const definitions::Definitions* definitions = &definitions::Definitions::R4();
  const model::Element* resource = nullptr;       // %resource; defaults to the focus
  const model::Element* root_resource = nullptr;  // %rootResource; defaults to %resource
  std::map<std::string, Collection, std::less<>> variables;  // %name (without '%')
  // Optional: resolve() for references outside the resource/bundle (e.g. via the store).
  // Returns null when the reference cannot be resolved. The returned tree must outlive the
  // evaluation's result.
  std::function<const model::Element*(std::string_view reference)> resolver;
  // Lenient by default: a choice element may also be named with its type (valueQuantity), and
  // an element name the focus's type does not define yields empty. Strict follows the
  // specification's static checks instead: both are kInvalid (the conformance suite's mode).
  bool strict = false;
  // R4 search parameters apply `as` to collections (`Observation.component.value as
  // CodeableConcept`), which FHIRPath 2.0 makes an error. When set, `as` on several items
  // filters them like ofType() instead, as HAPI does for search-parameter extraction.
  bool as_filters_collections = false;
};

// A compiled expression. Immutable: thread-safe.
class Expression {
 public:
  virtual ~Expression() = default;
  virtual const std::string& text() const = 0;
};

// Parses an expression. kInvalid with a message naming the position for a syntax error.
common::Result<std::shared_ptr<const Expression>> Compile(std::string_view text);
// The same, through a process-wide cache keyed by the text. Thread-safe.
common::Result<std::shared_ptr<const Expression>> CompileCached(std::string_view text);

// Evaluates against `focus` (usually a resource root). kInvalid for evaluation errors the
// specification defines as errors (e.g. single() on several items, type errors).
common::Result<Collection> Evaluate(const Expression& expression, const model::Element& focus,
                                    const EvaluationContext& context = {});

// The collection as a JSON array: FHIR JSON for complex elements and resources, JSON scalars
// for primitives and computed values (quantities as {"value":..,"unit":..}).
std::string CollectionToJson(const Collection& collection);

}  // namespace fhir::fhirpath

#endif  // FOVEA_FHIR_FHIRPATH_FHIRPATH_H_
