#ifndef FOVEA_FHIR_MODEL_UCUM_H_
#define FOVEA_FHIR_MODEL_UCUM_H_

// A small table of UCUM units (mass, length, volume, time, unity) and the FHIRPath calendar
// durations, each with its dimension and its factor to the dimension's base unit. Shared by
// FHIRPath quantity arithmetic and quantity search, so both convert the same way.

#include <string_view>

namespace fhir::model {

struct UcumUnit {
  std::string_view unit;       // "mg"
  std::string_view dimension;  // "mass"
  std::string_view factor;     // to the base unit, as a decimal lexeme: "0.001"
};

// The row of a unit code, or null when it is not in the table.
const UcumUnit* FindUcumUnit(std::string_view unit);

}  // namespace fhir::model

#endif  // FOVEA_FHIR_MODEL_UCUM_H_
