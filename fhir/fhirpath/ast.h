#ifndef FOVEA_FHIR_FHIRPATH_AST_H_
#define FOVEA_FHIR_FHIRPATH_AST_H_

// The compiled form of a FHIRPath expression: an immutable tree shared by every evaluation.
// Internal to fhir_fhirpath.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "fhir/fhirpath/fhirpath.h"

namespace fhir::fhirpath::detail {

enum class NodeKind {
  kLiteral,    // literal: a single Value
  kEmpty,      // {}
  kMember,     // name: a child element (or the resource type at the start of a path)
  kFunction,   // name(args...)
  kInvoke,     // args[0] . args[1], where args[1] is a kMember or kFunction
  kIndexer,    // args[0] [ args[1] ]
  kUnary,      // name is "-" or "+"; args[0]
  kBinary,     // name is the operator; args[0], args[1]
  kTypeOp,     // args[0] is/as type_name
  kVariable,   // %name
  kThis,       // $this
  kIndex,      // $index
  kTotal,      // $total
};

struct Node {
  NodeKind kind = NodeKind::kEmpty;
  std::string name;
  std::string type_name;  // kTypeOp: "Quantity", "FHIR.Patient", "System.String"
  std::vector<std::unique_ptr<Node>> args;
  Value literal;
  std::size_t pos = 0;   // offset in the expression, for error messages
  int builtin = -1;      // kFunction: index into the function table, set at compile time
};

}  // namespace fhir::fhirpath::detail

#endif  // FOVEA_FHIR_FHIRPATH_AST_H_
