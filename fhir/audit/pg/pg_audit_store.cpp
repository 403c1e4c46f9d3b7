#include "fhir/audit/pg/pg_audit_store.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "fhir/audit/audit_lines.h"
#include "fhir/audit/detail/resources.h"
#include "fhir/audit/pg/audit_block.h"
#include "fhir/audit/pg/key_bloom.h"
#include "fhir/store/pg/queries.h"

namespace fhir::audit::pg {

using common::Result;
using common::Status;
using common::StatusCode;
using store::pg::PgConnection;
using store::pg::PgParam;
using store::pg::PgQuery;
using store::pg::PgResult;

namespace {

// The columns RowAt reads, in order.
#define FOVEA_SQL_AUDIT_COLUMNS                                                              \
  "SELECT seq, (extract(epoch FROM recorded) * 1000000)::bigint, subtype, action, outcome," \
  " agent, client_id, patient, entity, address, request_id, content,"                        \
  " array_to_string(targets, ' ') FROM audit_event"

constexpr PgQuery kReadAuditEvent{"audit.read", FOVEA_SQL_AUDIT_COLUMNS " WHERE seq = $1"};

// The text of the audit_event half of Search; the rest is appended from the constant fragments
// in Search (the SQL varies with the filters set, so it is not prepared).
constexpr const char* kSearchSelect = FOVEA_SQL_AUDIT_COLUMNS " WHERE true";

#undef FOVEA_SQL_AUDIT_COLUMNS

// Append's common case: one batch, one block.
constexpr PgQuery kAppendBlock{
    "audit.append_block",
    "INSERT INTO audit_block (recorded_from, recorded_to, event_count, keys, events, entity_bloom)"
    " VALUES ($1::timestamptz, $2::timestamptz, $3::integer, $4::text[], $5, $6::bytea)"};
// Larger batches: one VALUES tuple per block, in one statement (so all or none).
constexpr const char* kAppendBlocksPrefix =
    "INSERT INTO audit_block (recorded_from, recorded_to, event_count, keys, events, entity_bloom)"
    " VALUES ";

constexpr PgQuery kReadBlock{"audit.read_block",
                             "SELECT events FROM audit_block WHERE block = $1"};

// The block half of Search: blocks in the page's order, `events` decoded here.
constexpr const char* kBlockSelect =
    "SELECT block, (extract(epoch FROM recorded_from) * 1000000)::bigint,"
    " (extract(epoch FROM recorded_to) * 1000000)::bigint, events FROM audit_block WHERE true";

// Blocks read per round trip while a page fills: few for the usual page (a block holds up to
// kMaxBlockEvents events), more when the filters are rare.
constexpr int kFirstBlockChunk = 4;
// An entity_any longer than this is not tested in SQL (a statement that long costs more than
// decoding the blocks it would skip): AuditRowMatches filters the events instead.
constexpr std::size_t kMaxEntityProbes = 100;
constexpr int kMaxBlockChunk = 64;  // at most ~6 MB of decompressed events per round trip

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
  // References have no spaces (R4 ids are [A-Za-z0-9.-]); NULL reads as "".
  for (std::string_view rest = r.Get(i, 12); !rest.empty();) {
    const std::size_t space = rest.find(' ');
    row.targets.emplace_back(rest.substr(0, space));
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  }
  return row;
}

std::int64_t Micros(common::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

// The parameters of one block: `lines[from, to)` of `text`, and what the block is found by.
std::vector<PgParam> BlockParams(std::string_view text, const AuditLinesIndex& index,
                                 std::size_t from, std::size_t to) {
  const std::span<const AuditLineKeys> lines(index.lines.data() + from, to - from);
  auto [first, last] = std::minmax_element(
      lines.begin(), lines.end(), [](const AuditLineKeys& a, const AuditLineKeys& b) {
        return a.recorded_micros < b.recorded_micros;
      });
  auto instant = [](std::int64_t micros) {
    return common::FormatInstantMicros(common::TimePoint(std::chrono::microseconds(micros)));
  };
  const std::size_t begin = from == 0 ? 0 : index.lines[from - 1].end;
  return {instant(first->recorded_micros), instant(last->recorded_micros),
          std::to_string(lines.size()), store::pg::PgTextArray(AuditBlockKeys(lines)),
          std::string(text.substr(begin, index.lines[to - 1].end - begin)),
          store::pg::PgByteaHex(AuditBlockEntityBloom(lines))};
}

// The events of `q` stored as audit_event rows that come after `cursor` (if set) in the page's
// order: the first `need` of them in that order.
Result<std::vector<AuditRow>> SearchRows(PgConnection& conn, const AuditQuery& q,
                                         const std::optional<AuditRow>& cursor, std::size_t need) {
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
  add_text(" AND subtype = $", q.subtype);
  add_text(" AND agent = $", q.agent);
  add_text(" AND client_id = $", q.client_id);
  add_text(" AND patient = $", q.patient);
  if (!q.entity.empty()) {
    // A one-resource write and any other event by `entity`; a write of several resources by
    // `targets` (the partial GIN index of migration 0019 needs its condition repeated).
    add(" AND (entity = $", q.entity);
    const std::string n = std::to_string(params.size());
    sql += " OR (cardinality(targets) > 1 AND targets @> ARRAY[$" + n + "]::text[]))";
  }
  if (!q.entity_any.empty()) {
    add(" AND (entity = ANY($", store::pg::PgTextArray(q.entity_any));
    const std::string n = std::to_string(params.size());
    sql += "::text[]) OR (cardinality(targets) > 1 AND targets && $" + n + "::text[]))";
  }
  if (q.writes_only) sql += " AND targets IS NOT NULL";
  add_text(" AND address = $", q.address);
  if (q.action) add(" AND action = $", std::string(1, *q.action));
  if (q.outcome) add(" AND outcome = $", std::to_string(*q.outcome));
  if (cursor) {
    // Keyset: past the cursor in the sort order, an index condition on (recorded, seq).
    add(q.oldest_first ? " AND (recorded, seq) > ($" : " AND (recorded, seq) < ($",
        common::FormatInstantMicros(cursor->recorded));
    sql += "::timestamptz, $";
    params.push_back(std::to_string(cursor->seq));
    sql += std::to_string(params.size());
    sql += "::bigint)";
  }
  sql += q.oldest_first ? " ORDER BY recorded, seq" : " ORDER BY recorded DESC, seq DESC";
  add(" LIMIT $", std::to_string(need));

  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn.ExecuteUnprepared({"audit.search", sql.c_str()}, params));
  std::vector<AuditRow> rows;
  for (int i = 0; i < r.rows(); ++i) rows.push_back(RowAt(r, i));
  return rows;
}

// Whether a block's line may be an event `q` finds, judged on what IndexAuditLines gives
// without parsing the line: its patient, user, resource and time. (A block's events have no
// `targets`, so AuditRowMatches compares the resource with `entity` alone, as here.)
// AuditRowMatches has the last word on the parsed rows.
bool LineMayMatch(const AuditLineKeys& keys, const AuditQuery& q) {
  if (!q.patient.empty() && keys.patient != q.patient) return false;
  if (!q.agent.empty() && keys.agent != q.agent) return false;
  if (!q.entity.empty() && keys.entity != q.entity) return false;
  if (!q.entity_any.empty() &&
      std::find(q.entity_any.begin(), q.entity_any.end(), keys.entity) == q.entity_any.end()) {
    return false;
  }
  if (q.recorded_from && keys.recorded_micros < Micros(*q.recorded_from)) return false;
  if (q.recorded_until && keys.recorded_micros >= Micros(*q.recorded_until)) return false;
  return true;
}

// The events of `q` stored in blocks that come after `cursor` (if set) in the page's order:
// the first `need` of them in that order, or all there are if fewer.
Result<std::vector<AuditRow>> SearchBlocks(PgConnection& conn, const AuditQuery& q,
                                           const std::optional<AuditRow>& cursor,
                                           std::size_t need) {
  const detail::AuditPageOrder before{q.oldest_first};
  std::string where;
  std::vector<PgParam> params;
  auto add = [&](const char* fragment, std::string value) {
    params.push_back(std::move(value));
    where += fragment;
    where += std::to_string(params.size());
  };
  // Only blocks holding every patient and user asked for (the GIN index)...
  std::vector<std::string> keys;
  if (!q.patient.empty()) keys.push_back(PatientKey(q.patient));
  if (!q.agent.empty()) keys.push_back(AgentKey(q.agent));
  if (!keys.empty()) {
    add(" AND keys @> $", store::pg::PgTextArray(keys));
    where += "::text[]";
  }
  // ... and whose entity filter may hold the resource (or one of them) asked for; a block
  // stored before migration 0021 lists its resources in `keys` instead, and has no filter.
  // The filter is tested first, and `keys` only without one: reading `keys` means
  // decompressing it, which costs more than the filter's seven bits.
  auto add_entities = [&](const std::vector<std::string>& entities) {
    where += " AND (";
    for (const std::string& entity : entities) {
      const BloomProbe probe = ProbeOf(entity);
      add("audit_bloom_may_contain(entity_bloom, $", std::to_string(probe.h1));
      add("::bigint, $", std::to_string(probe.h2));
      where += "::bigint) OR ";
    }
    std::vector<std::string> entity_keys;
    for (const std::string& entity : entities) entity_keys.push_back(EntityKey(entity));
    add("(entity_bloom IS NULL AND keys && $", store::pg::PgTextArray(entity_keys));
    where += "::text[]))";
  };
  if (!q.entity.empty()) add_entities({q.entity});
  if (!q.entity_any.empty() && q.entity_any.size() <= kMaxEntityProbes) add_entities(q.entity_any);
  if (q.recorded_from) add(" AND recorded_to >= $", common::FormatInstantMicros(*q.recorded_from));
  if (q.recorded_until) add(" AND recorded_from < $", common::FormatInstantMicros(*q.recorded_until));
  if (cursor) {
    add(q.oldest_first ? " AND recorded_to >= $" : " AND recorded_from <= $",
        common::FormatInstantMicros(cursor->recorded));
  }

  std::vector<AuditRow> found;
  std::optional<std::pair<std::int64_t, std::int64_t>> last_block;  // (bound, block) walked
  int chunk = kFirstBlockChunk;
  while (true) {
    std::string sql = kBlockSelect + where;
    std::vector<PgParam> chunk_params = params;
    auto add_chunk = [&](const char* fragment, std::string value) {
      chunk_params.push_back(std::move(value));
      sql += fragment;
      sql += std::to_string(chunk_params.size());
    };
    if (last_block) {
      // Keyset over the walk: past the last block read, by the bound the walk is ordered on.
      add_chunk(q.oldest_first ? " AND (recorded_from, block) > ($" : " AND (recorded_to, block) < ($",
                common::FormatInstantMicros(
                    common::TimePoint(std::chrono::microseconds(last_block->first))));
      add_chunk("::timestamptz, $", std::to_string(last_block->second));
      sql += "::bigint)";
    }
    sql += q.oldest_first ? " ORDER BY recorded_from, block" : " ORDER BY recorded_to DESC, block DESC";
    add_chunk(" LIMIT $", std::to_string(chunk));
    FOVEA_ASSIGN_OR_RETURN(PgResult r,
                           conn.ExecuteUnprepared({"audit.search_blocks", sql.c_str()}, chunk_params));
    const int n = r.rows();
    for (int i = 0; i < n; ++i) {
      const std::int64_t block = r.GetInt64(i, 0);
      // The bound this walk is ordered on: no later block has an event beyond it.
      const std::int64_t bound = q.oldest_first ? r.GetInt64(i, 1) : r.GetInt64(i, 2);
      if (found.size() == need) {
        const std::int64_t worst = Micros(found.back().recorded);
        if (q.oldest_first ? bound > worst : bound < worst) return found;
      }
      last_block = std::make_pair(bound, block);
      FOVEA_ASSIGN_OR_RETURN(
          std::vector<AuditRow> rows,
          DecodeAuditBlockWhere(r.Get(i, 3), block, [&q](std::size_t, const AuditLineKeys& keys) {
            return LineMayMatch(keys, q);
          }));
      for (AuditRow& row : rows) {
        if (!AuditRowMatches(row, q) || (cursor && !before(*cursor, row))) continue;
        found.push_back(std::move(row));
      }
      std::sort(found.begin(), found.end(), before);
      if (found.size() > need) found.resize(need);
    }
    if (n < chunk) return found;
    chunk = std::min(chunk * 4, kMaxBlockChunk);
  }
}

}  // namespace

Status PgAuditStore::Append(const std::vector<AuditRow>& rows) {
  FOVEA_RETURN_IF_ERROR(detail::CheckAuditRows(rows));
  return AppendLines(EncodeAuditBlock(rows));
}

Status PgAuditStore::AppendLines(std::string_view lines) {
  FOVEA_ASSIGN_OR_RETURN(AuditLinesIndex index, IndexAuditLines(lines));
  const std::size_t n = index.lines.size();
  if (n == 0) return Status::Ok();
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  constexpr auto kMax = static_cast<std::size_t>(kMaxBlockEvents);
  if (n <= kMax) {
    FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(kAppendBlock, BlockParams(lines, index, 0, n)));
    return Status::Ok();
  }
  // Assembled from constant fragments only; every value is a parameter.
  std::string sql = kAppendBlocksPrefix;
  std::vector<PgParam> params;
  for (std::size_t from = 0; from < n; from += kMax) {
    std::vector<PgParam> block = BlockParams(lines, index, from, std::min(n, from + kMax));
    if (from > 0) sql += ',';
    const std::size_t p = params.size();
    sql += "($" + std::to_string(p + 1) + "::timestamptz, $" + std::to_string(p + 2) +
           "::timestamptz, $" + std::to_string(p + 3) + "::integer, $" + std::to_string(p + 4) +
           "::text[], $" + std::to_string(p + 5) + ", $" + std::to_string(p + 6) + "::bytea)";
    for (PgParam& value : block) params.push_back(std::move(value));
  }
  FOVEA_ASSIGN_OR_RETURN(PgResult r,
                         conn->ExecuteUnprepared({"audit.append_blocks", sql.c_str()}, params));
  return Status::Ok();
}

Result<AuditRow> PgAuditStore::Read(std::int64_t seq) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  if (IsBlockSeq(seq)) {
    FOVEA_ASSIGN_OR_RETURN(PgResult r,
                           conn->Execute(kReadBlock, {std::to_string(BlockOfSeq(seq))}));
    if (r.rows() == 0) return Status(StatusCode::kNotFound, "not found");
    const auto ordinal = static_cast<std::size_t>(OrdinalOfSeq(seq));
    FOVEA_ASSIGN_OR_RETURN(
        std::vector<AuditRow> rows,
        DecodeAuditBlockWhere(r.Get(0, 0), BlockOfSeq(seq),
                              [ordinal](std::size_t i, const AuditLineKeys&) { return i == ordinal; }));
    if (rows.empty()) return Status(StatusCode::kNotFound, "not found");  // past its last line
    return std::move(rows.front());
  }
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(kReadAuditEvent, {std::to_string(seq)}));
  if (r.rows() == 0) return Status(StatusCode::kNotFound, "not found");
  return RowAt(r, 0);
}

Result<AuditPage> PgAuditStore::Search(const AuditQuery& q) {
  AuditPage page;
  if (q.count <= 0) return page;
  const detail::AuditPageOrder before{q.oldest_first};
  // The cursor's row, wherever it is stored; one that does not exist ends the paging.
  std::optional<AuditRow> cursor;
  if (q.after_seq) {
    Result<AuditRow> row = Read(*q.after_seq);
    if (!row.has_value()) {
      if (row.error().code() == StatusCode::kNotFound) return page;
      return row.error();
    }
    cursor = std::move(*row);
  }
  const std::size_t need = static_cast<std::size_t>(q.count) + 1;  // one more: another page?
  std::vector<AuditRow> rows;
  if (q.seq) {
    // _id: one event at most, wherever it is stored.
    Result<AuditRow> row = Read(*q.seq);
    if (!row.has_value() && row.error().code() != StatusCode::kNotFound) return row.error();
    if (row.has_value() && AuditRowMatches(*row, q) && (!cursor || before(*cursor, *row))) {
      rows.push_back(std::move(*row));
    }
  } else {
    FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    FOVEA_ASSIGN_OR_RETURN(rows, SearchRows(*conn, q, cursor, need));
    if (!q.writes_only) {  // blocks hold AuditLog's events, never a write's own row
      FOVEA_ASSIGN_OR_RETURN(std::vector<AuditRow> in_blocks, SearchBlocks(*conn, q, cursor, need));
      rows.insert(rows.end(), std::make_move_iterator(in_blocks.begin()),
                  std::make_move_iterator(in_blocks.end()));
    }
    std::sort(rows.begin(), rows.end(), before);
  }
  return detail::PageOf(std::move(rows), q.count);
}

}  // namespace fhir::audit::pg
