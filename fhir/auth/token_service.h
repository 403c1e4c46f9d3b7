#ifndef FOVEA_FHIR_AUTH_TOKEN_SERVICE_H_
#define FOVEA_FHIR_AUTH_TOKEN_SERVICE_H_

// The OAuth 2.0 authorization server of SMART App Launch 2.x and SMART Backend Services, minus
// HTTP: grants (authorization_code with PKCE, refresh_token with rotation, client_credentials
// with private_key_jwt, and the password grant for the unit's own first-party devices), token
// revocation (RFC 7009), and verification of the access tokens it issued. The HTTP face is
// fhir/rest/oauth_service. Thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "fhir/auth/auth_store.h"
#include "fhir/auth/key_ring.h"
#include "fhir/auth/principal.h"
#include "fhir/auth/roles.h"

namespace fhir::auth {

struct AuthSettings {
  std::string issuer;  // "https://unit7.example.org:8443": no trailing slash
  std::chrono::seconds access_token_lifetime{600};
  std::chrono::seconds refresh_token_lifetime{12 * 3600};  // a shift
  std::chrono::seconds code_lifetime{60};
  std::chrono::seconds launch_lifetime{300};  // an EHR launch's `launch` value
  std::chrono::seconds max_assertion_lifetime{300};  // SMART Backend Services: at most 5 minutes
  std::chrono::seconds clock_skew{60};
  // A client's published JWKS (jwks_url) is cached this long, and fetched again at most this
  // often when an assertion names a key the cache does not have (a rotation at the client).
  std::chrono::seconds jwks_cache_lifetime{300};
  std::chrono::seconds jwks_min_refetch{30};
  int max_failed_logins = 5;
  std::chrono::seconds lockout{900};

  // Other URLs of this same FHIR base that an app may name as `aud` when it authorizes: a
  // plain-HTTP loopback server is reached as http://127.0.0.1:PORT and http://localhost:PORT,
  // and a browser app (the staff console) names the origin it was loaded from. Tokens still
  // carry FhirBase().
  std::vector<std::string> fhir_base_aliases;

  // Seals the signing keys at rest (KeyRing); null: they are stored as they are.
  std::shared_ptr<const KeyEncryptionKey> key_encryption_key;

  std::string FhirBase() const { return issuer + "/fhir/R4"; }
  std::string TokenEndpoint() const { return issuer + "/auth/token"; }
  std::string AuthorizeEndpoint() const { return issuer + "/auth/authorize"; }
  std::string RevokeEndpoint() const { return issuer + "/auth/revoke"; }
  std::string IntrospectEndpoint() const { return issuer + "/auth/introspect"; }
  std::string JwksUri() const { return issuer + "/auth/jwks"; }
  std::string LaunchEndpoint() const { return issuer + "/auth/launch"; }
};

using Form = std::vector<std::pair<std::string, std::string>>;

// An answer of the token or revocation endpoint: HTTP status and JSON body (RFC 6749 §5).
struct OAuthReply {
  int status = 200;
  std::string body;
};

// What the audit trail records about authentication.
struct SecurityEvent {
  enum class Kind { kLogin, kLoginFailed, kTokenIssued, kTokenRefused, kTokenRevoked };
  Kind kind = Kind::kTokenRefused;
  std::string username;   // empty for system clients
  std::string client_id;  // as claimed; may be unknown
  std::string fhir_user;
  std::string grant;      // "client_credentials", ...
  std::string reason;     // for refusals: the OAuth error code
  std::string address;    // the caller's network address
  std::string request_id;
};

// Where a call to the authorization server came from (for the audit trail).
struct Caller {
  std::string address;
  std::string request_id;
};

// An EHR launch (SMART App Launch 2.x): the staff member who started an app from Fovea and the
// context it opens in.
struct LaunchContext {
  std::string username;
  std::string patient;    // a Patient id
  std::string encounter;  // an Encounter id, or empty
};

// A validated authorization request (the parameters of GET /auth/authorize).
struct AuthorizeRequest {
  std::string client_id;
  std::string redirect_uri;
  std::string scope;
  std::string state;
  std::string code_challenge;
  std::string aud;
  std::optional<LaunchContext> launch;  // the `launch` parameter of an EHR launch
};

class TokenService {
 public:
  TokenService(AuthStore& store, KeyRing& keys, const RoleCatalog& roles,
               const common::Clock& clock, AuthSettings settings);

  void SetSecurityEventSink(std::function<void(const SecurityEvent&)> sink) {
    sink_ = std::move(sink);
  }
  // How a client's JWKS is fetched from its jwks_url (the server wires an HTTPS client; without
  // one, only registered key sets are used). Returns the document's text.
  using JwksFetcher = std::function<common::Result<std::string>(const std::string& url)>;
  void SetJwksFetcher(JwksFetcher fetcher) { fetch_jwks_ = std::move(fetcher); }
  // Which granular scopes (`?category=...`) the server can enforce; without it none is granted.
  void SetGranularCheck(GranularCheck check) { granular_ = std::move(check); }
  const AuthSettings& settings() const { return settings_; }

  // POST /auth/token.
  OAuthReply Token(const Form& form, const Caller& caller = {});
  // POST /auth/revoke: 200 whether or not the token was known (RFC 7009 §2.2).
  OAuthReply Revoke(const Form& form, const Caller& caller = {});
  // POST /auth/introspect (RFC 7662) for a caller already authenticated by a bearer token:
  // {"active":false} for anything that is not a valid token of this server, else its claims.
  OAuthReply Introspect(const Form& form);

  // Checks the authorization request before the login form is shown. kInvalid with a message
  // for the person at the screen when the client or redirect URI is wrong (then nothing is
  // redirected, RFC 6749 §4.1.2.1).
  common::Result<AuthorizeRequest> CheckAuthorizeRequest(const Form& form);
  // After the login form: checks the credentials and returns the redirect URL carrying the
  // code (or an OAuth error for the client). kUnauthenticated for a wrong name or password (the
  // form is shown again).
  common::Result<std::string> Approve(const AuthorizeRequest& request, const std::string& username,
                                      const std::string& password, const std::string& patient,
                                      const Caller& caller = {});

  // POST /auth/launch: the opaque `launch` value for an app a staff member starts from Fovea in
  // this context (a JWT signed by this server, valid launch_lifetime; no storage, any node
  // verifies it). kForbidden unless `launcher` is a staff member who may read the patient;
  // kInvalid for a malformed id.
  common::Result<std::string> CreateLaunch(const Principal& launcher, const std::string& patient,
                                           const std::string& encounter);

  // Verifies an access token issued here: signature, issuer, audience, lifetime, revocation.
  // kUnauthenticated with a reason safe to show.
  common::Result<Principal> Authenticate(std::string_view access_token);
  // The same, sharing the cached Principal instead of copying it (every request does this).
  common::Result<std::shared_ptr<const Principal>> AuthenticateShared(std::string_view access_token);

 private:
  struct Grant {
    std::string username;  // empty for clients
    std::string client_id;
    std::string fhir_user;
    std::vector<std::string> roles;
    ScopeSet scopes;
    std::string patient;
    std::string encounter;
    std::string refresh_family;  // continue a refresh family; empty: start one if allowed
    bool refresh = false;        // issue a refresh token
    Caller caller;
  };

  OAuthReply ClientCredentials(const Form& form, const Caller& caller);
  OAuthReply PasswordGrant(const Form& form, const Caller& caller);
  OAuthReply AuthorizationCodeGrant(const Form& form, const Caller& caller);
  OAuthReply RefreshTokenGrant(const Form& form, const Caller& caller);
  OAuthReply Issue(Grant grant, std::string_view grant_type);
  common::Result<LaunchContext> VerifyLaunch(std::string_view launch) const;
  OAuthReply Refuse(std::string_view error, std::string description, const SecurityEvent& event,
                    int status = 400);
  // Checks a private_key_jwt client assertion; the client on success.
  common::Result<ClientRegistration> AuthenticateClient(const Form& form);
  // Checks a user's password, counting failures; the account on success.
  common::Result<UserAccount> CheckPassword(const std::string& username,
                                            const std::string& password,
                                            const std::string& client_id, const Caller& caller);
  ScopeSet GrantedScopes(const std::vector<std::string>& roles, std::string_view requested) const;
  // The keys a client publishes at `url`, from the cache unless stale; `refetch` asks for a
  // fresh copy (honoured at most every jwks_min_refetch).
  std::vector<JwsKey> PublishedKeys(const std::string& url, bool refetch);
  void RefreshRevocations();
  void Emit(const SecurityEvent& event) const;  // events carry their caller (MakeEvent)

  AuthStore& store_;
  KeyRing& keys_;
  const RoleCatalog& roles_;
  const common::Clock& clock_;
  const AuthSettings settings_;
  std::function<void(const SecurityEvent&)> sink_;
  JwksFetcher fetch_jwks_;
  GranularCheck granular_;

  struct FetchedJwks {
    std::vector<JwsKey> keys;
    std::chrono::steady_clock::time_point fetched_at{};
  };
  std::mutex jwks_mu_;
  std::unordered_map<std::string, FetchedJwks> jwks_cache_;  // GUARDED_BY(jwks_mu_), by URL

  // Verified tokens (the whole compact form), so repeated use skips the signature check.
  std::mutex cache_mu_;
  // Hashes a token's signature (after the last '.'), not its 1.4 KB: tokens that differ have
  // different signatures, and equality still compares the whole token.
  struct SignatureHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const {
      const std::size_t dot = s.rfind('.');
      return std::hash<std::string_view>{}(dot == std::string_view::npos ? s : s.substr(dot + 1));
    }
  };
  // Shared: a lookup holds cache_mu_ only to find the entry, and callers need not copy it.
  std::unordered_map<std::string, std::shared_ptr<const Principal>, SignatureHash, std::equal_to<>>
      verified_;  // GUARDED_BY(cache_mu_)
  std::unordered_set<std::string> revoked_;               // GUARDED_BY(cache_mu_)
  // Raised (under cache_mu_) whenever revoked_ gains a token. A thread's last verified token
  // (AuthenticateShared) is trusted only while this has not moved since it was checked.
  std::atomic<std::uint64_t> revocation_generation_{0};
  // Which service a thread's last verified token belongs to: never reused, unlike `this`.
  inline static std::atomic<std::uint64_t> next_instance_id_{1};
  const std::uint64_t instance_id_ = next_instance_id_++;
  // When the revoked tokens were last loaded (steady_clock ticks; kNeverLoaded before the
  // first time). Atomic: every request reads it, and only the one that claims a refresh (by
  // compare-and-swap) loads them.
  static constexpr std::chrono::steady_clock::rep kNeverLoaded =
      std::numeric_limits<std::chrono::steady_clock::rep>::min();
  std::atomic<std::chrono::steady_clock::rep> revocations_loaded_{kNeverLoaded};
};

}  // namespace fhir::auth

#endif  // FOVEA_FHIR_AUTH_TOKEN_SERVICE_H_
