#ifndef FOVEA_FHIR_VALIDATION_PRIMITIVES_H_
#define FOVEA_FHIR_VALIDATION_PRIMITIVES_H_

// Lexical rules of the FHIR R4 primitive types (hl7.org/fhir/R4/datatypes.html#primitive),
// hand-written instead of std::regex: they run on every primitive of every write.

#include <string>
#include <string_view>

namespace fhir::validation {

// True when `lexeme` is a valid value of the primitive type `type` ("date", "id", ...).
// On failure, `why` (if given) says what was expected, in words a person can act on.
bool IsValidPrimitive(std::string_view type, std::string_view lexeme, std::string* why = nullptr);

}  // namespace fhir::validation

#endif  // FOVEA_FHIR_VALIDATION_PRIMITIVES_H_
