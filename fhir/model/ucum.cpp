#include "fhir/model/ucum.h"

#include <array>

namespace fhir::model {
namespace {

constexpr std::array<UcumUnit, 41> kUnits = {{
    {"g", "mass", "1"},
    {"mg", "mass", "0.001"},
    {"ug", "mass", "0.000001"},
    {"ng", "mass", "0.000000001"},
    {"kg", "mass", "1000"},
    {"[lb_av]", "mass", "453.59237"},
    {"[oz_av]", "mass", "28.349523125"},
    {"m", "length", "1"},
    {"km", "length", "1000"},
    {"cm", "length", "0.01"},
    {"mm", "length", "0.001"},
    {"um", "length", "0.000001"},
    {"nm", "length", "0.000000001"},
    {"[in_i]", "length", "0.0254"},
    {"[ft_i]", "length", "0.3048"},
    {"L", "volume", "1"},
    {"l", "volume", "1"},
    {"dL", "volume", "0.1"},
    {"cL", "volume", "0.01"},
    {"mL", "volume", "0.001"},
    {"ml", "volume", "0.001"},
    {"uL", "volume", "0.000001"},
    {"s", "time", "1"},
    {"ms", "time", "0.001"},
    {"min", "time", "60"},
    {"h", "time", "3600"},
    {"d", "time", "86400"},
    {"wk", "time", "604800"},
    {"a", "time", "31557600"},
    {"mo", "time", "2629800"},
    {"second", "time", "1"},
    {"millisecond", "time", "0.001"},
    {"minute", "time", "60"},
    {"hour", "time", "3600"},
    {"day", "time", "86400"},
    {"week", "time", "604800"},
    // Calendar years and months have no fixed length: they only compare with each other.
    {"year", "calendar-month", "12"},
    {"month", "calendar-month", "1"},
    {"1", "unity", "1"},
    {"%", "unity", "0.01"},
    {"[pi]", "unity", "3.1415926535897932384626433832795028841971693993751"},
}};

}  // namespace

const UcumUnit* FindUcumUnit(std::string_view unit) {
  for (const UcumUnit& u : kUnits) {
    if (u.unit == unit) return &u;
  }
  return nullptr;
}

}  // namespace fhir::model
