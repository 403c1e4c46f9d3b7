#ifndef FOVEA_FHIR_FHIRPATH_PARSER_H_
#define FOVEA_FHIR_FHIRPATH_PARSER_H_

// Recursive-descent parser for the FHIRPath grammar (hl7.org/fhirpath/N1/grammar.html), with
// the operator precedence of hl7.org/fhirpath/N1/#operator-precedence. Internal.

#include <memory>
#include <string_view>

#include "common/status.h"
#include "fhir/fhirpath/ast.h"

namespace fhir::fhirpath::detail {

// kInvalid "FHIRPath syntax error at offset N: ..." for a malformed expression.
common::Result<std::unique_ptr<Node>> Parse(std::string_view text);

// The dotted name a type-specifier argument spells ("FHIR.Patient"), or empty if the node is
// not a plain (possibly qualified) identifier.
std::string TypeSpecifierName(const Node& node);

}  // namespace fhir::fhirpath::detail

#endif  // FOVEA_FHIR_FHIRPATH_PARSER_H_
