#include "fhir/store/pg/migrations.h"

#include <string>

#include "common/log.h"

std::string_view EmbeddedMigration0001();
std::string_view EmbeddedMigration0002();
std::string_view EmbeddedMigration0003();
std::string_view EmbeddedMigration0004();
std::string_view EmbeddedMigration0005();
std::string_view EmbeddedMigration0006();
std::string_view EmbeddedMigration0007();
std::string_view EmbeddedMigration0008();
std::string_view EmbeddedMigration0009();
std::string_view EmbeddedMigration0010();
std::string_view EmbeddedMigration0011();
std::string_view EmbeddedMigration0012();
std::string_view EmbeddedMigration0013();
std::string_view EmbeddedMigration0014();
std::string_view EmbeddedMigration0015();
std::string_view EmbeddedMigration0016();
std::string_view EmbeddedMigration0017();
std::string_view EmbeddedMigration0018();
std::string_view EmbeddedMigration0019();
std::string_view EmbeddedMigration0020();
std::string_view EmbeddedMigration0021();

namespace fhir::store::pg {
namespace {

// Any constant: the key of the advisory lock that serialises migrators.
constexpr const char* kMigrationLockKey = "7406512001";

constexpr PgQuery kCreateMigrationsTable{
    "migrations.create_table",
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY, name text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())"};
constexpr PgQuery kLock{"migrations.lock", "SELECT pg_advisory_lock($1::bigint)"};
constexpr PgQuery kUnlock{"migrations.unlock", "SELECT pg_advisory_unlock($1::bigint)"};
constexpr PgQuery kIsApplied{"migrations.is_applied",
                             "SELECT 1 FROM schema_migrations WHERE version = $1"};
constexpr PgQuery kRecord{"migrations.record",
                          "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)"};

}  // namespace

const std::vector<Migration>& AllMigrations() {
  static const std::vector<Migration> kAll = {
      {1, "resources", EmbeddedMigration0001()},
      {2, "search_index", EmbeddedMigration0002()},
      {3, "auth", EmbeddedMigration0003()},
      {4, "audit_event", EmbeddedMigration0004()},
      {5, "subscriptions", EmbeddedMigration0005()},
      {6, "ws_binding_tokens", EmbeddedMigration0006()},
      {7, "rest_hook_delivery", EmbeddedMigration0007()},
      {8, "ws_token_access", EmbeddedMigration0008()},
      {9, "hl7v2", EmbeddedMigration0009()},
      {10, "hl7v2_outbound_cursor", EmbeddedMigration0010()},
      {11, "session_presence", EmbeddedMigration0011()},
      {12, "composite_number", EmbeddedMigration0012()},
      {13, "notification_payloads", EmbeddedMigration0013()},
      {14, "launch_encounter", EmbeddedMigration0014()},
      {15, "date_range_index", EmbeddedMigration0015()},
      {16, "audit_block", EmbeddedMigration0016()},
      {17, "event_announcer", EmbeddedMigration0017()},
      {18, "partial_value_indexes", EmbeddedMigration0018()},
      {19, "audit_event_targets", EmbeddedMigration0019()},
      {20, "audit_block_keys_lz4", EmbeddedMigration0020()},
      {21, "audit_block_entity_bloom", EmbeddedMigration0021()},
  };
  return kAll;
}

common::Result<MigrationReport> Migrate(PgConnection& conn) {
  auto created = conn.ExecuteUnprepared(kCreateMigrationsTable, {});
  if (!created.has_value()) return created.error();
  auto locked = conn.ExecuteUnprepared(kLock, {kMigrationLockKey});
  if (!locked.has_value()) return locked.error();
  MigrationReport report;
  common::Status status;
  for (const Migration& m : AllMigrations()) {
    auto done = conn.ExecuteUnprepared(kIsApplied, {std::to_string(m.version)});
    if (!done.has_value()) {
      status = done.error();
      break;
    }
    if (done->rows() > 0) continue;
    // Script, record and commit in one transaction: a failed migration leaves no trace.
    status = conn.ExecuteScript("migration.begin", "BEGIN;\n" + std::string(m.sql));
    if (status.ok()) {
      auto recorded =
          conn.ExecuteUnprepared(kRecord, {std::to_string(m.version), std::string(m.name)});
      status = recorded.has_value() ? conn.ExecuteScript("migration.commit", "COMMIT")
                                    : recorded.error();
    }
    if (!status.ok()) {
      (void)conn.ExecuteScript("migration.rollback", "ROLLBACK");
      break;
    }
    common::LogInfo("applied migration " + std::to_string(m.version) + " " + std::string(m.name));
    ++report.applied;
  }
  (void)conn.ExecuteUnprepared(kUnlock, {kMigrationLockKey});
  if (!status.ok()) return status;
  return report;
}

}  // namespace fhir::store::pg
