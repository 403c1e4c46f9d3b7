#include "common/clock.h"

#include <cstdio>
#include <ctime>
#include <cstring>

namespace common {
namespace {

bool Digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  return ParseFixedDigits(s, pos, n, out);
}

constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

}  // namespace

bool ParseFixedDigits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

std::int64_t EpochSeconds(int year, int month, int day, int hour, int minute, int second) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<std::int64_t>(timegm(&tm));
}

TimePoint SystemClock::Now() const {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

std::string FormatInstant(TimePoint t) {
  auto us = t.time_since_epoch().count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  int millis = static_cast<int>((us % 1000000) / 1000);
  if (us < 0 && us % 1000000 != 0) {
    secs -= 1;
    millis = static_cast<int>((1000000 + us % 1000000) / 1000);
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];  // room for any int year, so the compiler can see nothing is cut off
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::string FormatInstantMicros(TimePoint t) {
  auto us = t.time_since_epoch().count();
  std::int64_t frac = us % 1000000;
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  if (frac < 0) {
    frac += 1000000;
    secs -= 1;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(frac));
  return buf;
}

bool ParseInstant(std::string_view s, TimePoint& out) {
  int year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  long micros = 0;
  if (!Digits(s, 0, 4, year)) return false;
  std::size_t pos = 4;
  if (pos < s.size()) {
    if (s[pos] != '-' || !Digits(s, pos + 1, 2, month)) return false;
    pos += 3;
  }
  if (pos < s.size()) {
    if (s[pos] != '-' || !Digits(s, pos + 1, 2, day)) return false;
    pos += 3;
  }
  int offset_minutes = 0;
  if (pos < s.size()) {
    if (s[pos] != 'T' || !Digits(s, pos + 1, 2, hour) || s.size() < pos + 6 ||
        s[pos + 3] != ':' || !Digits(s, pos + 4, 2, minute))
      return false;
    pos += 6;
    if (pos < s.size() && s[pos] == ':') {
      if (!Digits(s, pos + 1, 2, second)) return false;
      pos += 3;
      if (pos < s.size() && s[pos] == '.') {
        ++pos;
        long scale = 100000;
        std::size_t start = pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
          micros += (s[pos] - '0') * scale;
          scale /= 10;
          ++pos;
        }
        if (pos == start) return false;
      }
    }
    if (pos >= s.size()) return false;  // a time needs a zone
    if (s[pos] == 'Z') {
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int oh = 0, om = 0;
      if (!Digits(s, pos + 1, 2, oh) || s.size() < pos + 6 || s[pos + 3] != ':' ||
          !Digits(s, pos + 4, 2, om))
        return false;
      offset_minutes = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
      pos += 6;
    } else {
      return false;
    }
  }
  if (pos != s.size() || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
      minute > 59 || second > 60)
    return false;
  std::int64_t secs = EpochSeconds(year, month, day, hour, minute, second);
  secs -= offset_minutes * 60;
  out = TimePoint(std::chrono::microseconds(static_cast<std::int64_t>(secs) * 1000000 + micros));
  return true;
}

std::string FormatHttpDate(TimePoint t) {
  std::time_t secs = static_cast<std::time_t>(t.time_since_epoch().count() / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

bool ParseHttpDate(std::string_view s, TimePoint& out) {
  // IMF-fixdate only: "Sun, 06 Nov 1994 08:49:37 GMT" (what every current client sends).
  if (s.size() != 29 || s.substr(25) != " GMT") return false;
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  if (!Digits(s, 5, 2, day) || !Digits(s, 12, 4, year) || !Digits(s, 17, 2, hour) ||
      !Digits(s, 20, 2, minute) || !Digits(s, 23, 2, second))
    return false;
  int month = -1;
  for (int i = 0; i < 12; ++i) {
    if (s.substr(8, 3) == kMonths[i]) month = i;
  }
  if (month < 0) return false;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  out = TimePoint(std::chrono::microseconds(static_cast<std::int64_t>(timegm(&tm)) * 1000000));
  return true;
}

}  // namespace common
