#include "fhir/model/ids.h"

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <random>

namespace fhir::model {

bool LogicalId::IsValid(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  for (char c : text) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

common::Result<LogicalId> LogicalId::Parse(std::string_view text) {
  if (!IsValid(text)) {
    return common::InvalidError("Invalid resource id: ids are 1 to 64 characters of A-Z, a-z, "
                                "0-9, '-' and '.'");
  }
  return LogicalId(std::string(text));
}

LogicalId LogicalId::Generate() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // variant 10
  // 8-4-4-4-12 lower-case hex digits, written directly: ids are made for every notification
  // Bundle sent, where a printf per id showed in profiles.
  static constexpr char kHex[] = "0123456789abcdef";
  char buf[36];
  int at = 0;
  auto put = [&](std::uint64_t bits, int digits) {
    for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) buf[at++] = kHex[(bits >> shift) & 0xF];
  };
  put(hi >> 32, 8);
  buf[at++] = '-';
  put((hi >> 16) & 0xFFFF, 4);
  buf[at++] = '-';
  put(hi & 0xFFFF, 4);
  buf[at++] = '-';
  put(lo >> 48, 4);
  buf[at++] = '-';
  put(lo & 0xFFFFFFFFFFFFULL, 12);
  return LogicalId(std::string(buf, sizeof buf));
}

common::Result<VersionId> VersionId::Parse(std::string_view text) {
  int v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || v < 1) {
    return common::Status(common::StatusCode::kNotFound,
                          "Unknown version id: Fovea version ids are positive integers");
  }
  return VersionId(v);
}

int ParseETagVersion(std::string_view etag) {
  while (!etag.empty() && etag.front() == ' ') etag.remove_prefix(1);
  while (!etag.empty() && etag.back() == ' ') etag.remove_suffix(1);
  if (etag.substr(0, 2) == "W/") etag.remove_prefix(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  int v = 0;
  auto [ptr, ec] = std::from_chars(etag.data(), etag.data() + etag.size(), v);
  if (ec != std::errc() || ptr != etag.data() + etag.size() || v < 1) return 0;
  return v;
}

std::string_view WithoutHistory(std::string_view reference) {
  const std::size_t at = reference.find("/_history/");
  return at == std::string_view::npos ? reference : reference.substr(0, at);
}

}  // namespace fhir::model
