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
  std::string out = "[";
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

Status PgResourceStore::WriteWith(const ResourceVersion& v, int expected_version,
                                  const std::vector<ResourceVersion>& companions,
                                  const std::string& audit_rows_json) {
  FOVEA_RETURN_IF_ERROR(CheckNewResources(companions));
  std::vector<PgParam> params = {
      v.type,
      v.id,
      std::to_string(v.version),
      common::FormatInstant(v.last_updated),
      std::string(v.deleted ? "true" : "false"),
      v.deleted ? PgParam() : PgParam(v.content),
      std::string(MethodName(v.method)),
  };
  const bool first = expected_version <= 0;
  if (!first) params.push_back(std::to_string(expected_version));
  params.push_back(v.index_rows_json.empty() ? std::string("{}") : v.index_rows_json);
  const PgQuery* query = first ? &kInsertFirstVersion : &kInsertNextVersion;
  if (!companions.empty() || !audit_rows_json.empty()) {
    params.push_back(CreatedResourcesJson(companions));
    params.push_back(audit_rows_json.empty() ? std::string("[]") : audit_rows_json);
    query = first ? &kInsertFirstVersionWith : &kInsertNextVersionWith;
  }
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(*query, params));
  if (r.affected() != 1) {
    return Status(StatusCode::kVersionConflict, "The resource was changed by another writer");
  }
  return Status::Ok();
}

Status PgResourceStore::CreateAll(const std::vector<ResourceVersion>& batch) {
  FOVEA_RETURN_IF_ERROR(CheckNewResources(batch));
  if (batch.empty()) return Status::Ok();
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(kCreateAll, {CreatedResourcesJson(batch)}));
  if (r.rows() != 1 || r.GetInt64(0, 0) != static_cast<std::int64_t>(batch.size())) {
    return common::InternalError("not every resource of the batch was created");
  }
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
// two-int form), apart from the migration lock's.
constexpr const char* kCriteriaLockSpace = "7406512";
constexpr PgQuery kLockCriteria{"store.lock_criteria",
                                "SELECT pg_advisory_lock($1::int, hashint8($2::bigint))"};
constexpr PgQuery kUnlockCriteria{"store.unlock_criteria",
                                  "SELECT pg_advisory_unlock($1::int, hashint8($2::bigint))"};

class AdvisoryGuard final : public ResourceStore::Guard {
 public:
  AdvisoryGuard(ConnectionPool::Lease lease, std::string key)
      : lease_(std::move(lease)), key_(std::move(key)) {}
  ~AdvisoryGuard() override {
    // If the unlock fails the connection is broken, and PostgreSQL ends the session's locks.
    (void)lease_->Execute(kUnlockCriteria, {kCriteriaLockSpace, key_});
  }

 private:
  ConnectionPool::Lease lease_;
  std::string key_;
};

}  // namespace

common::Result<std::unique_ptr<ResourceStore::Guard>> PgResourceStore::LockCriteria(
    std::int64_t key) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  std::string k = std::to_string(key);
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(kLockCriteria, {kCriteriaLockSpace, k}));
  (void)r;
  return std::unique_ptr<Guard>(new AdvisoryGuard(std::move(conn), std::move(k)));
}

Status PgResourceStore::Ping() {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(kPing, {}));
  (void)r;
  return Status::Ok();
}

}  // namespace fhir::store::pg
