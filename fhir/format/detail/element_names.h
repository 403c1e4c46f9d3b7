#ifndef FOVEA_FHIR_FORMAT_DETAIL_ELEMENT_NAMES_H_
#define FOVEA_FHIR_FORMAT_DETAIL_ELEMENT_NAMES_H_

// Element-name handling shared by the JSON and XML readers: both spell a choice element as
// name + capitalised type ("valueQuantity"), and both report problems the same way.

#include <string>
#include <string_view>

#include "fhir/model/type_def.h"

namespace fhir::format::detail {

struct ResolvedElement {
  const model::ElementDef* def = nullptr;  // null when the name is not defined
  const model::TypeDef* type = nullptr;    // the concrete type (the chosen one for a choice)
};

// Maps an element name to its definition, resolving value[x] choices by type suffix.
ResolvedElement ResolveElementName(const model::TypeDef& type, std::string_view name);

// For an undefined name: names the allowed types when it looks like a choice element with a
// type the choice does not allow, else says the element is unknown.
std::string UnknownElementMessage(const model::TypeDef& type, std::string_view name);

// The FHIRPath location segment of an element: choices read as value.ofType(Quantity).
std::string PathSegment(const ResolvedElement& r);

}  // namespace fhir::format::detail

#endif  // FOVEA_FHIR_FORMAT_DETAIL_ELEMENT_NAMES_H_
