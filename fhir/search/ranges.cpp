#include "fhir/search/ranges.h"

#include "fhir/model/ucum.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace fhir::search {
namespace {

bool Digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  return common::ParseFixedDigits(s, pos, n, out);
}

std::int64_t Epoch(int year, int month, int day, int hour, int minute, int second) {
  return common::EpochSeconds(year, month, day, hour, minute, second);
}

common::TimePoint FromMicros(std::int64_t us) {
  return common::TimePoint(std::chrono::microseconds(us));
}

std::string Format(long double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.18Lg", v);
  return buf;
}

}  // namespace

bool DateRange(std::string_view s, common::TimePoint& low, common::TimePoint& high) {
  int year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  if (!Digits(s, 0, 4, year)) return false;
  std::size_t pos = 4;
  enum { kYear, kMonth, kDay, kMinute, kSecond, kFraction } precision = kYear;
  if (pos < s.size() && s[pos] == '-') {
    if (!Digits(s, pos + 1, 2, month) || month < 1 || month > 12) return false;
    pos += 3;
    precision = kMonth;
    if (pos < s.size() && s[pos] == '-') {
      if (!Digits(s, pos + 1, 2, day) || day < 1 || day > 31) return false;
      pos += 3;
      precision = kDay;
    }
  }
  long fraction_us = 0, fraction_unit = 0;
  int offset_minutes = 0;
  if (pos < s.size() && s[pos] == 'T') {
    if (precision != kDay || !Digits(s, pos + 1, 2, hour) || pos + 3 >= s.size() ||
        s[pos + 3] != ':' || !Digits(s, pos + 4, 2, minute) || hour > 23 || minute > 59)
      return false;
    pos += 6;
    precision = kMinute;
    if (pos < s.size() && s[pos] == ':') {
      if (!Digits(s, pos + 1, 2, second) || second > 60) return false;
      pos += 3;
      precision = kSecond;
      if (pos < s.size() && s[pos] == '.') {
        ++pos;
        long scale = 100000;
        fraction_unit = 1000000;
        std::size_t start = pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
          if (scale > 0) fraction_us += (s[pos] - '0') * scale;
          scale /= 10;
          if (fraction_unit > 1) fraction_unit /= 10;
          ++pos;
        }
        if (pos == start) return false;
        precision = kFraction;
      }
    }
    if (pos < s.size()) {
      if (s[pos] == 'Z') {
        ++pos;
      } else if (s[pos] == '+' || s[pos] == '-') {
        int oh = 0, om = 0;
        if (!Digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
            !Digits(s, pos + 4, 2, om))
          return false;
        offset_minutes = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
        pos += 6;
      }
    }
  }
  if (pos != s.size()) return false;
  std::int64_t start = Epoch(year, month, day, hour, minute, second) - offset_minutes * 60;
  std::int64_t start_us = start * 1000000 + fraction_us;
  std::int64_t end_us = 0;
  switch (precision) {
    case kYear: end_us = (Epoch(year + 1, 1, 1, 0, 0, 0)) * 1000000; break;
    case kMonth:
      end_us = (month == 12 ? Epoch(year + 1, 1, 1, 0, 0, 0) : Epoch(year, month + 1, 1, 0, 0, 0)) *
               1000000;
      break;
    case kDay: end_us = (start + 86400) * 1000000; break;
    case kMinute: end_us = (start + 60) * 1000000; break;
    case kSecond: end_us = (start + 1) * 1000000; break;
    case kFraction: end_us = start_us + fraction_unit; break;
  }
  low = FromMicros(start_us);
  high = FromMicros(end_us - 1);
  return true;
}

bool DecimalRange(std::string_view s, std::string& low, std::string& high) {
  std::size_t pos = 0;
  if (pos < s.size() && (s[pos] == '-' || s[pos] == '+')) ++pos;
  std::size_t digits_start = pos;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
  int decimals = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      ++pos;
      ++decimals;
    }
    if (decimals == 0) return false;  // "1." is not a number
  }
  if (pos == digits_start) return false;
  int exponent = 0;
  if (pos < s.size() && (s[pos] == 'e' || s[pos] == 'E')) {
    char* end = nullptr;
    std::string exp(s.substr(pos + 1));
    exponent = static_cast<int>(std::strtol(exp.c_str(), &end, 10));
    if (exp.empty() || *end != '\0') return false;
    pos = s.size();
  }
  if (pos != s.size()) return false;
  std::string text(s);
  long double value = std::strtold(text.c_str(), nullptr);
  long double half = 0.5L * std::pow(10.0L, static_cast<long double>(exponent - decimals));
  // Beyond what PostgreSQL's numeric (and any real measurement) holds: not indexable.
  if (!std::isfinite(value) || !std::isfinite(half) || std::fabs(value) > 1e100L) return false;
  low = Format(value - half);
  high = Format(value + half);
  return true;
}

bool UcumFactor(std::string_view system, std::string_view code, std::string& dimension,
                long double& factor) {
  if (system != "http://unitsofmeasure.org" && !system.empty()) return false;
  const model::UcumUnit* unit = model::FindUcumUnit(code);
  // Calendar durations are FHIRPath keywords, not UCUM codes.
  if (unit == nullptr || unit->dimension == "calendar-month" || unit->unit == "second" ||
      unit->unit == "millisecond" || unit->unit == "minute" || unit->unit == "hour" ||
      unit->unit == "day" || unit->unit == "week") {
    return false;
  }
  dimension = std::string(unit->dimension);
  factor = std::strtold(std::string(unit->factor).c_str(), nullptr);
  return true;
}

std::string ScaledDecimal(std::string_view value, long double factor) {
  return Format(std::strtold(std::string(value).c_str(), nullptr) * factor);
}

}  // namespace fhir::search
