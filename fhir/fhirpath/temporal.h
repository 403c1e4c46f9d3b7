#ifndef FOVEA_FHIR_FHIRPATH_TEMPORAL_H_
#define FOVEA_FHIR_FHIRPATH_TEMPORAL_H_

// FHIRPath Date, DateTime and Time values with their precision
// (hl7.org/fhirpath/N1/#datetime): parsing the FHIR/FHIRPath lexical forms, comparison that
// yields "unknown" when precisions differ, calendar arithmetic, and boundaries.
// Internal to fhir_fhirpath.

#include <optional>
#include <string>
#include <string_view>

#include "fhir/fhirpath/decimal.h"

namespace fhir::fhirpath::detail {

enum class TemporalKind { kDate, kDateTime, kTime };

// Precision levels shared by all three kinds (a Time starts at kHour).
enum Precision { kYear = 0, kMonth, kDay, kHour, kMinute, kSecond, kMillisecond };

struct Temporal {
  TemporalKind kind = TemporalKind::kDate;
  int year = 0;
  int month = 1;
  int day = 1;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int millisecond = 0;
  int precision = kYear;
  bool has_zone = false;
  bool zone_z = false;  // written as 'Z'
  int zone_minutes = 0;

  // Date "2015-02-04", DateTime "2015-02-04T14:34:28.123+10:00" (also "2015T", FHIRPath's
  // partial forms and FHIR instants), Time "14:34:28". Nullopt when malformed.
  static std::optional<Temporal> Parse(TemporalKind kind, std::string_view text);
  // The lexical form without '@' / '@T'.
  std::string ToString() const;
  // Number of digits of precision as FHIRPath precision() counts them (2015 -> 4).
  int DigitCount() const;
};

// -1/0/1, or nullopt when the values differ only below the common precision, i.e. the
// comparison is unknown. Seconds and milliseconds count as one precision.
std::optional<int> CompareTemporal(const Temporal& a, const Temporal& b);

// Adds `amount` of a calendar/UCUM time unit ("year", "months", "wk", "ms"...). Nullopt for a
// unit that is not a time unit or does not apply (hours on a Date are allowed and truncated).
std::optional<Temporal> AddDuration(const Temporal& t, const Decimal& amount, std::string_view unit);

// lowBoundary/highBoundary (FHIRPath 2.1): the earliest/latest value the given precision
// (digit count, as DigitCount) could stand for. Nullopt for an unsupported digit count.
std::optional<Temporal> Boundary(const Temporal& t, int digits, bool high);

// The current instant in UTC with millisecond precision.
Temporal Now();

}  // namespace fhir::fhirpath::detail

#endif  // FOVEA_FHIR_FHIRPATH_TEMPORAL_H_
