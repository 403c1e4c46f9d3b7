#include "fhir/fhirpath/units.h"

#include <array>

#include "fhir/model/ucum.h"

namespace fhir::fhirpath::detail {

namespace {

constexpr std::array<std::string_view, 8> kCalendar = {
    "year", "month", "week", "day", "hour", "minute", "second", "millisecond"};

}  // namespace

std::string CanonicalCalendarUnit(std::string_view unit) {
  for (std::string_view c : kCalendar) {
    if (unit == c) return std::string(c);
    if (unit.size() == c.size() + 1 && unit.substr(0, c.size()) == c && unit.back() == 's') {
      return std::string(c);
    }
  }
  return std::string(unit);
}

bool IsCalendarUnit(std::string_view unit) {
  std::string c = CanonicalCalendarUnit(unit);
  for (std::string_view k : kCalendar) {
    if (c == k) return true;
  }
  return false;
}

UnitInfo LookupUnit(std::string_view unit) {
  std::string u = CanonicalCalendarUnit(unit);
  if (const model::UcumUnit* row = model::FindUcumUnit(u)) {
    return {std::string(row->dimension), *Decimal::Parse(row->factor)};
  }
  return {"unit:" + u, Decimal::FromInteger(1)};
}

Normalized Normalize(const Decimal& value, std::string_view unit) {
  UnitInfo info = LookupUnit(unit);
  return {info.dimension, value * info.factor};
}

}  // namespace fhir::fhirpath::detail
