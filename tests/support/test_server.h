#ifndef FOVEA_TESTS_SUPPORT_TEST_SERVER_H_
#define FOVEA_TESTS_SUPPORT_TEST_SERVER_H_

// The real server stack (PostgreSQL store, FhirService, POCO HTTP) on 127.0.0.1 and a random
// port, over a fresh test database; plus a small HTTP client for the tests.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "fhir/rest/fhir_service.h"
#include "fhir/rest/http_server.h"
#include "fhir/search/live_registry.h"
#include "fhir/search/pg/pg_search_backend.h"
#include "fhir/store/pg/connection_pool.h"
#include "fhir/store/pg/pg_resource_store.h"
#include "fhir/audit/pg/pg_audit_store.h"
#include "fhir/audit/provenance_search.h"
#include "server/security.h"
#include "server/subscription_stack.h"
#include "workflow/screening_api.h"
#include "workflow/workflow_rules.h"
#include "tests/support/test_database.h"

namespace test_support {

struct HttpResult {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string Header(const std::string& name) const;  // case-insensitive; empty when absent
};

class TestServer {
 public:
  explicit TestServer(fhir::rest::ServiceOptions options = {});
  // With HTTP options of the test's choosing (TLS, timeouts); the port is always a free one.
  TestServer(fhir::rest::ServiceOptions options, fhir::rest::HttpServerOptions http);
  // With SMART on FHIR security on: tokens issued for kTestIssuer (see security()).
  struct Secured {};
  TestServer(Secured, fhir::rest::HttpServerOptions http = {},
             fhir::rest::ServiceOptions options = {});
  ~TestServer();

  static constexpr const char* kTestIssuer = "https://fovea.test:8443";
  // HTTP options for HTTPS with a certificate from `fovea cert dev` (made once per process).
  static fhir::rest::HttpServerOptions DevTls();
  // The security stack of a Secured server (null otherwise).
  server::SecurityStack* security() { return security_.get(); }
  // Subscriptions: the API is always on; the matcher does not run by itself (tests call
  // subscriptions()->matcher().MatchPending() to match what has been written, deterministically).
  server::SubscriptionStack* subscriptions() { return subscriptions_.get(); }
  // The audit trail of a Secured server (null otherwise); Flush() before reading it back.
  fhir::audit::AuditLog* audit() { return audit_.get(); }

  int port() const { return http_->port(); }
  // The running HTTP server, e.g. to mount a protocol upgrade (MountUpgrade works after Start).
  fhir::rest::HttpServer& http() { return *http_; }
  const std::string& dsn() const { return db_.dsn(); }
  // What the server writes through and searches with (to run more subscription workers).
  fhir::store::ResourceStore& store() { return store_; }
  std::shared_ptr<fhir::search::LiveRegistry> registry() { return registry_; }
  fhir::search::SearchBackend& search() {
    return provenance_search_ ? static_cast<fhir::search::SearchBackend&>(*provenance_search_) : search_;
  }
  const common::Clock& clock() const { return clock_; }
  std::string base() const;  // http://127.0.0.1:PORT/fhir/R4 (https:// with TLS)

  // One request on a fresh connection. `path` is below the FHIR base unless it starts with '/'.
  // With TLS the server's certificate is not checked.
  HttpResult Request(const std::string& method, const std::string& path,
                     const std::string& body = "",
                     const std::vector<std::pair<std::string, std::string>>& headers = {}) const;

 private:
  void ReindexNow(const std::vector<std::string>& types);
  void WakeMatcherOnWrites();

  TestDatabase db_;
  fhir::store::pg::ConnectionPool pool_;
  fhir::store::pg::PgResourceStore store_;
  fhir::search::pg::PgSearchBackend search_;
  std::shared_ptr<fhir::search::LiveRegistry> registry_;
  common::SystemClock clock_;
  std::unique_ptr<fhir::audit::pg::PgAuditStore> audit_store_;
  std::unique_ptr<fhir::audit::AuditLog> audit_;
  // --provenance audit-trail: searches go through it (null otherwise).
  std::unique_ptr<fhir::audit::ProvenanceMergingSearch> provenance_search_;
  std::unique_ptr<server::SecurityStack> security_;
  std::unique_ptr<server::SubscriptionStack> subscriptions_;
  std::unique_ptr<workflow::WorkflowRules> workflow_rules_;
  std::unique_ptr<workflow::ScreeningApi> screening_;
  fhir::rest::FhirService service_;
  std::unique_ptr<fhir::rest::HttpServer> http_;
  // Declared last: unhooked before anything it points at goes.
  std::unique_ptr<server::LocalMatcherWake> local_matcher_wake_;
};

}  // namespace test_support

#endif  // FOVEA_TESTS_SUPPORT_TEST_SERVER_H_
