#include "fhir/audit/in_memory_audit_store.h"

#include <algorithm>
#include <optional>

#include "fhir/audit/detail/resources.h"

namespace fhir::audit {

using common::Result;
using common::Status;
using common::StatusCode;

Status InMemoryAuditStore::Append(const std::vector<AuditRow>& rows) {
  FOVEA_RETURN_IF_ERROR(detail::CheckAuditRows(rows));
  std::lock_guard lock(mu_);
  for (const AuditRow& row : rows) {
    rows_.push_back(row);
    rows_.back().seq = next_seq_++;
  }
  return Status::Ok();
}

Result<AuditRow> InMemoryAuditStore::Read(std::int64_t seq) {
  std::lock_guard lock(mu_);
  auto it = std::lower_bound(rows_.begin(), rows_.end(), seq,
                             [](const AuditRow& row, std::int64_t s) { return row.seq < s; });
  if (it == rows_.end() || it->seq != seq) return Status(StatusCode::kNotFound, "not found");
  return *it;
}

Result<AuditPage> InMemoryAuditStore::Search(const AuditQuery& q) {
  AuditPage page;
  if (q.count <= 0) return page;
  std::lock_guard lock(mu_);
  // As in PostgreSQL: a cursor row that does not exist ends the paging.
  std::optional<AuditRow> cursor;
  if (q.after_seq) {
    for (const AuditRow& row : rows_) {
      if (row.seq == *q.after_seq) cursor = row;
    }
    if (!cursor) return page;
  }
  const detail::AuditPageOrder before{q.oldest_first};
  std::vector<AuditRow> matches;
  for (const AuditRow& row : rows_) {
    if (!AuditRowMatches(row, q)) continue;
    if (cursor && !before(*cursor, row)) continue;
    matches.push_back(row);
  }
  std::sort(matches.begin(), matches.end(), before);
  return detail::PageOf(std::move(matches), q.count);
}

std::size_t InMemoryAuditStore::size() const {
  std::lock_guard lock(mu_);
  return rows_.size();
}

}  // namespace fhir::audit
