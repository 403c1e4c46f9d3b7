#ifndef FOVEA_FHIR_AUTH_AUTH_STORE_H_
#define FOVEA_FHIR_AUTH_AUTH_STORE_H_

// Persistent security state: staff accounts, registered clients, the server's signing keys,
// refresh tokens, authorization codes, revoked tokens and used assertion ids. Secrets are kept
// only as hashes (passwords: scrypt; tokens and codes: SHA-256). Implementation: PgAuthStore.
// Thread-safe.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace fhir::auth {

struct UserAccount {
  std::string username;
  std::string password_hash;  // HashPassword()
  std::string fhir_user;      // "Practitioner/abc"
  std::vector<std::string> roles;
  bool disabled = false;
  int failed_logins = 0;
  common::TimePoint locked_until{};
};

struct ClientRegistration {
  enum class Kind {
    kBackend,  // SMART Backend Services: client_credentials with private_key_jwt
    kPublic,   // a browser or device app: authorization code + PKCE, no secret
  };
  std::string client_id;
  std::string name;
  Kind kind = Kind::kBackend;
  std::string jwks_json;  // backend clients: their public keys
  std::string jwks_url;   // ... or where they publish them (fetched and cached)
  std::vector<std::string> roles;
  std::vector<std::string> redirect_uris;
  bool first_party = false;  // may use the password grant (the unit's own devices)
  bool disabled = false;
};

struct StoredSigningKey {
  std::string kid;
  std::string alg;
  std::string private_pem;
  common::TimePoint created_at{};
  bool active = false;  // the one new tokens are signed with
};

// Refresh tokens rotate: each use returns a new one of the same family; reusing a spent token
// revokes the whole family (RFC 6819 §5.2.2.3, OAuth 2.0 Security BCP).
struct RefreshTokenRecord {
  std::string token_hash;
  std::string family;
  std::string username;
  std::string client_id;
  std::string scope;
  std::string patient;
  std::string encounter;  // EHR launch context, empty when none
  common::TimePoint expires_at{};
  bool used = false;
  bool revoked = false;
};

struct AuthorizationCodeRecord {
  std::string code_hash;
  std::string client_id;
  std::string username;
  std::string redirect_uri;
  std::string code_challenge;  // S256
  std::string scope;
  std::string patient;
  std::string encounter;  // EHR launch context, empty when none
  common::TimePoint expires_at{};
};

class AuthStore {
 public:
  virtual ~AuthStore() = default;

  // kVersionConflict when the user name is taken.
  virtual common::Status AddUser(const UserAccount& user) = 0;
  virtual common::Result<UserAccount> FindUser(const std::string& username) = 0;
  // Disables or re-enables an account and, when `password_hash` is not empty, replaces the
  // password (clearing the failure count and lock). Disabling also revokes every refresh token
  // of the user. kNotFound for an unknown user.
  virtual common::Status UpdateUser(const std::string& username, bool disabled,
                                    const std::string& password_hash) = 0;
  // Counts failed logins; at `max_failures` the account locks until `now + lockout`. A success
  // resets the count.
  virtual common::Status RecordLogin(const std::string& username, bool success,
                                     common::TimePoint now, int max_failures,
                                     std::chrono::seconds lockout) = 0;

  virtual common::Status AddClient(const ClientRegistration& client) = 0;
  virtual common::Result<ClientRegistration> FindClient(const std::string& client_id) = 0;
  // Disables or re-enables a client; disabling revokes its refresh tokens. kNotFound if unknown.
  virtual common::Status SetClientDisabled(const std::string& client_id, bool disabled) = 0;
  // Adds those of `uris` the client does not have yet to its redirect URIs, keeping the ones
  // it has (one statement: servers starting together cannot lose each other's). kNotFound if
  // unknown.
  virtual common::Status AddRedirectUris(const std::string& client_id,
                                         const std::vector<std::string>& uris) = 0;

  // Newest first.
  virtual common::Result<std::vector<StoredSigningKey>> SigningKeys() = 0;
  // Adds `key` as the active key; the previous ones stay for verification.
  virtual common::Status AddSigningKey(const StoredSigningKey& key) = 0;
  // Replaces a key's stored private half `plain_pem` by its sealed form; a no-op when another
  // node sealed it first (the stored value is no longer `plain_pem`).
  virtual common::Status SealSigningKey(const std::string& kid, const std::string& plain_pem,
                                        const std::string& sealed) = 0;

  // Records a client assertion's jti; false when it was seen before (a replay).
  virtual common::Result<bool> UseAssertionId(const std::string& client_id, const std::string& jti,
                                              common::TimePoint expires_at) = 0;

  virtual common::Status SaveRefreshToken(const RefreshTokenRecord& token) = 0;
  // Marks the token used and returns it as it was before; kNotFound when unknown.
  virtual common::Result<RefreshTokenRecord> SpendRefreshToken(const std::string& token_hash) = 0;
  virtual common::Status RevokeRefreshFamily(const std::string& family) = 0;
  // Revokes the refresh token with this hash (and its family); OK when unknown.
  virtual common::Status RevokeRefreshToken(const std::string& token_hash) = 0;

  virtual common::Status SaveCode(const AuthorizationCodeRecord& code) = 0;
  // Deletes and returns the code (single use); kNotFound when unknown or already used.
  virtual common::Result<AuthorizationCodeRecord> TakeCode(const std::string& code_hash) = 0;

  virtual common::Status RevokeAccessToken(const std::string& jti,
                                           common::TimePoint expires_at) = 0;
  // The ids of revoked access tokens that have not expired yet.
  virtual common::Result<std::vector<std::string>> RevokedAccessTokens() = 0;
};

}  // namespace fhir::auth

#endif  // FOVEA_FHIR_AUTH_AUTH_STORE_H_
