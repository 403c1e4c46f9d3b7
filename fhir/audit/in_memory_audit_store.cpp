#include "fhir/audit/in_memory_audit_store.h"

#include <algorithm>
#include <optional>
#include <tuple>

#include "fhir/audit/detail/resources.h"

namespace fhir::audit {

using common::Result;
using common::Status;
using common::StatusCode;

namespace {

auto Key(const AuditRow& row) { return std::make_tuple(row.recorded, row.seq); }

}  // namespace

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
  std::vector<AuditRow> matches;
  for (const AuditRow& row : rows_) {
    if (!AuditRowMatches(row, q)) continue;
    if (cursor && (q.oldest_first ? Key(row) <= Key(*cursor) : Key(row) >= Key(*cursor))) continue;
    matches.push_back(row);
  }
  std::sort(matches.begin(), matches.end(), [&](const AuditRow& a, const AuditRow& b) {
    return q.oldest_first ? Key(a) < Key(b) : Key(a) > Key(b);
  });
  const auto count = static_cast<std::size_t>(q.count);
  if (matches.size() > count) {
    matches.resize(count);
    page.next_after_seq = matches.back().seq;
  }
  page.rows = std::move(matches);
  return page;
}

std::size_t InMemoryAuditStore::size() const {
  std::lock_guard lock(mu_);
  return rows_.size();
}

}  // namespace fhir::audit
