#include "server/security.h"

#include <string>

#include "server/jwks_fetcher.h"

namespace server {
namespace {

using fhir::audit::Interaction;
using fhir::auth::SecurityEvent;

fhir::audit::AuditRecord AuditRecordOf(const SecurityEvent& e) {
  fhir::audit::AuditRecord r;
  switch (e.kind) {
    case SecurityEvent::Kind::kLogin: r.interaction = Interaction::kLogin; break;
    case SecurityEvent::Kind::kLoginFailed: r.interaction = Interaction::kLoginFailed; break;
    case SecurityEvent::Kind::kTokenIssued: r.interaction = Interaction::kTokenIssued; break;
    case SecurityEvent::Kind::kTokenRefused:
      r.interaction = Interaction::kTokenIssued;
      r.http_status = 400;
      r.failure = "Token request refused: " + e.reason;
      break;
    case SecurityEvent::Kind::kTokenRevoked: r.interaction = Interaction::kTokenRevoked; break;
  }
  if (e.kind == SecurityEvent::Kind::kLoginFailed) r.failure = "Login failed: " + e.reason;
  r.agent_reference = e.fhir_user;
  r.user_id = e.username;
  r.client_id = e.client_id;
  r.source_address = e.address;
  r.request_id = e.request_id;
  r.observer = "Fovea";
  return r;
}

}  // namespace

common::Result<std::unique_ptr<SecurityStack>> SecurityStack::Open(
    fhir::store::pg::ConnectionPool& pool, const common::Clock& clock,
    fhir::auth::AuthSettings settings, fhir::audit::AuditLog* audit,
    fhir::rest::RateLimit login_limit) {
  std::unique_ptr<SecurityStack> stack(
      new SecurityStack(pool, clock, std::move(settings), audit, login_limit));
  FOVEA_RETURN_IF_ERROR(stack->keys_.Load());
  stack->tokens_.SetJwksFetcher(FetchJwks);
  if (audit != nullptr) {
    stack->tokens_.SetSecurityEventSink(
        [audit](const SecurityEvent& e) { audit->Record(AuditRecordOf(e)); });
  }
  return stack;
}

fhir::rest::SecuritySupport SecurityStack::ForFhirService() {
  fhir::rest::SecuritySupport support;
  support.authenticate = [this](std::string_view token) { return tokens_.AuthenticateShared(token); };
  support.authorize_url = tokens_.settings().AuthorizeEndpoint();
  support.token_url = tokens_.settings().TokenEndpoint();
  support.audit = audit_;
  return support;
}

void SecurityStack::Mount(fhir::rest::HttpServer& http) {
  auto handler = [this](const fhir::rest::RestRequest& r) { return oauth_.Handle(r); };
  http.Mount("/.well-known/smart-configuration", handler);
  http.Mount(std::string(fhir::rest::kFhirBasePath) + "/.well-known/smart-configuration", handler);
  http.Mount("/auth/", handler);
  http.Mount("/.well-known/openid-configuration", handler);
}

}  // namespace server
