#ifndef FOVEA_FHIR_REST_OAUTH_SERVICE_H_
#define FOVEA_FHIR_REST_OAUTH_SERVICE_H_

// The HTTP face of the SMART on FHIR authorization server (auth::TokenService):
//   GET  [base]/.well-known/smart-configuration   discovery (also at the server root)
//   GET  /auth/jwks                                the public keys that verify access tokens
//   POST /auth/token                               every grant (form-encoded)
//   POST /auth/revoke                              RFC 7009
//   POST /auth/introspect                          RFC 7662 (the caller shows a bearer token)
//   GET  /.well-known/openid-configuration         OpenID Connect discovery (id_token keys)
//   GET|POST /auth/authorize                       the login page of the authorization-code flow
//   POST /auth/launch                              an EHR launch's `launch` value (staff bearer)
// Transport-neutral like FhirService. Thread-safe.

#include <string>

#include "fhir/auth/key_ring.h"
#include "fhir/auth/token_service.h"
#include "fhir/rest/http_types.h"
#include "fhir/rest/rate_limiter.h"

namespace fhir::rest {

class OAuthService {
 public:
  // `limit` applies per network address to the token, revocation and login endpoints (slows
  // down password guessing across accounts; per-account lockout is the token service's).
  OAuthService(auth::TokenService& tokens, auth::KeyRing& keys, RateLimit limit = {})
      : tokens_(tokens), keys_(keys), limiter_(limit) {}

  // Serves the paths listed above; 404 for anything else.
  RestResponse Handle(const RestRequest& request) const;

  std::string SmartConfigurationJson() const;
  std::string OpenIdConfigurationJson() const;

 private:
  RestResponse Token(const RestRequest& request) const;
  RestResponse Revoke(const RestRequest& request) const;
  RestResponse Introspect(const RestRequest& request) const;
  RestResponse Authorize(const RestRequest& request) const;
  RestResponse Launch(const RestRequest& request) const;

  auth::TokenService& tokens_;
  auth::KeyRing& keys_;
  mutable RateLimiter limiter_;
};

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_OAUTH_SERVICE_H_
