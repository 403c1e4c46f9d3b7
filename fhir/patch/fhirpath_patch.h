#ifndef FOVEA_FHIR_PATCH_FHIRPATH_PATCH_H_
#define FOVEA_FHIR_PATCH_FHIRPATH_PATCH_H_

// FHIRPath Patch (hl7.org/fhir/R4/fhirpatch.html): a Parameters resource whose `operation`
// parameters change a resource through FHIRPath paths. For example
//
//   <parameter>
//     <name value="operation"/>
//     <part><name value="type"/><valueCode value="replace"/></part>
//     <part><name value="path"/><valueString value="Patient.birthDate"/></part>
//     <part><name value="value"/><valueDate value="1930-01-01"/></part>
//   </parameter>
//
// Paths are evaluated in strict mode (an element name the type does not define is an error, so
// a misspelt path is reported rather than matching nothing). Stateless: thread-safe.

#include "common/status.h"
#include "fhir/definitions/definitions.h"
#include "fhir/model/element.h"

namespace fhir::patch {

// Applies a FHIRPath Patch: `parameters` is a Parameters resource (element tree) whose
// `operation` parameters each have parts type (add|insert|delete|replace|move), path (a FHIRPath
// expression), name, value (value[x] or a part-resource/complex value given as nested parts),
// index, source, destination. Applies the operations in order to `resource` in place.
// kInvalid with a message a person can act on (which operation, by 1-based number, and why) when
// the patch is malformed or an operation cannot apply (path matches nothing where something is
// required, matches more than one element, index out of range, name not defined on the target
// type, value of a wrong type...).
// On failure `resource` may be partly changed: callers patch a copy.
//
// Per operation type:
//   delete   the one element the path selects; nothing when it selects none. Parents left empty
//            are removed too (FHIR has no empty elements).
//   replace  the one element the path selects, by `value`.
//   add      `value` as the child `name` of the one element the path selects: appended to a
//            repeating element, refused for a single one already present.
//   insert   `value` at `index` (0 to the list's size) of the list the path selects, all of it.
//   move     within that list, the item at `source` to `destination`.
// A value is a value[x] of the element's type (or another primitive type whose JSON kind and
// lexical form fit: a valueString for a code, an xhtml div), a `resource`, or nested parts
// naming the element's children (for backbone elements and types value[x] cannot carry).
common::Status ApplyFhirPathPatch(model::Element& resource, const model::Element& parameters,
                                  const definitions::Definitions& defs);

}  // namespace fhir::patch

#endif  // FOVEA_FHIR_PATCH_FHIRPATH_PATCH_H_
