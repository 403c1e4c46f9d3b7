#ifndef FOVEA_COMMON_CLOCK_H_
#define FOVEA_COMMON_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace common {

using TimePoint = std::chrono::time_point<std::chrono::system_clock, std::chrono::microseconds>;

// The source of "now" for meta.lastUpdated and timers, so tests can control time.
// Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override;
};

// A clock that only moves when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start) : now_(start.time_since_epoch().count()) {}
  TimePoint Now() const override { return TimePoint(std::chrono::microseconds(now_.load())); }
  void Advance(std::chrono::microseconds d) { now_ += d.count(); }

 private:
  std::atomic<std::int64_t> now_;
};

// Reads exactly `n` decimal digits of `s` at `pos` into `out`; false when they are not there.
// (The fixed-width fields of FHIR dates and times.)
bool ParseFixedDigits(std::string_view s, std::size_t pos, std::size_t n, int& out);

// Seconds since the epoch of a UTC civil time (fields as written: month 1-12).
std::int64_t EpochSeconds(int year, int month, int day, int hour, int minute, int second);

// FHIR instant in UTC with millisecond precision: 2026-11-28T05:01:02.345Z.
std::string FormatInstant(TimePoint t);
// The same with microsecond precision (for database timestamps): 2026-11-28T05:01:02.345678Z.
std::string FormatInstantMicros(TimePoint t);
// Parses an xs:dateTime-shaped FHIR instant/dateTime (date, or date+time with offset) into UTC.
// Partial dates are taken as their earliest moment. Returns false when the text is malformed.
bool ParseInstant(std::string_view text, TimePoint& out);
// RFC 7231 IMF-fixdate for Last-Modified: "Sat, 28 Nov 2026 05:01:02 GMT".
std::string FormatHttpDate(TimePoint t);
bool ParseHttpDate(std::string_view text, TimePoint& out);

}  // namespace common

#endif  // FOVEA_COMMON_CLOCK_H_
