#ifndef FOVEA_SERVER_STORAGE_H_
#define FOVEA_SERVER_STORAGE_H_

// What every command that touches data opens first: the database (external, or the embedded
// cluster started here), its schema, and the search parameters in force.

#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "fhir/search/live_registry.h"
#include "fhir/search/search_backend.h"
#include "server/config.h"
#include "server/embedded_postgres.h"

namespace server {

class Database {
 public:
  // Uses config.database_url, or starts the embedded cluster under config.data_dir.
  common::Status Open(const Config& config);
  const std::string& dsn() const { return dsn_; }

 private:
  std::optional<EmbeddedPostgres> embedded_;  // stopped by its destructor
  std::string dsn_;
};

common::Status MigrateDatabase(const std::string& dsn);

// The R4 parameters plus the SearchParameter resources stored in the database.
std::shared_ptr<fhir::search::LiveRegistry> LoadRegistry(fhir::search::SearchBackend& backend);

}  // namespace server

#endif  // FOVEA_SERVER_STORAGE_H_
