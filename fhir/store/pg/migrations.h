#ifndef FOVEA_FHIR_STORE_PG_MIGRATIONS_H_
#define FOVEA_FHIR_STORE_PG_MIGRATIONS_H_

// Versioned schema migrations, compiled into the binary (fhir/store/pg/migrations/NNNN_*.sql).
// Each runs at most once, in its own transaction, recorded in schema_migrations; concurrent
// migrators (two nodes starting together) serialise on an advisory lock.

#include <string_view>
#include <vector>

#include "common/status.h"
#include "fhir/store/pg/connection.h"

namespace fhir::store::pg {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

struct MigrationReport {
  int applied = 0;
};

const std::vector<Migration>& AllMigrations();

// Applies every migration not yet recorded.
common::Result<MigrationReport> Migrate(PgConnection& conn);

}  // namespace fhir::store::pg

#endif  // FOVEA_FHIR_STORE_PG_MIGRATIONS_H_
