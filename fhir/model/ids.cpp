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
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(hi >> 32), static_cast<unsigned>((hi >> 16) & 0xFFFF),
                static_cast<unsigned>(hi & 0xFFFF), static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return LogicalId(buf);
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

}  // namespace fhir::model
