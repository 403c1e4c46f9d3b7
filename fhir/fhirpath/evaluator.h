#ifndef FOVEA_FHIR_FHIRPATH_EVALUATOR_H_
#define FOVEA_FHIR_FHIRPATH_EVALUATOR_H_

// Evaluation of a compiled FHIRPath AST. One Evaluator per Evaluate() call: it holds only
// references to the (immutable) AST, the context and the tree, so evaluations never share
// state. Internal to fhir_fhirpath.

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "fhir/fhirpath/ast.h"
#include "fhir/fhirpath/decimal.h"
#include "fhir/fhirpath/fhirpath.h"
#include "fhir/fhirpath/temporal.h"

namespace fhir::fhirpath::detail {

// The environment an expression is evaluated in: what a leading identifier and $this refer to,
// and $index/$total inside iterating functions.
struct Frame {
  const Collection* this_collection = nullptr;
  long long index = -1;               // $index, or -1 outside an iteration
  const Collection* total = nullptr;  // $total inside aggregate()
};

class Evaluator;
using Builtin = common::Result<Collection> (*)(Evaluator& ev, const Node& call,
                                                const Collection& input, const Frame& frame);

// The function table: index by Node::builtin. Returns -1 for an unknown function name.
int FindBuiltin(std::string_view name);
Builtin BuiltinAt(int index);
// Checks the arity bounds of each function call and resolves Node::builtin; kInvalid naming
// an unknown function or a wrong number of arguments.
common::Status ResolveFunctions(Node& node);

class Evaluator {
 public:
  Evaluator(const EvaluationContext& context, const model::Element& focus);

  common::Result<Collection> Run(const Node& root);
  common::Result<Collection> Eval(const Node& node, const Frame& frame);
  // Evaluates `node` with a single item as $this.
  common::Result<Collection> EvalWithItem(const Node& node, const Value& item, long long index,
                                          const Frame& outer);

  const EvaluationContext& context() const { return context_; }
  const model::Element& focus() const { return focus_; }
  const model::Element* ResourceVariable() const;
  const model::Element* RootResourceVariable() const;
  // resolve(): a reference string to a resource, or null.
  const model::Element* Resolve(std::string_view reference) const;

 private:
  common::Result<Collection> Member(const Node& node, const Collection& input, bool first_step);
  common::Result<Collection> Binary(const Node& node, const Frame& frame);
  common::Result<Collection> Variable(const Node& node);

  const EvaluationContext& context_;
  const model::Element& focus_;
  Collection focus_collection_;
};

// ---- value helpers shared by the evaluator and the functions ----

// A FHIR primitive element as its System value (boolean -> Boolean, code -> String, ...); a
// FHIR Quantity-like element as a System Quantity; other values unchanged. Nullopt for a
// primitive element without a value (only extensions).
std::optional<Value> ToSystem(const Value& v);
// Kind after ToSystem, without copying (kElement for complex elements).
bool IsSystemKind(const Value& v, Value::Kind kind);

std::optional<Decimal> AsDecimal(const Value& system_value);  // Integer or Decimal
std::optional<Temporal> AsTemporal(const Value& system_value);

// "=": true/false, or nullopt when unknown (different date precisions, incomparable units).
std::optional<bool> ValuesEqual(const Value& a, const Value& b);
// "~": never unknown.
bool ValuesEquivalent(const Value& a, const Value& b);
// "<" etc.: -1/0/1; nullopt when unknown; kInvalid for operands that cannot be ordered.
common::Result<std::optional<int>> CompareValues(const Value& a, const Value& b);

// The lexical form used by toString() and output: "1.50", "2015-02-04", "4 'mg'", "1 week".
std::optional<std::string> ToStringValue(const Value& v);

// Singleton evaluation (hl7.org/fhirpath/N1/#singleton-evaluation-of-collections) to Boolean:
// empty -> nullopt; one Boolean -> it; one other item -> true; several -> kInvalid.
common::Result<std::optional<bool>> SingletonBoolean(const Collection& c, std::string_view what);

// FHIR type name of an element ("HumanName", "code", "Patient").
std::string_view ElementTypeName(const model::Element& e);
// is/as/ofType: nullopt for an unknown type name. `exact` disables subtype matching of FHIR
// primitives (as/ofType), which the R4 suite expects.
std::optional<bool> MatchesType(const Value& v, std::string_view type_spec, bool exact);

// ofType(): the items of `input` whose type is `type` (FHIR primitives exactly); kInvalid for
// an unknown type name.
common::Result<Collection> FilterByType(const Collection& input, std::string_view type);

common::Status EvalError(const std::string& message);

}  // namespace fhir::fhirpath::detail

#endif  // FOVEA_FHIR_FHIRPATH_EVALUATOR_H_
