#ifndef FOVEA_FHIR_STORE_PG_CONNECTION_H_
#define FOVEA_FHIR_STORE_PG_CONNECTION_H_

// A thin RAII layer over libpq: connections, named prepared statements, results.
// SQL is always a named constant with $n placeholders; values travel only as parameters.
// Logs name the query and the SQLSTATE, never parameter values (they are PHI).

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/status.h"

struct pg_conn;
struct pg_result;

namespace fhir::store::pg {

// A named SQL statement. The name identifies it in logs and as a prepared statement.
// Prepared statements are cached per connection by the address of `name`, so a PgQuery passed
// to Execute must be a constant with static storage (see queries.h).
struct PgQuery {
  const char* name;
  const char* sql;
};

// A text-format parameter; nullopt is SQL NULL.
using PgParam = std::optional<std::string>;

// `values` as a text[] literal parameter ({"a","b"}), quoted and escaped.
std::string PgTextArray(const std::vector<std::string>& values);
// `bytes` as a bytea literal parameter in hex form (\x0aff...).
std::string PgByteaHex(std::string_view bytes);

// Owns a PGresult. Values are text-format.
class PgResult {
 public:
  explicit PgResult(pg_result* r);
  PgResult(PgResult&&) noexcept = default;
  PgResult& operator=(PgResult&&) noexcept = default;
  ~PgResult();

  int rows() const;
  bool IsNull(int row, int col) const;
  std::string_view Get(int row, int col) const;
  std::int64_t GetInt64(int row, int col) const;
  bool GetBool(int row, int col) const { return Get(row, col) == "t"; }
  // Rows affected by INSERT/UPDATE/DELETE.
  int affected() const;

 private:
  friend class PgConnection;
  struct Clear {
    void operator()(pg_result* r) const noexcept;
  };
  std::unique_ptr<pg_result, Clear> r_;
};

// Appends `value` to a COPY text-format line: backslash, tab, newline and carriage return
// escaped; `null` writes COPY's NULL marker instead.
void AppendCopyField(std::string& line, std::string_view value, bool null = false);

// A NOTIFY as it arrived on a listening connection.
struct PgNotification {
  std::string channel;
  std::string payload;
};

// One libpq connection. Thread-compatible: one thread at a time (the pool guarantees it).
class PgConnection {
 public:
  static common::Result<std::unique_ptr<PgConnection>> Connect(const std::string& dsn);
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;
  ~PgConnection();

  // Runs a prepared statement (prepared on first use on this connection).
  common::Result<PgResult> Execute(const PgQuery& query, const std::vector<PgParam>& params);
  // Runs a statement without preparing it (for SQL assembled from constant fragments).
  common::Result<PgResult> ExecuteUnprepared(const PgQuery& query,
                                             const std::vector<PgParam>& params);
  // Runs SQL assembled from constant fragments as a statement prepared on this connection the
  // first time its text is seen (so parsing is paid once, and PostgreSQL may settle on a plan it
  // reuses; it is made to: the generic plan, from the first execution on). Only for texts
  // whose best plan does not depend on the values. At most
  // kMaxCachedTexts texts per connection; beyond that, texts run unprepared.
  common::Result<PgResult> ExecuteCached(const char* name, const std::string& sql,
                                         const std::vector<PgParam>& params);
  static constexpr std::size_t kMaxCachedTexts = 256;

  // COPY ... FROM STDIN with `data` in COPY's text format (one line per row, tab-separated,
  // escaped as PgCopyText does). Returns the number of rows copied. For appends of many rows:
  // no statement to parse per row, no JSON to take apart on the server.
  common::Result<std::int64_t> CopyIn(const char* name, const char* copy_sql, std::string_view data);

  // Runs a script of several statements without parameters (migrations).
  common::Status ExecuteScript(std::string_view name, const std::string& sql);
  bool healthy() const;
  // Whether an idle connection still works, without waiting: false when what the server sent
  // meanwhile shows it is gone (PostgreSQL restarted, the session was ended). One non-blocking
  // peek when nothing arrived; anything that did is read (notifications are dropped: pooled
  // connections listen to nothing).
  bool StillConnected();
  // After LISTEN on this connection: waits at most `timeout` for a notification (any channel)
  // and consumes every one that arrived. True when one did; false on timeout. kUnavailable when
  // the connection broke.
  common::Result<bool> WaitForNotification(std::chrono::milliseconds timeout);
  // The same, keeping what arrived (channel and payload, in order) in `received`.
  common::Result<bool> WaitForNotification(std::chrono::milliseconds timeout,
                                           std::vector<PgNotification>& received);
  // The same, also returning (false, unless notifications arrived too) as soon as `wake_fd`
  // is readable: another thread has work for the listening one (an eventfd, which the caller
  // reads to reset). The wait reads nothing from `wake_fd`.
  common::Result<bool> WaitForNotification(std::chrono::milliseconds timeout,
                                           std::vector<PgNotification>& received, int wake_fd);

 private:
  explicit PgConnection(pg_conn* c) : conn_(c) {}
  common::Status ResultStatus(const char* name, pg_result* r);

  struct Finish {
    void operator()(pg_conn* c) const noexcept;
  };
  std::unique_ptr<pg_conn, Finish> conn_;
  std::unordered_set<const char*> prepared_;  // names of statements prepared here
  std::unordered_map<std::string, std::string> cached_;  // ExecuteCached: text -> statement name
  bool generic_plan_prepared_ = false;                   // ExecuteCached's set_config statement

};

}  // namespace fhir::store::pg

#endif  // FOVEA_FHIR_STORE_PG_CONNECTION_H_
