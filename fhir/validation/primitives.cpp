#include "fhir/validation/primitives.h"

#include <cerrno>
#include <cstdlib>

#include "common/clock.h"
#include "fhir/model/ids.h"

namespace fhir::validation {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool Digits(std::string_view s, std::size_t pos, std::size_t n, int* out = nullptr) {
  int v = 0;
  if (!common::ParseFixedDigits(s, pos, n, v)) return false;
  if (out != nullptr) *out = v;
  return true;
}

int DaysInMonth(int year, int month) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// YYYY, YYYY-MM or YYYY-MM-DD; advances pos. `full` demands all three parts.
bool DatePart(std::string_view s, std::size_t& pos, bool full, int& parts) {
  int year = 0, month = 0, day = 0;
  if (!Digits(s, pos, 4, &year)) return false;
  pos += 4;
  parts = 1;
  if (pos < s.size() && s[pos] == '-') {
    if (!Digits(s, pos + 1, 2, &month) || month < 1 || month > 12) return false;
    pos += 3;
    parts = 2;
    if (pos < s.size() && s[pos] == '-') {
      if (!Digits(s, pos + 1, 2, &day) || day < 1 || day > DaysInMonth(year, month)) return false;
      pos += 3;
      parts = 3;
    }
  }
  return !full || parts == 3;
}

// hh:mm:ss(.fraction)?; advances pos.
bool TimePart(std::string_view s, std::size_t& pos) {
  int h = 0, m = 0, sec = 0;
  if (!Digits(s, pos, 2, &h) || h > 23 || pos + 2 >= s.size() || s[pos + 2] != ':' ||
      !Digits(s, pos + 3, 2, &m) || m > 59 || pos + 5 >= s.size() || s[pos + 5] != ':' ||
      !Digits(s, pos + 6, 2, &sec) || sec > 60)
    return false;
  pos += 8;
  if (pos < s.size() && s[pos] == '.') {
    std::size_t start = ++pos;
    while (pos < s.size() && IsDigit(s[pos])) ++pos;
    if (pos == start) return false;
  }
  return true;
}

bool ZonePart(std::string_view s, std::size_t& pos) {
  if (pos < s.size() && s[pos] == 'Z') {
    ++pos;
    return true;
  }
  int h = 0, m = 0;
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-') && Digits(s, pos + 1, 2, &h) &&
      pos + 3 < s.size() && s[pos + 3] == ':' && Digits(s, pos + 4, 2, &m) && h <= 14 && m <= 59) {
    pos += 6;
    return true;
  }
  return false;
}

bool IsDate(std::string_view s) {
  std::size_t pos = 0;
  int parts = 0;
  return DatePart(s, pos, false, parts) && pos == s.size();
}

bool IsDateTime(std::string_view s) {
  std::size_t pos = 0;
  int parts = 0;
  if (!DatePart(s, pos, false, parts)) return false;
  if (pos == s.size()) return true;
  if (parts != 3 || s[pos] != 'T') return false;
  ++pos;
  return TimePart(s, pos) && ZonePart(s, pos) && pos == s.size();
}

bool IsInstant(std::string_view s) {
  std::size_t pos = 0;
  int parts = 0;
  if (!DatePart(s, pos, true, parts) || pos >= s.size() || s[pos] != 'T') return false;
  ++pos;
  return TimePart(s, pos) && ZonePart(s, pos) && pos == s.size();
}

bool IsTime(std::string_view s) {
  std::size_t pos = 0;
  return TimePart(s, pos) && pos == s.size();
}

bool IsIntegerText(std::string_view s, bool allow_negative, bool allow_zero, long long max) {
  std::size_t pos = 0;
  if (allow_negative && !s.empty() && s[0] == '-') pos = 1;
  if (pos >= s.size()) return false;
  if (s[pos] == '0') {
    if (s.size() != pos + 1 || pos == 1) return false;  // no leading zeros, no -0
    return allow_zero;
  }
  for (std::size_t i = pos; i < s.size(); ++i) {
    if (!IsDigit(s[i])) return false;
  }
  if (s.size() - pos > 10) return false;
  long long v = std::strtoll(std::string(s).c_str(), nullptr, 10);
  return v <= max && v >= -max - 1;
}

bool IsCode(std::string_view s) {
  if (s.empty() || IsSpace(s.front()) || IsSpace(s.back())) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\t' || s[i] == '\r' || s[i] == '\n') return false;
    if (s[i] == ' ' && i + 1 < s.size() && s[i + 1] == ' ') return false;
  }
  return true;
}

bool IsUri(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (IsSpace(c)) return false;
  }
  return true;
}

bool IsBase64(std::string_view s) {
  std::size_t n = 0, pad = 0;
  for (char c : s) {
    if (IsSpace(c)) continue;
    bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || IsDigit(c);
    if (c == '=') {
      ++pad;
    } else if (alnum || c == '+' || c == '/') {
      if (pad > 0) return false;
    } else {
      return false;
    }
    ++n;
  }
  return n % 4 == 0 && pad <= 2;
}

bool IsOid(std::string_view s) {
  if (s.substr(0, 8) != "urn:oid:") return false;
  s.remove_prefix(8);
  if (s.size() < 3 || s[0] < '0' || s[0] > '2' || s[1] != '.') return false;
  std::size_t pos = 1;
  while (pos < s.size()) {
    if (s[pos] != '.') return false;
    std::size_t start = ++pos;
    while (pos < s.size() && IsDigit(s[pos])) ++pos;
    if (pos == start || (s[start] == '0' && pos - start > 1)) return false;
  }
  return true;
}

bool IsUuid(std::string_view s) {
  if (s.substr(0, 9) != "urn:uuid:" || s.size() != 45) return false;
  s.remove_prefix(9);
  for (std::size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    char c = s[i];
    if (dash ? c != '-' : !(IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
      return false;
  }
  return true;
}

bool Explain(std::string* why, const char* message) {
  if (why != nullptr) *why = message;
  return false;
}

}  // namespace

bool IsValidPrimitive(std::string_view type, std::string_view v, std::string* why) {
  if (type == "string" || type == "markdown") {
    if (v.empty()) return Explain(why, "strings must not be empty (omit the element instead)");
    if (v.size() > 1024 * 1024) return Explain(why, "strings are limited to 1 MB");
    return true;
  }
  if (type == "code") {
    return IsCode(v) ||
           Explain(why, "codes have no leading, trailing or repeated whitespace and are not empty");
  }
  if (type == "id") {
    return model::LogicalId::IsValid(v) ||
           Explain(why, "ids are 1 to 64 characters of A-Z, a-z, 0-9, '-' and '.'");
  }
  if (type == "uri" || type == "url" || type == "canonical") {
    return IsUri(v) || Explain(why, "URIs are not empty and contain no whitespace");
  }
  if (type == "oid") return IsOid(v) || Explain(why, "expected urn:oid:followed by an OID");
  if (type == "uuid") return IsUuid(v) || Explain(why, "expected urn:uuid: followed by a UUID");
  if (type == "boolean") return v == "true" || v == "false" || Explain(why, "expected true or false");
  if (type == "integer") {
    return IsIntegerText(v, true, true, 2147483647LL) ||
           Explain(why, "expected a whole number between -2147483648 and 2147483647");
  }
  if (type == "unsignedInt") {
    return IsIntegerText(v, false, true, 2147483647LL) ||
           Explain(why, "expected a whole number between 0 and 2147483647");
  }
  if (type == "positiveInt") {
    return IsIntegerText(v, false, false, 2147483647LL) ||
           Explain(why, "expected a whole number between 1 and 2147483647");
  }
  if (type == "decimal") return true;  // the JSON number grammar already holds
  if (type == "date") return IsDate(v) || Explain(why, "expected a date: YYYY, YYYY-MM or YYYY-MM-DD");
  if (type == "dateTime") {
    return IsDateTime(v) || Explain(why, "expected a dateTime: YYYY, YYYY-MM, YYYY-MM-DD or "
                                         "YYYY-MM-DDThh:mm:ss(.sss) with a time zone (Z or +hh:mm)");
  }
  if (type == "instant") {
    return IsInstant(v) ||
           Explain(why, "expected an instant: YYYY-MM-DDThh:mm:ss(.sss) with a time zone");
  }
  if (type == "time") return IsTime(v) || Explain(why, "expected a time: hh:mm:ss(.sss)");
  if (type == "base64Binary") return IsBase64(v) || Explain(why, "expected base64 content");
  if (type == "xhtml") {
    std::size_t i = 0;
    while (i < v.size() && IsSpace(v[i])) ++i;
    return v.substr(i, 4) == "<div" ||
           Explain(why, "narrative must be an XHTML <div> element");
  }
  return true;
}

}  // namespace fhir::validation
