#include "fhir/store/pg/pg_resource_store.h"

#include <chrono>
#include <string>

#include "common/json.h"
#include "fhir/store/pg/queries.h"

namespace fhir::store::pg {

using common::Result;
using common::Status;
using common::StatusCode;

namespace {

common::TimePoint FromEpochMicros(std::int64_t us) {
  return common::TimePoint(std::chrono::microseconds(us));
}

Method MethodFromName(std::string_view m) {
  if (m == "POST") return Method::kCreate;
  if (m == "DELETE") return Method::kDelete;
  return Method::kUpdate;
}

// Columns: version, epoch_us, deleted, content[, method, seq]
ResourceVersion RowToVersion(const PgResult& r, int row, const std::string& type,
                             const std::string& id) {
  ResourceVersion v;
  v.type = type;
  v.id = id;
  v.version = static_cast<int>(r.GetInt64(row, 0));
  v.last_updated = FromEpochMicros(r.GetInt64(row, 1));
  v.deleted = r.GetBool(row, 2);
  if (!r.IsNull(row, 3)) v.content = std::string(r.Get(row, 3));
  return v;
}

// The JSON array parameter of FOVEA_SQL_CREATED_CTES (queries.h): one object per new resource.
// The index rows are already JSON (search::IndexRows::ToJson) and go in as they are.
std::string CreatedResourcesJson(const std::vector<ResourceVersion>& created) {
  std::size_t size = 2;
  for (const ResourceVersion& v : created) {
    // Escaping may add a little; the index rows go in as they are.
    size += 96 + v.type.size() + v.id.size() + v.content.size() * 9 / 8 + v.index_rows_json.size();
  }
  std::string out;
  out.reserve(size);
  out = "[";
  for (const ResourceVersion& v : created) {
    if (out.size() > 1) out += ',';
    out += "{\"t\":";
    common::AppendJsonString(out, v.type);
    out += ",\"i\":";
    common::AppendJsonString(out, v.id);
    out += ",\"at\":";
    common::AppendJsonString(out, common::FormatInstant(v.last_updated));
    out += ",\"c\":";
    common::AppendJsonString(out, v.content);
    out += ",\"x\":";
    out += v.index_rows_json.empty() ? std::string_view("{}") : std::string_view(v.index_rows_json);
    if (v.method != Method::kCreate) {
      out += ",\"m\":";
      common::AppendJsonString(out, MethodName(v.method));
    }
    out += '}';
  }
  out += ']';
  return out;
}

}  // namespace

Result<CurrentState> PgResourceStore::Head(const std::string& type, const std::string& id) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(kHead, {type, id}));
  if (r.rows() == 0) return Status(StatusCode::kNotFound, "not found");
  return CurrentState{static_cast<int>(r.GetInt64(0, 0)), r.GetBool(0, 1)};
}

Result<ResourceVersion> PgResourceStore::Read(const std::string& type, const std::string& id) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(kReadCurrent, {type, id}));
  if (r.rows() == 0) return Status(StatusCode::kNotFound, "not found");
  return RowToVersion(r, 0, type, id);
}

Result<ResourceVersion> PgResourceStore::ReadVersion(const std::string& type,
                                                     const std::string& id, int version) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r,
                         conn->Execute(kReadVersion, {type, id, std::to_string(version)}));
  if (r.rows() == 0) return Status(StatusCode::kNotFound, "not found");
  ResourceVersion v = RowToVersion(r, 0, type, id);
  v.method = MethodFromName(r.Get(0, 4));
  v.seq = r.GetInt64(0, 5);
  return v;
}

Status PgResourceStore::Write(const ResourceVersion& v, int expected_version) {
  return WriteWith(v, expected_version, {}, {});
}

namespace {

// The parameters of kInsertFirstVersion / kInsertNextVersion for `v`.
std::vector<PgParam> VersionParams(const ResourceVersion& v, int expected_version) {
  std::vector<PgParam> params = {
      v.type,
      v.id,
      std::to_string(v.version),
      common::FormatInstant(v.last_updated),
      std::string(v.deleted ? "true" : "false"),
      v.deleted ? PgParam() : PgParam(v.content),
      std::string(MethodName(v.method)),
  };
  if (expected_version > 0) params.push_back(std::to_string(expected_version));
  params.push_back(v.index_rows_json.empty() ? std::string("{}") : v.index_rows_json);
  return params;
}

}  // namespace

Status PgResourceStore::WriteWith(const ResourceVersion& v, int expected_version,
                                  const std::vector<ResourceVersion>& companions,
                                  const std::string& audit_rows_json) {
  FOVEA_RETURN_IF_ERROR(CheckNewResources(companions));
  std::vector<PgParam> params = VersionParams(v, expected_version);
  const bool first = expected_version <= 0;
  const PgQuery* query = first ? &kInsertFirstVersion : &kInsertNextVersion;
  if (!companions.empty()) {
    params.push_back(CreatedResourcesJson(companions));
    params.push_back(audit_rows_json.empty() ? std::string("[]") : audit_rows_json);
    query = first ? &kInsertFirstVersionWith : &kInsertNextVersionWith;
  } else if (!audit_rows_json.empty()) {
    params.push_back(audit_rows_json);  // no companion CTEs to set up (queries.h)
    query = first ? &kInsertFirstVersionAudited : &kInsertNextVersionAudited;
  }
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(*query, params));
  if (r.affected() != 1) {
    return Status(StatusCode::kVersionConflict, "The resource was changed by another writer");
  }
  announcer_.Announce();
  return Status::Ok();
}

namespace {

constexpr PgQuery kBegin{"tx.begin", "BEGIN"};
constexpr PgQuery kCommit{"tx.commit", "COMMIT"};
constexpr PgQuery kRollback{"tx.rollback", "ROLLBACK"};

// The body of WriteAll on a connection inside BEGIN. On failure the caller rolls back.
Status WriteAllInTransaction(PgConnection& conn, const std::vector<PlannedWrite>& writes,
                             const std::vector<ResourceVersion>& companions,
                             const std::string& audit_rows_json, std::size_t* conflict_index) {
  // New resources are created a run at a time: one statement however many there are.
  std::vector<ResourceVersion> run;
  std::size_t run_start = 0;
  auto create_run = [&]() -> Status {
    if (run.empty()) return Status::Ok();
    std::vector<PgParam> params;
    params.emplace_back(CreatedResourcesJson(run));
    auto r = conn.Execute(kCreateResources, params);
    if (!r.has_value()) {
      // A duplicate key: some resource of the run exists; which one only PostgreSQL's message
      // says, so name the run's only write if it has one.
      if (conflict_index != nullptr) *conflict_index = run.size() == 1 ? run_start : writes.size();
      return r.error();
    }
    run.clear();
    return Status::Ok();
  };
  for (std::size_t i = 0; i < writes.size(); ++i) {
    const PlannedWrite& w = writes[i];
    if (w.expected_version == 0) {
      if (run.empty()) run_start = i;
      run.push_back(w.version);
      continue;
    }
    FOVEA_RETURN_IF_ERROR(create_run());
    FOVEA_ASSIGN_OR_RETURN(
        PgResult r, conn.Execute(kInsertNextVersion, VersionParams(w.version, w.expected_version)));
    if (r.affected() != 1) {
      if (conflict_index != nullptr) *conflict_index = i;
      return Status(StatusCode::kVersionConflict, "The resource was changed by another writer");
    }
  }
  FOVEA_RETURN_IF_ERROR(create_run());
  run = companions;
  run_start = writes.size();
  FOVEA_RETURN_IF_ERROR(create_run());
  if (!audit_rows_json.empty()) {
    FOVEA_ASSIGN_OR_RETURN(PgResult r, conn.Execute(kAppendAuditEvents, {audit_rows_json}));
    (void)r;
  }
  return Status::Ok();
}

}  // namespace

Status PgResourceStore::WriteAll(const std::vector<PlannedWrite>& writes,
                                 const std::vector<ResourceVersion>& companions,
                                 const std::string& audit_rows_json,
                                 std::size_t* conflict_index) {
  FOVEA_RETURN_IF_ERROR(CheckPlannedWrites(writes));
  FOVEA_RETURN_IF_ERROR(CheckNewResources(companions));
  if (writes.empty() && companions.empty() && audit_rows_json.empty()) return Status::Ok();
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult begun, conn->ExecuteUnprepared(kBegin, {}));
  (void)begun;
  Status st = WriteAllInTransaction(*conn, writes, companions, audit_rows_json, conflict_index);
  if (!st.ok()) {
    // If the rollback fails the connection is broken; the pool drops it and PostgreSQL aborts
    // the transaction when the session ends.
    (void)conn->ExecuteUnprepared(kRollback, {});
    return st;
  }
  FOVEA_ASSIGN_OR_RETURN(PgResult committed, conn->ExecuteUnprepared(kCommit, {}));
  (void)committed;
  if (!writes.empty() || !companions.empty()) announcer_.Announce();  // audit rows alone log no event
  return Status::Ok();
}

Result<HistoryPage> PgResourceStore::History(const HistoryQuery& q) {
  // Assembled from constant fragments only; every value is a parameter.
  std::string sql =
      "SELECT version, (extract(epoch FROM last_updated) * 1000000)::bigint, deleted, content,"
      " method, seq, type, id FROM resource_history WHERE true";
  std::vector<PgParam> params;
  auto add = [&](const char* fragment, std::string value) {
    params.push_back(std::move(value));
    sql += fragment;
    sql += std::to_string(params.size());
  };
  if (q.type) add(" AND type = $", *q.type);
  if (q.id) add(" AND id = $", *q.id);
  if (q.since) add(" AND last_updated >= $", common::FormatInstant(*q.since));
  if (q.before_seq) add(" AND seq < $", std::to_string(*q.before_seq));
  add(" ORDER BY seq DESC LIMIT $", std::to_string(q.count + 1));
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->ExecuteUnprepared({"store.history", sql.c_str()}, params));
  HistoryPage page;
  int n = r.rows();
  for (int i = 0; i < n && i < q.count; ++i) {
    ResourceVersion v = RowToVersion(r, i, std::string(r.Get(i, 6)), std::string(r.Get(i, 7)));
    v.method = MethodFromName(r.Get(i, 4));
    v.seq = r.GetInt64(i, 5);
    page.entries.push_back(std::move(v));
  }
  if (n > q.count && !page.entries.empty()) page.next_before_seq = page.entries.back().seq;
  return page;
}

namespace {

// pg_advisory_lock keys of conditional writes live in their own namespace (the first int of the
// two-int form), apart from the migration lock's. The keys are hashed to the second int and
// taken in ascending order of it (the aggregate consumes the sorted rows one by one), so two
// sessions locking overlapping sets cannot deadlock. The guard's connection holds nothing else,
// so unlocking everything it holds is exact.
constexpr const char* kCriteriaLockSpace = "7406512";
constexpr PgQuery kLockCriteria{
    "store.lock_criteria",
    "SELECT count(pg_advisory_lock($1::int, h)) FROM"
    " (SELECT DISTINCT hashint8(k) AS h FROM unnest($2::bigint[]) AS k ORDER BY h) AS keys"};
constexpr PgQuery kUnlockCriteria{"store.unlock_criteria", "SELECT pg_advisory_unlock_all()"};

class AdvisoryGuard final : public ResourceStore::Guard {
 public:
  explicit AdvisoryGuard(ConnectionPool::Lease lease) : lease_(std::move(lease)) {}
  ~AdvisoryGuard() override {
    // If the unlock fails the connection is broken, and PostgreSQL ends the session's locks.
    (void)lease_->Execute(kUnlockCriteria, {});
  }

 private:
  ConnectionPool::Lease lease_;
};

}  // namespace

common::Result<std::unique_ptr<ResourceStore::Guard>> PgResourceStore::LockCriteria(
    const std::vector<std::int64_t>& keys) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  std::string array = "{";
  for (std::int64_t key : keys) {
    if (array.size() > 1) array += ',';
    array += std::to_string(key);
  }
  array += '}';
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(kLockCriteria, {kCriteriaLockSpace, array}));
  (void)r;
  return std::unique_ptr<Guard>(new AdvisoryGuard(std::move(conn)));
}

Status PgResourceStore::Ping() {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(kPing, {}));
  (void)r;
  return Status::Ok();
}

}  // namespace fhir::store::pg
