#include "fhir/store/pg/connection.h"

#include <poll.h>
#include <sys/socket.h>

#include <libpq-fe.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/log.h"

namespace fhir::store::pg {

using common::Result;
using common::Status;
using common::StatusCode;

void PgResult::Clear::operator()(pg_result* r) const noexcept { PQclear(r); }
PgResult::PgResult(pg_result* r) : r_(r) {}
PgResult::~PgResult() = default;
int PgResult::rows() const { return PQntuples(r_.get()); }
bool PgResult::IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
std::string_view PgResult::Get(int row, int col) const {
  return {PQgetvalue(r_.get(), row, col),
          static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
}
std::int64_t PgResult::GetInt64(int row, int col) const {
  return std::strtoll(PQgetvalue(r_.get(), row, col), nullptr, 10);
}
int PgResult::affected() const { return std::atoi(PQcmdTuples(r_.get())); }

void PgConnection::Finish::operator()(pg_conn* c) const noexcept { PQfinish(c); }
PgConnection::~PgConnection() = default;

namespace {
// Server notices ("relation already exists, skipping") are not errors; keep them off stderr.
void IgnoreNotice(void*, const char*) {}
}  // namespace

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& dsn) {
  pg_conn* c = PQconnectdb(dsn.c_str());
  if (c != nullptr) PQsetNoticeProcessor(c, IgnoreNotice, nullptr);
  std::unique_ptr<PgConnection> conn(new PgConnection(c));
  if (c == nullptr || PQstatus(c) != CONNECTION_OK) {
    // The libpq message names host/socket problems, never data; it stays in the log only.
    common::LogWarning(std::string("database connection failed: ") +
                       (c != nullptr ? PQerrorMessage(c) : "out of memory"));
    return Status(StatusCode::kUnavailable, "The database is not reachable");
  }
  return conn;
}

std::string PgTextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (const std::string& v : values) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : v) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string PgByteaHex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + 2 * bytes.size());
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

// A connection left in pipeline mode (ExecuteCached could not read its results back) takes
// no further commands: it is as good as broken.
bool PgConnection::healthy() const {
  return PQstatus(conn_.get()) == CONNECTION_OK && PQpipelineStatus(conn_.get()) == PQ_PIPELINE_OFF;
}

bool PgConnection::StillConnected() {
  int fd = PQsocket(conn_.get());
  if (fd < 0) return false;
  // Usually nothing arrived while idle: one peek says so.
  char byte = 0;
  if (recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    return healthy();
  }
  // Something did (a notice, or the server's last message before it closed) or the socket
  // failed: read it all as a notification wait does (an end of stream after a message needs
  // its second read).
  return WaitForNotification(std::chrono::milliseconds(0)).has_value() && healthy();
}

Result<bool> PgConnection::WaitForNotification(std::chrono::milliseconds timeout) {
  std::vector<PgNotification> ignored;
  return WaitForNotification(timeout, ignored);
}

Result<bool> PgConnection::WaitForNotification(std::chrono::milliseconds timeout,
                                               std::vector<PgNotification>& received) {
  return WaitForNotification(timeout, received, -1);
}

Result<bool> PgConnection::WaitForNotification(std::chrono::milliseconds timeout,
                                               std::vector<PgNotification>& received, int wake_fd) {
  auto drain = [this, &received]() {
    bool any = false;
    while (PGnotify* n = PQnotifies(conn_.get())) {
      received.push_back({n->relname != nullptr ? n->relname : "", n->extra != nullptr ? n->extra : ""});
      PQfreemem(n);
      any = true;
    }
    return any;
  };
  if (PQconsumeInput(conn_.get()) == 0) {
    return Status(StatusCode::kUnavailable, "the database connection broke while listening");
  }
  if (drain()) return true;
  pollfd fds[2] = {{PQsocket(conn_.get()), POLLIN, 0}, {wake_fd, POLLIN, 0}};
  if (fds[0].fd < 0) return Status(StatusCode::kUnavailable, "the database connection is closed");
  int ready = poll(fds, wake_fd >= 0 ? 2 : 1, static_cast<int>(timeout.count()));
  if (ready <= 0 || (fds[0].revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL)) == 0) return false;
  if (PQconsumeInput(conn_.get()) == 0) {
    return Status(StatusCode::kUnavailable, "the database connection broke while listening");
  }
  return drain();
}

Status PgConnection::ResultStatus(const char* name, pg_result* r) {
  ExecStatusType st = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Status::Ok();
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = r != nullptr ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string sqlstate = state != nullptr ? state : "";
  // Data and constraint errors (classes 22, 23) can quote the offending value, which may be
  // PHI: for those the log keeps the SQLSTATE only.
  bool may_quote_data = sqlstate.rfind("22", 0) == 0 || sqlstate.rfind("23", 0) == 0;
  std::string line = std::string("query ") + name + " failed: sqlstate=";
  line.append(sqlstate.empty() ? "none" : sqlstate);
  if (!may_quote_data) {
    line.append(" ");
    line.append(primary != nullptr ? primary : PQerrorMessage(conn_.get()));
  }
  common::LogWarning(line);
  if (!healthy() || sqlstate.rfind("08", 0) == 0 || sqlstate.rfind("57P", 0) == 0) {
    return Status(StatusCode::kUnavailable, "The database is not reachable");
  }
  if (sqlstate.rfind("22", 0) == 0) {
    // A data exception: a value from the request that validation let through.
    return Status(StatusCode::kInvalid, "A value in the request is malformed or out of range");
  }
  if (sqlstate == "23505" || sqlstate == "40001" || sqlstate == "40P01") {
    return Status(StatusCode::kVersionConflict, "A concurrent write conflicted; retry");
  }
  return Status(StatusCode::kInternal, "A database error occurred");
}

namespace {
struct ParamArrays {
  std::vector<const char*> values;
  explicit ParamArrays(const std::vector<PgParam>& params) {
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  }
};
}  // namespace

Result<PgResult> PgConnection::Execute(const PgQuery& query, const std::vector<PgParam>& params) {
  if (prepared_.find(query.name) == prepared_.end()) {
    PgResult prep(PQprepare(conn_.get(), query.name, query.sql, 0, nullptr));
    FOVEA_RETURN_IF_ERROR(ResultStatus(query.name, prep.r_.get()));
    prepared_.insert(query.name);
  }
  ParamArrays p(params);
  PgResult r(PQexecPrepared(conn_.get(), query.name, static_cast<int>(p.values.size()),
                            p.values.data(), nullptr, nullptr, 0));
  FOVEA_RETURN_IF_ERROR(ResultStatus(query.name, r.r_.get()));
  return r;
}

namespace {
// ExecuteCached's first statement in each pipeline (prepared once per connection).
constexpr const char* kGenericPlanStatement = "fovea.generic_plan";
constexpr const char* kGenericPlan = "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)";
}  // namespace

Result<PgResult> PgConnection::ExecuteCached(const char* name, const std::string& sql,
                                             const std::vector<PgParam>& params) {
  auto it = cached_.find(sql);
  if (it == cached_.end()) {
    if (cached_.size() >= kMaxCachedTexts) return ExecuteUnprepared({name, sql.c_str()}, params);
    std::string statement = "cached." + std::to_string(cached_.size());
    PgResult prep(PQprepare(conn_.get(), statement.c_str(), sql.c_str(), 0, nullptr));
    FOVEA_RETURN_IF_ERROR(ResultStatus(name, prep.r_.get()));
    it = cached_.emplace(sql, std::move(statement)).first;
  }
  if (!generic_plan_prepared_) {
    PgResult prep(PQprepare(conn_.get(), kGenericPlanStatement, kGenericPlan, 0, nullptr));
    FOVEA_RETURN_IF_ERROR(ResultStatus("search.generic_plan", prep.r_.get()));
    generic_plan_prepared_ = true;
  }
  // PostgreSQL would keep planning these afresh: its generic plan, costed without the values,
  // looks dearer than the custom ones (an identifier search: 1,019 against 13), so it never
  // switches to it, and every search paid ~0.2 ms of planning for the plan it already had
  // (measured: 240 us against 25 us per execution). The generic plan is forced for this
  // statement alone: set_config(..., true) lasts until the end of the implicit transaction
  // that the pipeline's Sync closes (and is undone with it if the statement fails), so the
  // connection's other statements keep PostgreSQL's choice. One round trip, as before.
  ParamArrays p(params);
  if (PQenterPipelineMode(conn_.get()) == 0) {
    return Status(StatusCode::kUnavailable, "The database connection cannot pipeline");
  }
  bool sent = PQsendQueryPrepared(conn_.get(), kGenericPlanStatement, 0, nullptr, nullptr, nullptr, 0) == 1 &&
              PQsendQueryPrepared(conn_.get(), it->second.c_str(), static_cast<int>(p.values.size()),
                                  p.values.data(), nullptr, nullptr, 0) == 1 &&
              PQpipelineSync(conn_.get()) == 1;
  // Every result up to the Sync is read, whatever failed, so that the connection leaves
  // pipeline mode clean: the setting's, then the statement's, then the Sync.
  std::vector<PgResult> results;
  int ends_in_a_row = 0;  // two: nothing more will come (the connection broke)
  while (sent) {
    PGresult* r = PQgetResult(conn_.get());
    if (r == nullptr) {
      if (++ends_in_a_row == 2) break;
      continue;  // the end of one statement's results
    }
    ends_in_a_row = 0;
    if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
      PQclear(r);
      break;
    }
    results.emplace_back(r);
  }
  if (PQexitPipelineMode(conn_.get()) == 0 || !sent || results.size() != 2) {
    return Status(StatusCode::kUnavailable, "The database is not reachable");
  }
  FOVEA_RETURN_IF_ERROR(ResultStatus("search.generic_plan", results[0].r_.get()));
  FOVEA_RETURN_IF_ERROR(ResultStatus(name, results[1].r_.get()));
  return std::move(results[1]);
}

Result<PgResult> PgConnection::ExecuteUnprepared(const PgQuery& query,
                                                 const std::vector<PgParam>& params) {
  ParamArrays p(params);
  PgResult r(PQexecParams(conn_.get(), query.sql, static_cast<int>(p.values.size()), nullptr,
                          p.values.data(), nullptr, nullptr, 0));
  FOVEA_RETURN_IF_ERROR(ResultStatus(query.name, r.r_.get()));
  return r;
}

Status PgConnection::ExecuteScript(std::string_view name, const std::string& sql) {
  PgResult r(PQexec(conn_.get(), sql.c_str()));
  std::string n(name);
  return ResultStatus(n.c_str(), r.r_.get());
}

void AppendCopyField(std::string& line, std::string_view value, bool null) {
  if (null) {
    line += "\\N";
    return;
  }
  for (char c : value) {
    switch (c) {
      case '\\': line += "\\\\"; break;
      case '\t': line += "\\t"; break;
      case '\n': line += "\\n"; break;
      case '\r': line += "\\r"; break;
      default: line += c;
    }
  }
}

Result<std::int64_t> PgConnection::CopyIn(const char* name, const char* copy_sql, std::string_view data) {
  PgResult start(PQexec(conn_.get(), copy_sql));
  if (PQresultStatus(start.r_.get()) != PGRES_COPY_IN) {
    FOVEA_RETURN_IF_ERROR(ResultStatus(name, start.r_.get()));
    return Status(StatusCode::kInternal, "A database error occurred");
  }
  bool sent = PQputCopyData(conn_.get(), data.data(), static_cast<int>(data.size())) == 1;
  if (PQputCopyEnd(conn_.get(), sent ? nullptr : "could not send the rows") != 1) sent = false;
  // The COPY's outcome, then the end of the results (libpq needs both read).
  PgResult done(PQgetResult(conn_.get()));
  while (pg_result* extra = PQgetResult(conn_.get())) PQclear(extra);
  FOVEA_RETURN_IF_ERROR(ResultStatus(name, done.r_.get()));
  if (!sent) return Status(StatusCode::kUnavailable, "The database is not reachable");
  const char* tuples = PQcmdTuples(done.r_.get());
  return static_cast<std::int64_t>(std::strtoll(tuples, nullptr, 10));
}

}  // namespace fhir::store::pg
