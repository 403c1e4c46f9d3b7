#include "fhir/audit/pg/audit_block.h"

#include <algorithm>
#include <charconv>
#include <chrono>

#include "fhir/audit/pg/key_bloom.h"

namespace fhir::audit::pg {

using common::Result;
using common::Status;
using common::StatusCode;

namespace {

constexpr std::size_t kFields = 11;

// Runs of ordinary characters are appended whole: this runs for every event of every batch.
void AppendEscaped(std::string& out, std::string_view value) {
  std::size_t run = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char* escape = nullptr;
    switch (value[i]) {
      case '\\': escape = "\\\\"; break;
      case '\t': escape = "\\t"; break;
      case '\n': escape = "\\n"; break;
      case '\r': escape = "\\r"; break;
      case '\0': escape = "\\0"; break;
      default: continue;
    }
    out.append(value, run, i - run);
    out += escape;
    run = i + 1;
  }
  out.append(value, run, value.size() - run);
}

bool Unescape(std::string_view field, std::string& out) {
  out.clear();
  out.reserve(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    char c = field[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i == field.size()) return false;
    switch (field[i]) {
      case '\\': out += '\\'; break;
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case '0': out += '\0'; break;
      default: return false;
    }
  }
  return true;
}

template <typename T>
bool ParseInteger(std::string_view text, T& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

Status Malformed() { return Status(StatusCode::kInternal, "a stored audit block is malformed"); }

}  // namespace

std::string EncodeAuditBlock(const std::vector<AuditRow>& rows) {
  std::string out;
  std::size_t size = 0;
  for (const AuditRow& row : rows) size += row.content.size() + 160;
  out.reserve(size);
  for (const AuditRow& row : rows) {
    out += std::to_string(
        std::chrono::duration_cast<std::chrono::microseconds>(row.recorded.time_since_epoch())
            .count());
    const std::string outcome = std::to_string(row.outcome);
    for (std::string_view field :
         {std::string_view(row.subtype), std::string_view(&row.action, 1),
          std::string_view(outcome), std::string_view(row.agent),
          std::string_view(row.client_id), std::string_view(row.patient),
          std::string_view(row.entity), std::string_view(row.address),
          std::string_view(row.request_id), std::string_view(row.content)}) {
      out += '\t';
      AppendEscaped(out, field);
    }
    out += '\n';
  }
  return out;
}

Result<std::vector<AuditRow>> DecodeAuditBlock(std::string_view text, std::int64_t block) {
  std::vector<AuditRow> rows;
  std::size_t line_start = 0;
  while (line_start < text.size()) {
    std::size_t line_end = text.find('\n', line_start);
    if (line_end == std::string_view::npos) return Malformed();
    const std::string_view line = text.substr(line_start, line_end - line_start);
    line_start = line_end + 1;

    // Escaping leaves no tab inside a field: exactly kFields - 1 tabs.
    std::string_view fields[kFields];
    std::size_t n = 0, from = 0;
    while (true) {
      const std::size_t tab = line.find('\t', from);
      if (n == kFields) return Malformed();
      if (tab == std::string_view::npos) {
        fields[n++] = line.substr(from);
        break;
      }
      fields[n++] = line.substr(from, tab - from);
      from = tab + 1;
    }
    if (n != kFields) return Malformed();

    AuditRow row;
    std::int64_t micros = 0;
    if (!ParseInteger(fields[0], micros) || !ParseInteger(fields[3], row.outcome)) {
      return Malformed();
    }
    row.recorded = common::TimePoint(std::chrono::microseconds(micros));
    std::string action;
    if (!Unescape(fields[1], row.subtype) || !Unescape(fields[2], action) || action.size() != 1 ||
        !Unescape(fields[4], row.agent) || !Unescape(fields[5], row.client_id) ||
        !Unescape(fields[6], row.patient) || !Unescape(fields[7], row.entity) ||
        !Unescape(fields[8], row.address) || !Unescape(fields[9], row.request_id) ||
        !Unescape(fields[10], row.content)) {
      return Malformed();
    }
    row.action = action.front();
    if (static_cast<std::int64_t>(rows.size()) == kMaxBlockEvents) return Malformed();
    row.seq = BlockSeq(block, static_cast<std::int64_t>(rows.size()));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<std::string> AuditBlockKeys(const std::vector<AuditRow>& rows) {
  std::vector<std::string> keys;
  for (const AuditRow& row : rows) {
    if (!row.patient.empty()) keys.push_back(PatientKey(row.patient));
    if (!row.agent.empty()) keys.push_back(AgentKey(row.agent));
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

std::string AuditBlockEntityBloom(const std::vector<AuditRow>& rows) {
  std::vector<std::string_view> entities;
  entities.reserve(rows.size());
  for (const AuditRow& row : rows) {
    if (!row.entity.empty()) entities.push_back(row.entity);
  }
  return MakeBloom(std::move(entities));
}

}  // namespace fhir::audit::pg
