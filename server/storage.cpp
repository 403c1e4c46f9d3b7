#include "server/storage.h"

#include "common/log.h"
#include "fhir/search/search_parameter.h"
#include "fhir/store/pg/connection.h"
#include "fhir/store/pg/migrations.h"

namespace server {

common::Status Database::Open(const Config& config) {
  if (!config.database_url.empty()) {
    dsn_ = config.database_url;
    return common::Status::Ok();
  }
  embedded_.emplace(config.data_dir);
  FOVEA_RETURN_IF_ERROR(embedded_->Start());
  dsn_ = embedded_->ConnectionString();
  return common::Status::Ok();
}

common::Status MigrateDatabase(const std::string& dsn) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, fhir::store::pg::PgConnection::Connect(dsn));
  FOVEA_ASSIGN_OR_RETURN(auto report, fhir::store::pg::Migrate(*conn));
  common::LogInfo("schema is current (" + std::to_string(report.applied) +
                  " migration(s) applied now)");
  return common::Status::Ok();
}

std::shared_ptr<fhir::search::LiveRegistry> LoadRegistry(fhir::search::SearchBackend& backend) {
  auto live =
      std::make_shared<fhir::search::LiveRegistry>(fhir::search::SearchParameterRegistry::R4());
  if (!live->Reload(backend).has_value()) {
    common::LogWarning("custom search parameters could not be loaded; the R4 ones apply");
  }
  return live;
}

}  // namespace server
