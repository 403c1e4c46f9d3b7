#include "fhir/audit/pg/pg_audit_store.h"

#include <chrono>
#include <string>

#include "fhir/audit/detail/resources.h"
#include "fhir/store/pg/queries.h"

namespace fhir::audit::pg {

using common::Result;
using common::Status;
using common::StatusCode;
using store::pg::PgParam;
using store::pg::PgQuery;
using store::pg::PgResult;

namespace {

// The columns RowAt reads, in order.
#define FOVEA_SQL_AUDIT_COLUMNS                                                              \
  "SELECT seq, (extract(epoch FROM recorded) * 1000000)::bigint, subtype, action, outcome," \
  " agent, client_id, patient, entity, address, request_id, content FROM audit_event"

constexpr PgQuery kReadAuditEvent{"audit.read", FOVEA_SQL_AUDIT_COLUMNS " WHERE seq = $1"};

// AuditStore::Append: the columns of each COPY line, in order.
constexpr const char* kCopyAuditEvents =
    "COPY audit_event (recorded, subtype, action, outcome, agent, client_id, patient, entity,"
    " address, request_id, content) FROM STDIN";

// The text of Search's statement starts so; the rest is appended from the constant fragments in
// Search (the SQL varies with the filters set, so it is not prepared).
constexpr const char* kSearchSelect = FOVEA_SQL_AUDIT_COLUMNS " WHERE true";

#undef FOVEA_SQL_AUDIT_COLUMNS

AuditRow RowAt(const PgResult& r, int i) {
  AuditRow row;
  row.seq = r.GetInt64(i, 0);
  row.recorded = common::TimePoint(std::chrono::microseconds(r.GetInt64(i, 1)));
  row.subtype = std::string(r.Get(i, 2));
  const std::string_view action = r.Get(i, 3);
  row.action = action.empty() ? 'E' : action.front();
  row.outcome = static_cast<int>(r.GetInt64(i, 4));
  row.agent = std::string(r.Get(i, 5));
  row.client_id = std::string(r.Get(i, 6));
  row.patient = std::string(r.Get(i, 7));
  row.entity = std::string(r.Get(i, 8));
  row.address = std::string(r.Get(i, 9));
  row.request_id = std::string(r.Get(i, 10));
  row.content = std::string(r.Get(i, 11));
  return row;
}

}  // namespace

Status PgAuditStore::Append(const std::vector<AuditRow>& rows) {
  FOVEA_RETURN_IF_ERROR(detail::CheckAuditRows(rows));
  if (rows.empty()) return Status::Ok();
  // COPY, not an INSERT of a JSON array: every read appends a row, and this is the part of the
  // audit trail's cost that lands on PostgreSQL (docs/PERFORMANCE.md, security).
  std::string data;
  data.reserve(rows.size() * 512);
  for (const AuditRow& row : rows) {
    auto field = [&data](std::string_view v, bool last = false) {
      store::pg::AppendCopyField(data, v, v.empty());
      data += last ? '\n' : '\t';
    };
    field(common::FormatInstantMicros(row.recorded));
    field(row.subtype);
    field(std::string_view(&row.action, 1));
    field(std::to_string(row.outcome));
    field(row.agent);
    field(row.client_id);
    field(row.patient);
    field(row.entity);
    field(row.address);
    field(row.request_id);
    store::pg::AppendCopyField(data, row.content);  // never NULL
    data += '\n';
  }
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(std::int64_t copied, conn->CopyIn("audit.append", kCopyAuditEvents, data));
  if (copied != static_cast<std::int64_t>(rows.size())) {
    return common::InternalError("not every AuditEvent of the batch was stored");
  }
  return Status::Ok();
}

Result<AuditRow> PgAuditStore::Read(std::int64_t seq) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(kReadAuditEvent, {std::to_string(seq)}));
  if (r.rows() == 0) return Status(StatusCode::kNotFound, "not found");
  return RowAt(r, 0);
}

Result<AuditPage> PgAuditStore::Search(const AuditQuery& q) {
  AuditPage page;
  if (q.count <= 0) return page;
  // Assembled from constant fragments only; every value is a parameter.
  std::string sql = kSearchSelect;
  std::vector<PgParam> params;
  auto add = [&](const char* fragment, std::string value) {
    params.push_back(std::move(value));
    sql += fragment;
    sql += std::to_string(params.size());
  };
  auto add_text = [&](const char* fragment, const std::string& value) {
    if (!value.empty()) add(fragment, value);
  };
  if (q.recorded_from) add(" AND recorded >= $", common::FormatInstantMicros(*q.recorded_from));
  if (q.recorded_until) add(" AND recorded < $", common::FormatInstantMicros(*q.recorded_until));
  if (q.seq) add(" AND seq = $", std::to_string(*q.seq));
  add_text(" AND subtype = $", q.subtype);
  add_text(" AND agent = $", q.agent);
  add_text(" AND client_id = $", q.client_id);
  add_text(" AND patient = $", q.patient);
  add_text(" AND entity = $", q.entity);
  add_text(" AND address = $", q.address);
  if (q.action) add(" AND action = $", std::string(1, *q.action));
  if (q.outcome) add(" AND outcome = $", std::to_string(*q.outcome));
  if (q.after_seq) {
    // Keyset: past the cursor row in the sort order. The cursor's `recorded` is looked up here
    // (an InitPlan, once per statement), so the comparison is an index condition on
    // (recorded, seq). A cursor row that does not exist makes it NULL: an empty page.
    add(q.oldest_first ? " AND (recorded, seq) > ((SELECT recorded FROM audit_event WHERE seq = $"
                       : " AND (recorded, seq) < ((SELECT recorded FROM audit_event WHERE seq = $",
        std::to_string(*q.after_seq));
    sql += "), $";
    sql += std::to_string(params.size());
    sql += "::bigint)";
  }
  sql += q.oldest_first ? " ORDER BY recorded, seq" : " ORDER BY recorded DESC, seq DESC";
  // One more than asked: whether another page follows.
  add(" LIMIT $", std::to_string(static_cast<std::int64_t>(q.count) + 1));

  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->ExecuteUnprepared({"audit.search", sql.c_str()}, params));
  const int n = r.rows();
  for (int i = 0; i < n && i < q.count; ++i) page.rows.push_back(RowAt(r, i));
  if (n > q.count && !page.rows.empty()) page.next_after_seq = page.rows.back().seq;
  return page;
}

}  // namespace fhir::audit::pg
