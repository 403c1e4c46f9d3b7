#include "fhir/fhirpath/temporal.h"

#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>

namespace fhir::fhirpath::detail {

namespace {

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 (proleptic Gregorian), after H. Hinnant's days_from_civil.
long long DaysFromCivil(long long y, int m, int d) {
  y -= m <= 2;
  long long era = (y >= 0 ? y : y - 399) / 400;
  long long yoe = y - era * 400;
  long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(long long z, int& y, int& m, int& d) {
  z += 719468;
  long long era = (z >= 0 ? z : z - 146096) / 146097;
  long long doe = z - era * 146097;
  long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  long long mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = static_cast<int>(yoe + era * 400 + (m <= 2));
}

long long ToEpochMillis(const Temporal& t) {
  long long days = DaysFromCivil(t.year, t.month, t.day);
  return ((days * 24 + t.hour) * 60 + t.minute) * 60000LL + t.second * 1000LL + t.millisecond;
}

void FromEpochMillis(long long ms, Temporal& t) {
  long long days = ms >= 0 ? ms / 86400000LL : -((-ms + 86399999LL) / 86400000LL);
  long long rest = ms - days * 86400000LL;
  CivilFromDays(days, t.year, t.month, t.day);
  t.hour = static_cast<int>(rest / 3600000LL);
  t.minute = static_cast<int>(rest / 60000LL % 60);
  t.second = static_cast<int>(rest / 1000LL % 60);
  t.millisecond = static_cast<int>(rest % 1000);
}

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  bool Digits(int n, int& out) {
    if (i_ + static_cast<std::size_t>(n) > s_.size()) return false;
    int v = 0;
    for (int k = 0; k < n; ++k) {
      char c = s_[i_ + static_cast<std::size_t>(k)];
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
      v = v * 10 + (c - '0');
    }
    i_ += static_cast<std::size_t>(n);
    out = v;
    return true;
  }
  bool Peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
  bool Take(char c) {
    if (!Peek(c)) return false;
    ++i_;
    return true;
  }
  bool AtEnd() const { return i_ == s_.size(); }
  std::size_t pos() const { return i_; }
  std::string_view rest() const { return s_.substr(i_); }
  void Skip(std::size_t n) { i_ += n; }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

// hh(:mm(:ss(.fff)))
bool ParseTime(Scanner& sc, Temporal& t) {
  if (!sc.Digits(2, t.hour) || t.hour > 23) return false;
  t.precision = kHour;
  if (!sc.Take(':')) return true;
  if (!sc.Digits(2, t.minute) || t.minute > 59) return false;
  t.precision = kMinute;
  if (!sc.Take(':')) return true;
  if (!sc.Digits(2, t.second) || t.second > 59) return false;
  t.precision = kSecond;
  if (!sc.Take('.')) return true;
  int digits = 0;
  int ms = 0;
  while (!sc.AtEnd() && std::isdigit(static_cast<unsigned char>(sc.rest()[0]))) {
    if (digits < 3) ms = ms * 10 + (sc.rest()[0] - '0');
    ++digits;
    sc.Skip(1);
  }
  if (digits == 0) return false;
  for (int k = digits; k < 3; ++k) ms *= 10;
  t.millisecond = ms;
  t.precision = kMillisecond;
  return true;
}

bool ParseZone(Scanner& sc, Temporal& t) {
  if (sc.Take('Z')) {
    t.has_zone = true;
    t.zone_z = true;
    return true;
  }
  if (sc.Peek('+') || sc.Peek('-')) {
    bool neg = sc.Peek('-');
    sc.Skip(1);
    int h = 0;
    int m = 0;
    if (!sc.Digits(2, h) || !sc.Take(':') || !sc.Digits(2, m) || h > 14 || m > 59) return false;
    t.has_zone = true;
    t.zone_minutes = (neg ? -1 : 1) * (h * 60 + m);
  }
  return true;
}

void Append2(std::string& out, int v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d", v);
  out += buf;
}

// Comparable fields at precision levels year..second (milliseconds folded into seconds).
std::array<long long, 6> Fields(const Temporal& t) {
  return {t.year, t.month, t.day, t.hour, t.minute, t.second * 1000LL + t.millisecond};
}

}  // namespace

std::optional<Temporal> Temporal::Parse(TemporalKind kind, std::string_view text) {
  Temporal t;
  t.kind = kind;
  Scanner sc(text);
  if (kind == TemporalKind::kTime) {
    if (!ParseTime(sc, t) || !sc.AtEnd()) return std::nullopt;
    return t;
  }
  if (!sc.Digits(4, t.year)) return std::nullopt;
  t.precision = kYear;
  if (sc.Take('-')) {
    if (!sc.Digits(2, t.month) || t.month < 1 || t.month > 12) return std::nullopt;
    t.precision = kMonth;
    if (sc.Take('-')) {
      if (!sc.Digits(2, t.day) || t.day < 1 || t.day > DaysInMonth(t.year, t.month)) {
        return std::nullopt;
      }
      t.precision = kDay;
    }
  }
  if (kind == TemporalKind::kDate) {
    if (!sc.AtEnd()) return std::nullopt;
    return t;
  }
  if (sc.Take('T') && !sc.AtEnd() && std::isdigit(static_cast<unsigned char>(sc.rest()[0]))) {
    if (!ParseTime(sc, t)) return std::nullopt;
  }
  if (!ParseZone(sc, t) || !sc.AtEnd()) return std::nullopt;
  return t;
}

std::string Temporal::ToString() const {
  std::string out;
  auto time = [&]() {
    Append2(out, hour);
    if (precision >= kMinute) {
      out += ':';
      Append2(out, minute);
    }
    if (precision >= kSecond) {
      out += ':';
      Append2(out, second);
    }
    if (precision >= kMillisecond) {
      char buf[8];
      std::snprintf(buf, sizeof buf, ".%03d", millisecond);
      out += buf;
    }
  };
  if (kind == TemporalKind::kTime) {
    time();
    return out;
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d", year);
  out += buf;
  if (precision >= kMonth) {
    out += '-';
    Append2(out, month);
  }
  if (precision >= kDay) {
    out += '-';
    Append2(out, day);
  }
  if (kind == TemporalKind::kDateTime && precision >= kHour) {
    out += 'T';
    time();
    if (has_zone) {
      if (zone_z) {
        out += 'Z';
      } else {
        int z = zone_minutes < 0 ? -zone_minutes : zone_minutes;
        out += zone_minutes < 0 ? '-' : '+';
        Append2(out, z / 60);
        out += ':';
        Append2(out, z % 60);
      }
    }
  }
  return out;
}

int Temporal::DigitCount() const {
  if (kind == TemporalKind::kTime) {
    static constexpr int kTimeDigits[] = {0, 0, 0, 2, 4, 6, 9};
    return kTimeDigits[precision];
  }
  static constexpr int kDigits[] = {4, 6, 8, 10, 12, 14, 17};
  return kDigits[precision];
}

std::optional<int> CompareTemporal(const Temporal& a_in, const Temporal& b_in) {
  if ((a_in.kind == TemporalKind::kTime) != (b_in.kind == TemporalKind::kTime)) return std::nullopt;
  Temporal a = a_in;
  Temporal b = b_in;
  // With a time part, both are normalised to UTC.
  if (a.precision >= kHour && b.precision >= kHour && a.kind != TemporalKind::kTime &&
      (a.has_zone || b.has_zone)) {
    // A zoned and an unzoned instant: the evaluation has no local zone to assume.
    if (a.has_zone != b.has_zone) return std::nullopt;
    FromEpochMillis(ToEpochMillis(a) - a.zone_minutes * 60000LL, a);
    FromEpochMillis(ToEpochMillis(b) - b.zone_minutes * 60000LL, b);
  }
  auto fa = Fields(a);
  auto fb = Fields(b);
  int pa = std::min(a.precision, static_cast<int>(kSecond));
  int pb = std::min(b.precision, static_cast<int>(kSecond));
  int start = a.kind == TemporalKind::kTime ? kHour : kYear;
  int common = std::min(pa, pb);
  for (int i = start; i <= common; ++i) {
    if (fa[static_cast<std::size_t>(i)] != fb[static_cast<std::size_t>(i)]) {
      return fa[static_cast<std::size_t>(i)] < fb[static_cast<std::size_t>(i)] ? -1 : 1;
    }
  }
  if (pa != pb) return std::nullopt;
  return 0;
}

std::optional<Temporal> AddDuration(const Temporal& t, const Decimal& amount, std::string_view unit) {
  std::string u(unit);
  if (u.size() > 1 && u.back() == 's' && u != "ms" && u != "s") u.pop_back();
  auto whole = amount.TruncatedInteger();
  if (!whole) return std::nullopt;
  long long n = *whole;
  Temporal r = t;
  auto add_months = [&](long long months) {
    long long total = r.year * 12LL + (r.month - 1) + months;
    r.year = static_cast<int>(total >= 0 ? total / 12 : (total - 11) / 12);
    r.month = static_cast<int>(total - r.year * 12LL) + 1;
    r.day = std::min(r.day, DaysInMonth(r.year, r.month));
  };
  long long ms_per = 0;
  // UCUM 'a' and 'mo' are definite durations (365.25 and 30.4375 days): adding them to a
  // calendar value is an error in FHIRPath (hl7.org/fhirpath/N1/#date-time-arithmetic).
  if (u == "a" || u == "mo") return std::nullopt;
  if (u == "year") {
    if (t.kind == TemporalKind::kTime) return std::nullopt;
    add_months(n * 12);
    return r;
  }
  if (u == "month") {
    if (t.kind == TemporalKind::kTime) return std::nullopt;
    if (t.precision < kMonth) {
      add_months(n / 12 * 12);
    } else {
      add_months(n);
    }
    return r;
  }
  if (u == "week" || u == "wk") {
    ms_per = 7 * 86400000LL;
  } else if (u == "day" || u == "d") {
    ms_per = 86400000LL;
  } else if (u == "hour" || u == "h") {
    ms_per = 3600000LL;
  } else if (u == "minute" || u == "min") {
    ms_per = 60000LL;
  } else if (u == "second" || u == "s") {
    ms_per = 1000LL;
  } else if (u == "millisecond" || u == "ms") {
    ms_per = 1;
  } else {
    return std::nullopt;
  }
  if (t.kind == TemporalKind::kTime && ms_per >= 86400000LL) return std::nullopt;
  long long delta = n * ms_per;
  // Below the value's precision the duration is converted to whole units of that precision.
  if (t.kind != TemporalKind::kTime && t.precision < kDay) {
    long long days = delta / 86400000LL;
    if (t.precision == kMonth) {
      add_months(days / 30);
    } else {
      add_months(days / 365 * 12);
    }
    return r;
  }
  static constexpr long long kUnitMs[] = {0, 0, 86400000LL, 3600000LL, 60000LL, 1000LL, 1};
  long long granule = kUnitMs[std::min(t.precision, static_cast<int>(kMillisecond))];
  delta = delta / granule * granule;
  if (t.kind == TemporalKind::kTime) {
    long long day_ms = ((t.hour * 60LL + t.minute) * 60 + t.second) * 1000 + t.millisecond;
    day_ms = ((day_ms + delta) % 86400000LL + 86400000LL) % 86400000LL;
    r.hour = static_cast<int>(day_ms / 3600000LL);
    r.minute = static_cast<int>(day_ms / 60000LL % 60);
    r.second = static_cast<int>(day_ms / 1000 % 60);
    r.millisecond = static_cast<int>(day_ms % 1000);
    return r;
  }
  FromEpochMillis(ToEpochMillis(t) + delta, r);
  return r;
}

std::optional<Temporal> Boundary(const Temporal& t, int digits, bool high) {
  Temporal r = t;
  int target = -1;
  if (t.kind == TemporalKind::kTime) {
    switch (digits) {
      case 2: target = kHour; break;
      case 4: target = kMinute; break;
      case 6: target = kSecond; break;
      case 9: target = kMillisecond; break;
      default: return std::nullopt;
    }
  } else {
    switch (digits) {
      case 4: target = kYear; break;
      case 6: target = kMonth; break;
      case 8: target = kDay; break;
      case 10: target = kHour; break;
      case 12: target = kMinute; break;
      case 14: target = kSecond; break;
      case 17: target = kMillisecond; break;
      default: return std::nullopt;
    }
    if (t.kind == TemporalKind::kDate && target > kDay) return std::nullopt;
  }
  // FHIR has no hour-only time: "T08" stands for "T08:00".
  if (r.precision == kHour) r.precision = kMinute;
  if (target > r.precision) {
    if (r.precision < kMonth) r.month = high ? 12 : 1;
    if (r.precision < kDay) r.day = high ? DaysInMonth(r.year, r.month) : 1;
    if (r.precision < kHour) r.hour = high ? 23 : 0;
    if (r.precision < kMinute) r.minute = high ? 59 : 0;
    if (r.precision < kSecond) r.second = high ? 59 : 0;
    if (r.precision < kMillisecond) r.millisecond = high ? 999 : 0;
    if (r.kind == TemporalKind::kDateTime && target >= kHour && !r.has_zone) {
      // Unknown zone: the earliest instant is at +14:00, the latest at -12:00.
      r.has_zone = true;
      r.zone_minutes = high ? -12 * 60 : 14 * 60;
    }
  }
  r.precision = target;
  return r;
}

Temporal Now() {
  auto now = std::chrono::system_clock::now();
  long long ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  Temporal t;
  t.kind = TemporalKind::kDateTime;
  FromEpochMillis(ms, t);
  t.precision = kMillisecond;
  t.has_zone = true;
  t.zone_z = true;
  return t;
}

}  // namespace fhir::fhirpath::detail
