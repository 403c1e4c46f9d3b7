#ifndef FOVEA_FHIR_AUTH_PG_PG_AUTH_STORE_H_
#define FOVEA_FHIR_AUTH_PG_PG_AUTH_STORE_H_

// AuthStore on PostgreSQL (tables of migration 0003_auth.sql). Thread-safe.

#include "fhir/auth/auth_store.h"
#include "fhir/store/pg/connection_pool.h"

namespace fhir::auth::pg {

class PgAuthStore final : public AuthStore {
 public:
  explicit PgAuthStore(store::pg::ConnectionPool& pool) : pool_(pool) {}

  common::Status AddUser(const UserAccount& user) override;
  common::Result<UserAccount> FindUser(const std::string& username) override;
  common::Status UpdateUser(const std::string& username, bool disabled,
                            const std::string& password_hash) override;
  common::Status RecordLogin(const std::string& username, bool success, common::TimePoint now,
                             int max_failures, std::chrono::seconds lockout) override;
  common::Status AddClient(const ClientRegistration& client) override;
  common::Result<ClientRegistration> FindClient(const std::string& client_id) override;
  common::Status SetClientDisabled(const std::string& client_id, bool disabled) override;
  common::Status AddRedirectUris(const std::string& client_id,
                                 const std::vector<std::string>& uris) override;
  common::Result<std::vector<StoredSigningKey>> SigningKeys() override;
  common::Status AddSigningKey(const StoredSigningKey& key) override;
  common::Status SealSigningKey(const std::string& kid, const std::string& plain_pem,
                                const std::string& sealed) override;
  common::Result<bool> UseAssertionId(const std::string& client_id, const std::string& jti,
                                      common::TimePoint expires_at) override;
  common::Status SaveRefreshToken(const RefreshTokenRecord& token) override;
  common::Result<RefreshTokenRecord> SpendRefreshToken(const std::string& token_hash) override;
  common::Status RevokeRefreshFamily(const std::string& family) override;
  common::Status RevokeRefreshToken(const std::string& token_hash) override;
  common::Status SaveCode(const AuthorizationCodeRecord& code) override;
  common::Result<AuthorizationCodeRecord> TakeCode(const std::string& code_hash) override;
  common::Status RevokeAccessToken(const std::string& jti, common::TimePoint expires_at) override;
  common::Result<std::vector<std::string>> RevokedAccessTokens() override;

 private:
  store::pg::ConnectionPool& pool_;
};

}  // namespace fhir::auth::pg

#endif  // FOVEA_FHIR_AUTH_PG_PG_AUTH_STORE_H_
