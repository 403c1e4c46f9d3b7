#ifndef FOVEA_FHIR_VALIDATION_VALIDATOR_H_
#define FOVEA_FHIR_VALIDATION_VALIDATOR_H_

// Validates a parsed resource against the R4 base definitions: cardinality, primitive lexical
// forms, ids, content in every element (ele-1), and codes of required bindings. Structural
// problems (unknown elements, wrong JSON kinds) were already reported by fhir/format.
// Stateless: thread-safe. TODO(#3): FHIRPath invariants once the FHIRPath engine lands.

#include "fhir/model/element.h"
#include "fhir/model/issues.h"

namespace fhir::validation {

// Reports every problem to `scope.sink()`, located under `scope.path()` ("Patient").
void ValidateResource(const model::Element& resource, const model::IssueScope& scope);

}  // namespace fhir::validation

#endif  // FOVEA_FHIR_VALIDATION_VALIDATOR_H_
