#include "fhir/audit/audit_lines.h"

#include <charconv>
#include <chrono>
#include <utility>

#include "fhir/audit/detail/resources.h"
#include "fhir/model/ids.h"

namespace fhir::audit {

using common::Result;
using common::Status;
using common::StatusCode;

namespace {

constexpr std::size_t kFields = 11;
// Field numbers in a line.
constexpr std::size_t kRecorded = 0, kSubtype = 1, kAction = 2, kOutcome = 3, kAgent = 4,
                      kClient = 5, kPatient = 6, kEntity = 7, kAddress = 8, kRequestId = 9,
                      kContent = 10;

// Runs of ordinary characters are appended whole: this runs for every event.
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

// Whether Unescape would take `field`, without making its value.
bool ValidEscapes(std::string_view field) {
  for (std::size_t at = field.find('\\'); at != std::string_view::npos;
       at = field.find('\\', at + 2)) {
    if (at + 1 == field.size()) return false;
    switch (field[at + 1]) {
      case '\\': case 't': case 'n': case 'r': case '0': break;
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

Status Malformed() { return Status(StatusCode::kInvalid, "audit lines are malformed"); }

std::int64_t Micros(common::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

void AppendMicros(std::string& out, common::TimePoint t) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, Micros(t));
  out.append(buf, end);
}

void AppendField(std::string& out, std::string_view value) {
  out += '\t';
  AppendEscaped(out, value);
}

// Splits the lines of `text`, each into its kFields fields (escaped); false when a line is
// not a line of kFields fields. `visit(fields, end)` for each, in order.
template <typename Visit>
bool ForEachLine(std::string_view text, Visit visit) {
  std::size_t line_start = 0;
  while (line_start < text.size()) {
    const std::size_t line_end = text.find('\n', line_start);
    if (line_end == std::string_view::npos) return false;
    const std::string_view line = text.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    // Escaping leaves no tab inside a field: exactly kFields - 1 tabs.
    std::string_view fields[kFields];
    std::size_t n = 0, from = 0;
    while (true) {
      const std::size_t tab = line.find('\t', from);
      if (n == kFields) return false;
      if (tab == std::string_view::npos) {
        fields[n++] = line.substr(from);
        break;
      }
      fields[n++] = line.substr(from, tab - from);
      from = tab + 1;
    }
    if (n != kFields || !visit(fields, line_start)) return false;
  }
  return true;
}

// One line's fields, in the order of the line: what both AppendAuditLine overloads write.
struct LineFields {
  common::TimePoint recorded;
  std::string_view subtype;
  char action;
  int outcome;
  std::string_view agent, client_id, patient, entity, address, request_id, content;
};

void AppendLine(std::string& out, const LineFields& f) {
  AppendMicros(out, f.recorded);
  AppendField(out, f.subtype);
  AppendField(out, std::string_view(&f.action, 1));
  out += '\t';
  out += std::to_string(f.outcome);
  for (std::string_view field :
       {f.agent, f.client_id, f.patient, f.entity, f.address, f.request_id, f.content}) {
    AppendField(out, field);
  }
  out += '\n';
}

}  // namespace

void AppendAuditLine(std::string& out, const AuditRow& row) {
  AppendLine(out, {row.recorded, row.subtype, row.action, row.outcome, row.agent, row.client_id,
                   row.patient, row.entity, row.address, row.request_id, row.content});
}

void AppendAuditLine(std::string& out, const AuditRecord& record) {
  // Built apart and escaped after: one buffer per thread, reused, so that nothing here
  // allocates once a thread has recorded a few events.
  thread_local std::string content;
  content.clear();
  detail::AppendRecordDetailsJson(content, record);
  AppendLine(out,
             {record.recorded, SubtypeCode(record.interaction),
              ActionCode(record.action.value_or(DefaultAction(record.interaction))),
              static_cast<int>(detail::RecordOutcome(record)), record.agent_reference,
              record.client_id,
              record.patients.empty() ? std::string_view() : std::string_view(record.patients.front()),
              record.entities.empty() ? std::string_view()
                                      : model::WithoutHistory(record.entities.front()),
              record.source_address, record.request_id, content});
}

Result<std::vector<AuditRow>> ParseAuditLines(std::string_view text) {
  std::vector<AuditRow> rows;
  std::string action;
  const bool ok = ForEachLine(text, [&](const std::string_view* fields, std::size_t) {
    AuditRow row;
    std::int64_t micros = 0;
    if (!ParseInteger(fields[kRecorded], micros) || !ParseInteger(fields[kOutcome], row.outcome)) {
      return false;
    }
    row.recorded = common::TimePoint(std::chrono::microseconds(micros));
    if (!Unescape(fields[kSubtype], row.subtype) || !Unescape(fields[kAction], action) ||
        action.size() != 1 || !Unescape(fields[kAgent], row.agent) ||
        !Unescape(fields[kClient], row.client_id) || !Unescape(fields[kPatient], row.patient) ||
        !Unescape(fields[kEntity], row.entity) || !Unescape(fields[kAddress], row.address) ||
        !Unescape(fields[kRequestId], row.request_id) || !Unescape(fields[kContent], row.content)) {
      return false;
    }
    row.action = action.front();
    rows.push_back(std::move(row));
    return true;
  });
  if (!ok) return Malformed();
  return rows;
}

Result<AuditLinesIndex> IndexAuditLines(std::string_view text) {
  AuditLinesIndex index;
  // A field without a backslash is its own value; only the rare others are copied.
  auto value = [&index](std::string_view field, std::string_view& out) {
    if (field.find('\\') == std::string_view::npos) {
      out = field;
      return true;
    }
    std::string& copy = index.unescaped.emplace_back();
    if (!Unescape(field, copy)) return false;
    out = copy;
    return true;
  };
  const bool ok = ForEachLine(text, [&](const std::string_view* fields, std::size_t end) {
    AuditLineKeys keys;
    keys.end = end;
    int outcome = 0;
    // Everything ParseAuditLines checks, so that a stored line always reads back.
    const std::string_view action = fields[kAction];
    const bool one_action = action.size() == 1 ? action[0] != '\\'
                                               : action.size() == 2 && action[0] == '\\';
    if (!ParseInteger(fields[kRecorded], keys.recorded_micros) ||
        !ParseInteger(fields[kOutcome], outcome) || fields[kSubtype].empty() ||
        fields[kContent].empty() || !one_action || !value(fields[kAgent], keys.agent) ||
        !value(fields[kPatient], keys.patient) || !value(fields[kEntity], keys.entity)) {
      return false;
    }
    for (std::size_t f : {kSubtype, kAction, kClient, kAddress, kRequestId, kContent}) {
      if (!ValidEscapes(fields[f])) return false;
    }
    index.lines.push_back(keys);
    return true;
  });
  if (!ok) return Malformed();
  return index;
}

}  // namespace fhir::audit
