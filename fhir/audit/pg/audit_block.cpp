#include "fhir/audit/pg/audit_block.h"

#include <algorithm>
#include <utility>

#include "fhir/audit/pg/key_bloom.h"

namespace fhir::audit::pg {

using common::Result;
using common::Status;
using common::StatusCode;

namespace {

Status Malformed() { return Status(StatusCode::kInternal, "a stored audit block is malformed"); }

}  // namespace

std::string EncodeAuditBlock(const std::vector<AuditRow>& rows) {
  std::string out;
  std::size_t size = 0;
  for (const AuditRow& row : rows) size += row.content.size() + 160;
  out.reserve(size);
  for (const AuditRow& row : rows) AppendAuditLine(out, row);
  return out;
}

Result<std::vector<AuditRow>> DecodeAuditBlock(std::string_view text, std::int64_t block) {
  return DecodeAuditBlockWhere(text, block, [](std::size_t, const AuditLineKeys&) { return true; });
}

Result<std::vector<AuditRow>> DecodeAuditBlockWhere(
    std::string_view text, std::int64_t block,
    const std::function<bool(std::size_t ordinal, const AuditLineKeys& keys)>& keep) {
  Result<AuditLinesIndex> index = IndexAuditLines(text);
  if (!index.has_value() || static_cast<std::int64_t>(index->lines.size()) > kMaxBlockEvents) {
    return Malformed();
  }
  std::vector<AuditRow> rows;
  std::size_t begin = 0;
  for (std::size_t i = 0; i < index->lines.size(); ++i) {
    const AuditLineKeys& keys = index->lines[i];
    const std::size_t line_begin = std::exchange(begin, keys.end);
    if (!keep(i, keys)) continue;
    Result<std::vector<AuditRow>> line = ParseAuditLines(text.substr(line_begin, keys.end - line_begin));
    if (!line.has_value() || line->size() != 1) return Malformed();
    line->front().seq = BlockSeq(block, static_cast<std::int64_t>(i));
    rows.push_back(std::move(line->front()));
  }
  return rows;
}

std::vector<std::string> AuditBlockKeys(std::span<const AuditLineKeys> lines) {
  std::vector<std::string_view> values;
  for (const AuditLineKeys& line : lines) {
    if (!line.patient.empty()) values.push_back(line.patient);
  }
  const std::size_t patients = values.size();
  for (const AuditLineKeys& line : lines) {
    if (!line.agent.empty()) values.push_back(line.agent);
  }
  // Each distinct value once, before it is copied into a key: a block of reads names few.
  auto unique = [](auto first, auto last) {
    std::sort(first, last);
    return std::unique(first, last);
  };
  std::vector<std::string> keys;
  const auto patients_end = unique(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(patients));
  for (auto it = values.begin(); it != patients_end; ++it) keys.push_back(PatientKey(*it));
  const auto agents_begin = values.begin() + static_cast<std::ptrdiff_t>(patients);
  const auto agents_end = unique(agents_begin, values.end());
  for (auto it = agents_begin; it != agents_end; ++it) keys.push_back(AgentKey(*it));
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::string AuditBlockEntityBloom(std::span<const AuditLineKeys> lines) {
  std::vector<std::string_view> entities;
  entities.reserve(lines.size());
  for (const AuditLineKeys& line : lines) {
    if (!line.entity.empty()) entities.push_back(line.entity);
  }
  return MakeBloom(std::move(entities));
}

}  // namespace fhir::audit::pg
