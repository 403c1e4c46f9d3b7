#ifndef FOVEA_SERVER_SECURITY_H_
#define FOVEA_SERVER_SECURITY_H_

// The security stack of a running server, wired once: the auth tables, the signing keys, the
// token service and its HTTP endpoints. `fovea serve` and the test server build it the same way.

#include <memory>

#include "common/clock.h"
#include "common/status.h"
#include "fhir/audit/audit_log.h"
#include "fhir/auth/key_ring.h"
#include "fhir/auth/pg/pg_auth_store.h"
#include "fhir/auth/roles.h"
#include "fhir/auth/token_service.h"
#include "fhir/rest/fhir_service.h"
#include "fhir/rest/http_server.h"
#include "fhir/rest/oauth_service.h"
#include "fhir/store/pg/connection_pool.h"

namespace server {

class SecurityStack {
 public:
  // Loads (or creates) the signing keys. With `audit`, logins, failed logins and tokens issued,
  // refused or revoked go to the audit trail, and the FHIR API records every interaction.
  static common::Result<std::unique_ptr<SecurityStack>> Open(
      fhir::store::pg::ConnectionPool& pool, const common::Clock& clock,
      fhir::auth::AuthSettings settings, fhir::audit::AuditLog* audit = nullptr,
      fhir::rest::RateLimit login_limit = {});

  // Bearer-token authentication for FhirService.
  fhir::rest::SecuritySupport ForFhirService();
  // Serves discovery and the /auth endpoints on `http`.
  void Mount(fhir::rest::HttpServer& http);

  fhir::auth::TokenService& tokens() { return tokens_; }
  fhir::auth::KeyRing& keys() { return keys_; }
  fhir::auth::AuthStore& store() { return store_; }

 private:
  SecurityStack(fhir::store::pg::ConnectionPool& pool, const common::Clock& clock,
                fhir::auth::AuthSettings settings, fhir::audit::AuditLog* audit,
                fhir::rest::RateLimit login_limit)
      : store_(pool),
        keys_(store_, clock, settings.key_encryption_key),
        tokens_(store_, keys_, fhir::auth::RoleCatalog::Default(), clock, std::move(settings)),
        oauth_(tokens_, keys_, login_limit),
        audit_(audit) {}

  fhir::auth::pg::PgAuthStore store_;
  fhir::auth::KeyRing keys_;
  fhir::auth::TokenService tokens_;
  fhir::rest::OAuthService oauth_;
  fhir::audit::AuditLog* audit_;
};

}  // namespace server

#endif  // FOVEA_SERVER_SECURITY_H_
