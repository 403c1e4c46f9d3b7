#include "server/commands.h"

#include <csignal>
#include <iostream>
#include <memory>
#include <optional>

#include "common/clock.h"
#include "common/log.h"
#include "fhir/definitions/definitions.h"
#include "fhir/rest/fhir_service.h"
#include "fhir/rest/http_server.h"
#include "fhir/search/pg/pg_search_backend.h"
#include "fhir/search/search_parameter.h"
#include "fhir/store/pg/connection_pool.h"
#include "fhir/store/pg/migrations.h"
#include "fhir/store/pg/pg_resource_store.h"
#include "server/embedded_postgres.h"
#include "server/background_reindexer.h"
#include "server/reindex_command.h"

namespace server {
namespace {

constexpr const char* kVersion = "0.1.0";

// The database the command works on: external, or the embedded cluster (started here).
class Database {
 public:
  common::Status Open(const Config& config) {
    if (!config.database_url.empty()) {
      dsn_ = config.database_url;
      return common::Status::Ok();
    }
    embedded_.emplace(config.data_dir);
    FOVEA_RETURN_IF_ERROR(embedded_->Start());
    dsn_ = embedded_->ConnectionString();
    return common::Status::Ok();
  }
  const std::string& dsn() const { return dsn_; }

 private:
  std::optional<EmbeddedPostgres> embedded_;  // stopped by its destructor
  std::string dsn_;
};

common::Status MigrateDatabase(const std::string& dsn) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, fhir::store::pg::PgConnection::Connect(dsn));
  FOVEA_ASSIGN_OR_RETURN(auto report, fhir::store::pg::Migrate(*conn));
  common::LogInfo("schema is current (" + std::to_string(report.applied) +
                  " migration(s) applied now)");
  return common::Status::Ok();
}

int Fail(const common::Status& st) {
  std::cerr << "fovea: " << st.message() << "\n";
  return 1;
}

// Blocks until SIGINT or SIGTERM.
void WaitForTermination() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
}

}  // namespace

int RunMigrate(const Config& config) {
  Database db;
  if (auto st = db.Open(config); !st.ok()) return Fail(st);
  if (auto st = MigrateDatabase(db.dsn()); !st.ok()) return Fail(st);
  return 0;
}

// The R4 parameters plus the SearchParameter resources stored in the database.
std::shared_ptr<fhir::search::LiveRegistry> LoadRegistry(fhir::search::SearchBackend& backend) {
  auto live =
      std::make_shared<fhir::search::LiveRegistry>(fhir::search::SearchParameterRegistry::R4());
  if (!live->Reload(backend).has_value()) {
    common::LogWarning("custom search parameters could not be loaded; the R4 ones apply");
  }
  return live;
}

int RunReindex(const Config& config) {
  Database db;
  if (auto st = db.Open(config); !st.ok()) return Fail(st);
  if (auto st = MigrateDatabase(db.dsn()); !st.ok()) return Fail(st);
  fhir::store::pg::ConnectionPool pool(db.dsn(), 2);
  fhir::search::pg::PgSearchBackend backend(pool);
  auto report = Reindex(db.dsn(), *LoadRegistry(backend)->Get());
  if (!report.has_value()) return Fail(report.error());
  std::cout << "reindexed " << report->resources << " resources, skipped " << report->skipped
            << "\n";
  return 0;
}

int RunServe(const Config& config) {
  // Block the termination signals in every thread; the main thread waits for them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  Database db;
  if (auto st = db.Open(config); !st.ok()) return Fail(st);
  if (auto st = MigrateDatabase(db.dsn()); !st.ok()) return Fail(st);

  const auto& defs = fhir::definitions::Definitions::R4();
  fhir::store::pg::ConnectionPool pool(db.dsn(), static_cast<std::size_t>(config.pool_size));
  fhir::store::pg::PgResourceStore store(pool);
  fhir::search::pg::PgSearchBackend search_backend(pool);
  auto registry = LoadRegistry(search_backend);
  if (auto st = ReindexIfPending(db.dsn(), *registry->Get()); !st.ok()) return Fail(st);
  BackgroundReindexer reindexer(db.dsn(), registry);
  common::SystemClock clock;
  fhir::rest::ServiceOptions service_options;
  service_options.require_if_match = config.require_if_match;
  service_options.max_body_bytes = config.max_body_bytes;
  service_options.software_version = kVersion;
  fhir::rest::SearchSupport search{registry, &search_backend,
                                   [&reindexer](const std::vector<std::string>& types) {
                                     reindexer.Enqueue(types);
                                   }};
  fhir::rest::FhirService service(defs, store, clock, service_options, search);

  fhir::rest::HttpServerOptions http_options;
  http_options.bind = config.bind;
  http_options.port = config.port;
  http_options.max_threads = config.max_threads;
  http_options.access_log = config.access_log;
  fhir::rest::HttpServer http(service, [&store] { return store.Ping(); }, http_options);
  if (auto st = http.Start(); !st.ok()) return Fail(st);
  common::LogInfo("Fovea " + std::string(kVersion) + " serving http://" + config.bind + ":" +
                  std::to_string(http.port()) + fhir::rest::kFhirBasePath);
  WaitForTermination();
  common::LogInfo("shutting down");
  http.Stop();
  return 0;
}


}  // namespace server
