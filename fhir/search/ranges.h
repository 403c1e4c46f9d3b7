#ifndef FOVEA_FHIR_SEARCH_RANGES_H_
#define FOVEA_FHIR_SEARCH_RANGES_H_

// Implicit ranges (hl7.org/fhir/R4/search.html#prefix): a date stands for the whole period its
// precision names, a number for the interval its significant figures allow. Used both for
// stored values and for the values searched for.

#include <string>
#include <string_view>

#include "common/clock.h"

namespace fhir::search {

// "2026" -> [2026-01-01T00:00:00Z, 2026-12-31T23:59:59.999999Z]; "2026-11-28T10:00:00+02:00"
// -> that second. Values without a time zone are taken as UTC. False when malformed.
bool DateRange(std::string_view lexeme, common::TimePoint& low, common::TimePoint& high);

// "100" -> [99.5, 100.5]; "1.50" -> [1.495, 1.505]; "1e2" -> [50, 150]. False when malformed.
bool DecimalRange(std::string_view lexeme, std::string& low, std::string& high);

// A UCUM unit Fovea can convert: its dimension ("mass") and the factor to the dimension's base
// unit (mg -> 0.001). False for other systems and unknown units, which match by code only.
bool UcumFactor(std::string_view system, std::string_view code, std::string& dimension,
                long double& factor);

// `value` times `factor`, as a decimal text for PostgreSQL's numeric.
std::string ScaledDecimal(std::string_view value, long double factor);

}  // namespace fhir::search

#endif  // FOVEA_FHIR_SEARCH_RANGES_H_
