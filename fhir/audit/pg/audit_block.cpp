#include "fhir/audit/pg/audit_block.h"

#include <algorithm>

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
  Result<std::vector<AuditRow>> rows = ParseAuditLines(text);
  if (!rows.has_value() || static_cast<std::int64_t>(rows->size()) > kMaxBlockEvents) {
    return Malformed();
  }
  for (std::size_t i = 0; i < rows->size(); ++i) {
    (*rows)[i].seq = BlockSeq(block, static_cast<std::int64_t>(i));
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
