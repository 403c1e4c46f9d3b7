#include "server/commands.h"

#include <Poco/Exception.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

#include <csignal>
#include <iostream>
#include <memory>
#include <optional>

#include "common/clock.h"
#include "common/log.h"
#include "fhir/definitions/definitions.h"
#include "fhir/rest/access_control.h"
#include "fhir/rest/fhir_service.h"
#include "fhir/rest/http_server.h"
#include "fhir/search/pg/pg_search_backend.h"
#include "fhir/search/search_parameter.h"
#include "fhir/store/pg/connection_pool.h"
#include "fhir/store/pg/migrations.h"
#include "fhir/store/pg/pg_resource_store.h"
#include "fhir/audit/audit_log.h"
#include "fhir/audit/pg/pg_audit_store.h"
#include "fhir/audit/provenance_search.h"
#include "server/console_client.h"
#include "server/console_site.h"
#include "server/demo_data.h"
#include "server/hl7v2_stack.h"
#include "server/security.h"
#include "server/subscription_stack.h"
#include "server/storage.h"
#include "server/background_reindexer.h"
#include "server/reindex_command.h"
#include "server/search_parameter_watcher.h"
#include "workflow/screening_api.h"
#include "workflow/step_alerts.h"
#include "workflow/workflow_rules.h"

namespace server {
namespace {

constexpr const char* kVersion = "0.1.0";
// Token, login and revocation requests per second per network address (bursts of 20).
constexpr fhir::rest::RateLimit kLoginRateLimit{5, 20};

// Where clients reach this server: --public-url, or the bind address and port.
std::string PublicUrl(const Config& config, bool tls) {
  if (!config.public_url.empty()) return config.public_url;
  std::string host = config.bind.find(':') != std::string::npos ? "[" + config.bind + "]"
                                                                : config.bind;
  return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(config.port);
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

// --port 0: a free port chosen now, so the URLs Fovea puts in tokens and notifications name
// the port it listens on. (Another process could take it before the server binds; then the
// start fails with "address in use". For tests and development.)
common::Result<int> ResolvePort(const Config& config) {
  if (config.port != 0) return config.port;
  try {
    Poco::Net::ServerSocket probe(Poco::Net::SocketAddress(config.bind, 0));
    int port = probe.address().port();
    probe.close();
    return port;
  } catch (const Poco::Exception& e) {
    return common::UnavailableError("no free port on " + config.bind + ": " + e.displayText());
  }
}

int RunServe(const Config& given) {
  auto port = ResolvePort(given);
  if (!port.has_value()) return Fail(port.error());
  Config config = given;
  config.port = *port;
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
  // Other nodes' SearchParameter changes reach this node's registry (and index) at once.
  SearchParameterWatcher search_parameters(pool, registry, search_backend,
                                           [&reindexer](const std::vector<std::string>& types) {
                                             reindexer.Enqueue(types);
                                           });
  common::SystemClock clock;
  fhir::rest::ServiceOptions service_options;
  service_options.require_if_match = config.require_if_match;
  service_options.max_body_bytes = config.max_body_bytes;
  service_options.software_version = kVersion;
  service_options.rate_limit = {config.rate_limit, 2 * config.rate_limit};
  service_options.max_bundle_entries = config.max_bundle_entries;
  service_options.max_conditional_deletes = config.max_conditional_deletes;
  service_options.strict_xml = config.strict_xml;
  if (config.provenance_from_audit_trail) {
    service_options.provenance = fhir::audit::ProvenanceStorage::kAuditTrail;
  }
  fhir::rest::SearchSupport search{registry, &search_backend,
                                   [&reindexer, &search_parameters](const std::vector<std::string>& types) {
                                     reindexer.Enqueue(types);
                                     search_parameters.Announce();
                                   }};
  // Declared before the HTTP server, so it outlives every request and drains on shutdown.
  fhir::audit::pg::PgAuditStore audit_store(pool);
  fhir::audit::AuditLog audit_log(audit_store, clock);
  std::unique_ptr<SecurityStack> security;
  fhir::rest::SecuritySupport security_support;
  bool tls = !config.tls_cert.empty();
  if (config.auth) {
    fhir::auth::AuthSettings auth;
    auth.issuer = PublicUrl(config, tls);
    // A browser app names the FHIR base of the origin it was loaded from (the console does).
    for (const std::string& origin : LoopbackOrigins(config.bind, config.port, tls)) {
      auth.fhir_base_aliases.push_back(origin + fhir::rest::kFhirBasePath);
    }
    if (!config.key_encryption_key_file.empty()) {
      auto kek = fhir::auth::KeyEncryptionKey::FromFile(config.key_encryption_key_file);
      if (!kek.has_value()) return Fail(kek.error());
      auth.key_encryption_key = std::make_shared<const fhir::auth::KeyEncryptionKey>(std::move(kek).value());
    }
    auto opened = SecurityStack::Open(pool, clock, auth, &audit_log, kLoginRateLimit);
    if (!opened.has_value()) return Fail(opened.error());
    security = std::move(opened).value();
    security->tokens().SetGranularCheck(fhir::rest::EnforceableGranularScopes(registry));
    // The staff console signs in as this client (authorization code + PKCE).
    if (auto st = EnsureConsoleClient(
            security->store(), ConsoleRedirectUris(PublicUrl(config, tls), config.bind, config.port, tls));
        !st.ok()) {
      return Fail(st);
    }
    security_support = security->ForFhirService();
    security_support.audit_store = &audit_store;
  } else {
    common::LogWarning("authorisation is OFF (--auth off): every caller on this machine has "
                       "full access; for tests and benchmarks only");
  }
  // --provenance audit-trail: Provenance searches and _revinclude also find the Provenance read
  // from writes' AuditEvent rows (fhir/audit/provenance_search.h).
  std::optional<fhir::audit::ProvenanceMergingSearch> provenance_search;
  if (config.auth && config.provenance_from_audit_trail) {
    provenance_search.emplace(search_backend, audit_store, registry, defs);
    search.backend = &*provenance_search;
  }
  fhir::search::SearchBackend& searcher = *search.backend;
  auto subscriptions = SubscriptionStack::Open(
      pool, registry, store, clock,
      {PublicUrl(config, tls) + fhir::rest::kFhirBasePath, config.allow_http_hooks,
       config.rest_hook_workers, config.rest_hook_max_attempts,
       std::chrono::seconds(config.presence_timeout_seconds), config.auth,
       config.auth ? security_support.server_name : std::string(), service_options.provenance});
  if (!subscriptions.has_value()) return Fail(subscriptions.error());
  // This node's writes wake its matcher directly while it holds the matcher lock, until
  // RunServe returns (unhooked before the matcher goes).
  LocalMatcherWake local_matcher_wake(store, (*subscriptions)->matcher());
  workflow::WorkflowRules workflow_rules(store, searcher, registry, clock);
  workflow::ScreeningApi screening(
      workflow_rules, store, searcher, registry, clock,
      {config.auth ? security_support.server_name : std::string(), service_options.provenance});
  if (auto st = screening.EnsureShipped(); !st.ok()) return Fail(st);
  screening.SetPresence((*subscriptions)->PresenceLookup());
  {
    // Demo data goes through a FhirService of its own with the workflow's rules and no
    // authentication (it acts as the installer), before anyone can connect.
    fhir::auth::pg::PgAuthStore accounts(pool);
    if (config.demo_data == Config::DemoData::kLoad ||
        (config.demo_data == Config::DemoData::kEmbeddedOnly && config.database_url.empty())) {
      fhir::rest::FhirService installer(
          defs, store, clock, {}, search, {},
          fhir::rest::CombineExtensions({(*subscriptions)->ForFhirService(), screening.Extensions()}));
      auto loaded = LoadDemoDataOnce(db.dsn(), installer, accounts, clock);
      if (!loaded.has_value()) return Fail(loaded.error());
    }
    WarnAboutDemoAccounts(accounts);
  }
  workflow::AlertOptions alert_options;
  alert_options.wait_limit = std::chrono::minutes(config.alert_wait_minutes);
  alert_options.run_limit = std::chrono::minutes(config.alert_run_minutes);
  // Auth on: the alert Flags the server writes are audited as every write is.
  if (config.auth) alert_options.audit_observer = security_support.server_name;
  alert_options.provenance = service_options.provenance;
  workflow::StepAlerts step_alerts(store, searcher, registry, clock, alert_options);
  // HL7 v2 (docs/HL7V2.md): MLLP messages are applied through a FhirService of its own that
  // acts as the HL7 interface, with the same extensions; Encounter/[id]/$hl7v2 joins the API.
  Hl7v2Stack hl7v2(config, {&defs, &store, &clock, service_options, search, security_support,
                            fhir::rest::CombineExtensions({(*subscriptions)->ForFhirService(), screening.Extensions()}),
                            db.dsn()});
  fhir::rest::FhirService service(
      defs, store, clock, service_options, search, security_support,
      fhir::rest::CombineExtensions({(*subscriptions)->ForFhirService(), screening.Extensions(), hl7v2.Extensions()}));

  fhir::rest::HttpServerOptions http_options;
  http_options.bind = config.bind;
  http_options.port = config.port;
  http_options.max_threads = config.max_threads;
  http_options.access_log = config.access_log;
  http_options.cors_origins = config.cors_origins;
  http_options.tls.cert_chain_file = config.tls_cert;
  http_options.tls.private_key_file = config.tls_key;
  // The staff console: compiled in, or read from --console-dir on every request. GET /
  // leads there (nothing else serves /). Declared before the server, which uses it.
  ConsoleSite console = config.console_dir.empty() ? ConsoleSite::Embedded()
                                                   : ConsoleSite::FromDirectory(config.console_dir);
  fhir::rest::HttpServer http(service, [&store] { return store.Ping(); }, http_options);
  http.Mount(ConsoleSite::kPrefix,
             [&console](const fhir::rest::RestRequest& r) { return console.Handle(r); });
  http.MountExact("/", ConsoleSite::RedirectRoot);
  if (security != nullptr) security->Mount(http);
  if (auto st = http.Start(); !st.ok()) return Fail(st);
  (*subscriptions)->matcher().Start();  // on every node; one of them holds the matcher lock
  if (auto st = (*subscriptions)->StartChannel(http); !st.ok()) return Fail(st);
  (*subscriptions)->rest_hooks().Start();  // any node delivers; the queue's row locks share out the work
  step_alerts.Start();  // on every node; they take turns on a lock
  if (auto st = hl7v2.Start(); !st.ok()) return Fail(st);  // MLLP listener, outbound worker
  common::LogInfo("Fovea " + std::string(kVersion) + " serving " +
                  (http.tls() ? "https://" : "http://") + config.bind + ":" +
                  std::to_string(http.port()) + fhir::rest::kFhirBasePath);
  WaitForTermination();
  common::LogInfo("shutting down");
  http.Stop();
  hl7v2.Stop();
  step_alerts.Stop();
  (*subscriptions)->rest_hooks().Stop();
  (*subscriptions)->channel().Stop();
  (*subscriptions)->matcher().Stop();
  audit_log.Stop();  // every queued AuditEvent is stored before the database goes away
  return 0;
}


}  // namespace server
