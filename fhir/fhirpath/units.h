#ifndef FOVEA_FHIR_FHIRPATH_UNITS_H_
#define FOVEA_FHIR_FHIRPATH_UNITS_H_

// Quantity units for FHIRPath comparison and arithmetic: a small UCUM table (mass, length,
// volume, time, unity) plus the calendar durations of the FHIRPath grammar. Calendar
// weeks/days/hours/minutes/seconds/milliseconds equal their UCUM counterparts; calendar years
// and months do not compare with 'a'/'mo' (hl7.org/fhirpath/N1/#time-valued-quantities).
// Units outside the table compare only with the identical unit. Internal to fhir_fhirpath.

#include <optional>
#include <string>
#include <string_view>

#include "fhir/fhirpath/decimal.h"

namespace fhir::fhirpath::detail {

struct UnitInfo {
  std::string dimension;  // "mass", "length", ... or the unit itself when unknown
  Decimal factor;         // to the dimension's base unit
};

// "days" -> "day"; the FHIRPath calendar keywords (singular or plural) to the singular form,
// anything else unchanged.
std::string CanonicalCalendarUnit(std::string_view unit);
bool IsCalendarUnit(std::string_view unit);

UnitInfo LookupUnit(std::string_view unit);

// Expresses `value` in `unit` in the base unit of its dimension.
struct Normalized {
  std::string dimension;
  Decimal value;
};
Normalized Normalize(const Decimal& value, std::string_view unit);

}  // namespace fhir::fhirpath::detail

#endif  // FOVEA_FHIR_FHIRPATH_UNITS_H_
