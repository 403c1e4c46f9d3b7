#include "server/reindex_command.h"

#include "common/log.h"
#include "fhir/definitions/definitions.h"
#include "fhir/format/json_format.h"
#include "fhir/search/index_extractor.h"
#include "fhir/store/pg/connection.h"
#include "fhir/store/pg/queries.h"

namespace server {

namespace pg = fhir::store::pg;

namespace {

constexpr pg::PgQuery kReindexLock{"reindex.lock", "SELECT pg_advisory_lock(7406512002)"};

// Re-extracts the rows of every resource `scan` yields (batches of kBatch after a cursor).
common::Result<ReindexReport> ReindexScan(pg::PgConnection& conn,
                                          const fhir::search::SearchParameterRegistry& registry,
                                          const pg::PgQuery& scan, const std::string& type) {
  constexpr int kBatch = 500;
  const auto& defs = fhir::definitions::Definitions::R4();
  ReindexReport report;
  std::string after_type, after_id;
  while (true) {
    std::vector<pg::PgParam> params =
        type.empty() ? std::vector<pg::PgParam>{after_type, after_id, std::to_string(kBatch)}
                     : std::vector<pg::PgParam>{type, after_id, std::to_string(kBatch)};
    FOVEA_ASSIGN_OR_RETURN(pg::PgResult batch, conn.Execute(scan, params));
    int n = batch.rows();
    for (int i = 0; i < n; ++i) {
      std::string row_type(batch.Get(i, 0)), id(batch.Get(i, 1)), version(batch.Get(i, 2));
      fhir::model::FailFastSink issues;  // stored resources were validated when written
      auto tree = fhir::format::ParseResourceJson(batch.Get(i, 3), defs, issues);
      after_type = row_type;
      after_id = id;
      if (!tree.has_value()) {
        ++report.skipped;
        continue;
      }
      std::string rows = fhir::search::ExtractIndex(*tree, registry).ToJson();
      FOVEA_ASSIGN_OR_RETURN(pg::PgResult done,
                             conn.Execute(pg::kReplaceIndex, {row_type, id, rows, version}));
      if (done.GetInt64(0, 0) == 1) {
        ++report.resources;
      } else {
        ++report.skipped;
      }
    }
    if (n < kBatch) break;
  }
  return report;
}

}  // namespace

common::Result<ReindexReport> Reindex(const std::string& dsn,
                                      const fhir::search::SearchParameterRegistry& registry) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pg::PgConnection::Connect(dsn));
  FOVEA_ASSIGN_OR_RETURN(ReindexReport report, ReindexScan(*conn, registry, pg::kScanCurrent, ""));
  FOVEA_ASSIGN_OR_RETURN(pg::PgResult cleared, conn->Execute(pg::kReindexDone, {}));
  (void)cleared;
  common::LogInfo("reindexed " + std::to_string(report.resources) + " resources (" +
                  std::to_string(report.skipped) + " skipped)");
  return report;
}

common::Result<ReindexReport> ReindexTypes(const std::string& dsn,
                                           const fhir::search::SearchParameterRegistry& registry,
                                           const std::vector<std::string>& types) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pg::PgConnection::Connect(dsn));
  // One reindex at a time across nodes (each node reindexes after a change of the parameters):
  // two at once could both replace the same resource's rows and leave them twice. The lock is
  // the connection's, released when it closes.
  FOVEA_ASSIGN_OR_RETURN(pg::PgResult locked, conn->Execute(kReindexLock, {}));
  (void)locked;
  ReindexReport total;
  for (const std::string& type : types) {
    FOVEA_ASSIGN_OR_RETURN(ReindexReport report,
                           ReindexScan(*conn, registry, pg::kScanCurrentOfType, type));
    total.resources += report.resources;
    total.skipped += report.skipped;
  }
  common::LogInfo("reindexed " + std::to_string(total.resources) + " resources of " +
                  std::to_string(types.size()) + " type(s) after search parameters changed");
  return total;
}

common::Status ReindexIfPending(const std::string& dsn,
                                const fhir::search::SearchParameterRegistry& registry) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pg::PgConnection::Connect(dsn));
  FOVEA_ASSIGN_OR_RETURN(pg::PgResult pending, conn->Execute(pg::kReindexPending, {}));
  if (pending.rows() == 0) return common::Status::Ok();
  common::LogInfo("a migration changed the search index: reindexing before serving");
  FOVEA_ASSIGN_OR_RETURN(ReindexReport report, Reindex(dsn, registry));
  (void)report;
  return common::Status::Ok();
}

}  // namespace server
