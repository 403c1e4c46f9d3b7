#include "server/reindex_command.h"

#include "common/log.h"
#include "fhir/definitions/definitions.h"
#include "fhir/format/json_format.h"
#include "fhir/search/index_extractor.h"
#include "fhir/store/pg/connection.h"
#include "fhir/store/pg/queries.h"

namespace server {

namespace pg = fhir::store::pg;

common::Result<ReindexReport> Reindex(const std::string& dsn) {
  constexpr int kBatch = 500;
  FOVEA_ASSIGN_OR_RETURN(auto conn, pg::PgConnection::Connect(dsn));
  auto registry = fhir::search::SearchParameterRegistry::R4();
  const auto& defs = fhir::definitions::Definitions::R4();
  ReindexReport report;
  std::string after_type, after_id;
  while (true) {
    FOVEA_ASSIGN_OR_RETURN(pg::PgResult batch, conn->Execute(pg::kScanCurrent,
                                                             {after_type, after_id,
                                                              std::to_string(kBatch)}));
    int n = batch.rows();
    for (int i = 0; i < n; ++i) {
      std::string type(batch.Get(i, 0)), id(batch.Get(i, 1)), version(batch.Get(i, 2));
      fhir::model::FailFastSink issues;  // stored resources were validated when written
      auto tree = fhir::format::ParseResourceJson(batch.Get(i, 3), defs, issues);
      after_type = type;
      after_id = id;
      if (!tree.has_value()) {
        ++report.skipped;
        continue;
      }
      std::string rows = fhir::search::ExtractIndex(*tree, *registry).ToJson();
      FOVEA_ASSIGN_OR_RETURN(pg::PgResult done,
                             conn->Execute(pg::kReplaceIndex, {type, id, rows, version}));
      if (done.GetInt64(0, 0) == 1) {
        ++report.resources;
      } else {
        ++report.skipped;
      }
    }
    if (n < kBatch) break;
  }
  FOVEA_ASSIGN_OR_RETURN(pg::PgResult cleared, conn->Execute(pg::kReindexDone, {}));
  (void)cleared;
  common::LogInfo("reindexed " + std::to_string(report.resources) + " resources (" +
                  std::to_string(report.skipped) + " skipped)");
  return report;
}

common::Status ReindexIfPending(const std::string& dsn) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pg::PgConnection::Connect(dsn));
  FOVEA_ASSIGN_OR_RETURN(pg::PgResult pending, conn->Execute(pg::kReindexPending, {}));
  if (pending.rows() == 0) return common::Status::Ok();
  common::LogInfo("a migration changed the search index: reindexing before serving");
  FOVEA_ASSIGN_OR_RETURN(ReindexReport report, Reindex(dsn));
  (void)report;
  return common::Status::Ok();
}

}  // namespace server
