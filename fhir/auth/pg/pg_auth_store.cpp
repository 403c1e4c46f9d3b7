#include "fhir/auth/pg/pg_auth_store.h"

#include "common/json.h"

namespace fhir::auth::pg {
namespace {

using common::Status;
using common::StatusCode;
using store::pg::PgParam;
using store::pg::PgQuery;
using store::pg::PgResult;


constexpr PgQuery kAddUser{
    "auth.add_user",
    "INSERT INTO auth_user (username, password_hash, fhir_user, roles, disabled)"
    " VALUES ($1, $2, $3, ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), $5)"};
constexpr PgQuery kFindUser{
    "auth.find_user",
    "SELECT username, password_hash, fhir_user, array_to_json(roles)::text, disabled,"
    " failed_logins, coalesce((extract(epoch from locked_until) * 1000000)::bigint, 0)"
    " FROM auth_user WHERE username = $1"};
constexpr PgQuery kLoginSucceeded{
    "auth.login_succeeded",
    "UPDATE auth_user SET failed_logins = 0, locked_until = NULL WHERE username = $1"};
constexpr PgQuery kLoginFailed{
    "auth.login_failed",
    "UPDATE auth_user SET"
    " locked_until = CASE WHEN failed_logins + 1 >= $2::int"
    "   THEN $3::timestamptz + make_interval(secs => $4::int) ELSE locked_until END,"
    " failed_logins = CASE WHEN failed_logins + 1 >= $2::int THEN 0 ELSE failed_logins + 1 END"
    " WHERE username = $1"};
// One statement: the account change and, when disabling, its refresh tokens' revocation.
constexpr PgQuery kUpdateUser{
    "auth.update_user",
    "WITH u AS (UPDATE auth_user SET disabled = $2::boolean,"
    "   password_hash = CASE WHEN $3 = '' THEN password_hash ELSE $3 END,"
    "   failed_logins = CASE WHEN $3 = '' THEN failed_logins ELSE 0 END,"
    "   locked_until = CASE WHEN $3 = '' THEN locked_until ELSE NULL END"
    "   WHERE username = $1 RETURNING username),"
    " r AS (UPDATE auth_refresh_token SET revoked = true"
    "   WHERE $2::boolean AND username IN (SELECT username FROM u))"
    " SELECT count(*) FROM u"};
constexpr PgQuery kSetClientDisabled{
    "auth.set_client_disabled",
    "WITH c AS (UPDATE auth_client SET disabled = $2::boolean WHERE client_id = $1"
    "   RETURNING client_id),"
    " r AS (UPDATE auth_refresh_token SET revoked = true"
    "   WHERE $2::boolean AND client_id IN (SELECT client_id FROM c))"
    " SELECT count(*) FROM c"};
constexpr PgQuery kAddClient{
    "auth.add_client",
    "INSERT INTO auth_client (client_id, name, kind, jwks, roles, redirect_uris, first_party,"
    " disabled, jwks_url) VALUES ($1, $2, $3, $4,"
    " ARRAY(SELECT jsonb_array_elements_text($5::jsonb)),"
    " ARRAY(SELECT jsonb_array_elements_text($6::jsonb)), $7, $8, $9)"};
constexpr PgQuery kAddRedirectUris{
    "auth.add_redirect_uris",
    "UPDATE auth_client SET redirect_uris = redirect_uris || ARRAY("
    "   SELECT u FROM jsonb_array_elements_text($2::jsonb) WITH ORDINALITY AS t(u, n)"
    "   WHERE u <> ALL(redirect_uris) ORDER BY n)"
    " WHERE client_id = $1 RETURNING client_id"};
constexpr PgQuery kFindClient{
    "auth.find_client",
    "SELECT client_id, name, kind, jwks, array_to_json(roles)::text,"
    " array_to_json(redirect_uris)::text, first_party, disabled, jwks_url"
    " FROM auth_client WHERE client_id = $1"};
constexpr PgQuery kSigningKeys{
    "auth.signing_keys",
    "SELECT kid, alg, private_pem, (extract(epoch from created_at) * 1000000)::bigint, active"
    " FROM auth_signing_key ORDER BY created_at DESC, kid"};
constexpr PgQuery kAddSigningKey{
    "auth.add_signing_key",
    "WITH retire AS (UPDATE auth_signing_key SET active = false WHERE active)"
    " INSERT INTO auth_signing_key (kid, alg, private_pem, created_at, active)"
    " VALUES ($1, $2, $3, $4::timestamptz, true)"};
constexpr PgQuery kSealSigningKey{
    "auth.seal_signing_key",
    "UPDATE auth_signing_key SET private_pem = $3 WHERE kid = $1 AND private_pem = $2"};
constexpr PgQuery kUseAssertionId{
    "auth.use_assertion_id",
    "WITH expired AS (DELETE FROM auth_assertion_jti WHERE expires_at < now() - interval '1 hour')"
    " INSERT INTO auth_assertion_jti (client_id, jti, expires_at) VALUES ($1, $2, $3::timestamptz)"
    " ON CONFLICT DO NOTHING"};
constexpr PgQuery kSaveRefresh{
    "auth.save_refresh",
    "INSERT INTO auth_refresh_token (token_hash, family, username, client_id, scope, patient,"
    " expires_at, encounter) VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz, $8)"};
// Spending is one atomic UPDATE, so two concurrent uses cannot both succeed.
constexpr PgQuery kSpendRefresh{
    "auth.spend_refresh",
    "UPDATE auth_refresh_token SET used = true WHERE token_hash = $1 AND NOT used"
    " RETURNING token_hash, family, username, client_id, scope, patient,"
    " (extract(epoch from expires_at) * 1000000)::bigint, false, revoked, encounter"};
constexpr PgQuery kFindRefresh{
    "auth.find_refresh",
    "SELECT token_hash, family, username, client_id, scope, patient,"
    " (extract(epoch from expires_at) * 1000000)::bigint, used, revoked, encounter"
    " FROM auth_refresh_token WHERE token_hash = $1"};
constexpr PgQuery kRevokeFamily{
    "auth.revoke_family", "UPDATE auth_refresh_token SET revoked = true WHERE family = $1"};
constexpr PgQuery kRevokeRefresh{
    "auth.revoke_refresh",
    "UPDATE auth_refresh_token SET revoked = true WHERE family IN"
    " (SELECT family FROM auth_refresh_token WHERE token_hash = $1)"};
constexpr PgQuery kSaveCode{
    "auth.save_code",
    "INSERT INTO auth_code (code_hash, client_id, username, redirect_uri, code_challenge, scope,"
    " patient, expires_at, encounter) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz, $9)"};
constexpr PgQuery kTakeCode{
    "auth.take_code",
    "DELETE FROM auth_code WHERE code_hash = $1 RETURNING code_hash, client_id, username,"
    " redirect_uri, code_challenge, scope, patient,"
    " (extract(epoch from expires_at) * 1000000)::bigint, encounter"};
constexpr PgQuery kRevokeAccess{
    "auth.revoke_access",
    "WITH expired AS (DELETE FROM auth_revoked_token WHERE expires_at < now() - interval '1 hour')"
    " INSERT INTO auth_revoked_token (jti, expires_at) VALUES ($1, $2::timestamptz)"
    " ON CONFLICT DO NOTHING"};
constexpr PgQuery kRevokedTokens{
    "auth.revoked_tokens", "SELECT jti FROM auth_revoked_token WHERE expires_at > now()"};

std::string Instant(common::TimePoint t) { return common::FormatInstantMicros(t); }

common::TimePoint FromMicros(std::int64_t us) {
  return common::TimePoint(std::chrono::microseconds(us));
}

std::string JsonArray(const std::vector<std::string>& values) {
  common::JsonValue array = common::JsonValue::Array();
  for (const std::string& v : values) array.Add(common::JsonValue::String(v));
  return common::ToJson(array);
}

std::vector<std::string> FromJsonArray(std::string_view text) {
  std::vector<std::string> out;
  auto parsed = common::ParseJson(text);
  if (!parsed.has_value()) return out;
  for (const common::JsonValue& v : parsed->items()) out.push_back(v.scalar());
  return out;
}

std::string Bool(bool b) { return b ? "true" : "false"; }

// An INSERT's outcome: a duplicate key is kVersionConflict "<what> exists".
Status Inserted(const common::Result<PgResult>& r, const std::string& what) {
  if (r.has_value()) return Status::Ok();
  if (r.error().code() == StatusCode::kVersionConflict) {
    return Status(StatusCode::kVersionConflict, what + " exists");
  }
  return r.error();
}

}  // namespace

Status PgAuthStore::AddUser(const UserAccount& user) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  auto r = conn->Execute(kAddUser, {user.username, user.password_hash, user.fhir_user,
                                    JsonArray(user.roles), Bool(user.disabled)});
  return Inserted(r, "user '" + user.username + "'");
}

common::Result<UserAccount> PgAuthStore::FindUser(const std::string& username) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(kFindUser, {username}));
  if (r.rows() == 0) return Status(StatusCode::kNotFound, "no such user");
  UserAccount u;
  u.username = r.Get(0, 0);
  u.password_hash = r.Get(0, 1);
  u.fhir_user = r.Get(0, 2);
  u.roles = FromJsonArray(r.Get(0, 3));
  u.disabled = r.GetBool(0, 4);
  u.failed_logins = static_cast<int>(r.GetInt64(0, 5));
  std::int64_t locked = r.GetInt64(0, 6);
  if (locked != 0) u.locked_until = FromMicros(locked);
  return u;
}

Status PgAuthStore::UpdateUser(const std::string& username, bool disabled,
                               const std::string& password_hash) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r,
                         conn->Execute(kUpdateUser, {username, Bool(disabled), password_hash}));
  if (r.GetInt64(0, 0) == 0) return Status(StatusCode::kNotFound, "no such user");
  return Status::Ok();
}

Status PgAuthStore::SetClientDisabled(const std::string& client_id, bool disabled) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(kSetClientDisabled, {client_id, Bool(disabled)}));
  if (r.GetInt64(0, 0) == 0) return Status(StatusCode::kNotFound, "no such client");
  return Status::Ok();
}

Status PgAuthStore::AddRedirectUris(const std::string& client_id,
                                    const std::vector<std::string>& uris) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(kAddRedirectUris, {client_id, JsonArray(uris)}));
  if (r.rows() == 0) return Status(StatusCode::kNotFound, "no such client");
  return Status::Ok();
}

Status PgAuthStore::RecordLogin(const std::string& username, bool success, common::TimePoint now,
                                int max_failures, std::chrono::seconds lockout) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  auto r = success ? conn->Execute(kLoginSucceeded, {username})
                   : conn->Execute(kLoginFailed, {username, std::to_string(max_failures),
                                                  Instant(now), std::to_string(lockout.count())});
  return r.has_value() ? Status::Ok() : r.error();
}

Status PgAuthStore::AddClient(const ClientRegistration& c) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  auto r = conn->Execute(
      kAddClient, {c.client_id, c.name,
                   std::string(c.kind == ClientRegistration::Kind::kBackend ? "backend" : "public"),
                   c.jwks_json, JsonArray(c.roles), JsonArray(c.redirect_uris),
                   Bool(c.first_party), Bool(c.disabled), c.jwks_url});
  return Inserted(r, "client '" + c.client_id + "'");
}

common::Result<ClientRegistration> PgAuthStore::FindClient(const std::string& client_id) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(kFindClient, {client_id}));
  if (r.rows() == 0) return Status(StatusCode::kNotFound, "no such client");
  ClientRegistration c;
  c.client_id = r.Get(0, 0);
  c.name = r.Get(0, 1);
  c.kind = r.Get(0, 2) == "backend" ? ClientRegistration::Kind::kBackend
                                    : ClientRegistration::Kind::kPublic;
  c.jwks_json = r.Get(0, 3);
  c.roles = FromJsonArray(r.Get(0, 4));
  c.redirect_uris = FromJsonArray(r.Get(0, 5));
  c.first_party = r.GetBool(0, 6);
  c.disabled = r.GetBool(0, 7);
  c.jwks_url = r.Get(0, 8);
  return c;
}

common::Result<std::vector<StoredSigningKey>> PgAuthStore::SigningKeys() {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(kSigningKeys, {}));
  std::vector<StoredSigningKey> keys;
  for (int i = 0; i < r.rows(); ++i) {
    StoredSigningKey k;
    k.kid = r.Get(i, 0);
    k.alg = r.Get(i, 1);
    k.private_pem = r.Get(i, 2);
    k.created_at = FromMicros(r.GetInt64(i, 3));
    k.active = r.GetBool(i, 4);
    keys.push_back(std::move(k));
  }
  return keys;
}

Status PgAuthStore::AddSigningKey(const StoredSigningKey& key) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  auto r = conn->Execute(kAddSigningKey, {key.kid, key.alg, key.private_pem,
                                          Instant(key.created_at)});
  return r.has_value() ? Status::Ok() : r.error();
}

Status PgAuthStore::SealSigningKey(const std::string& kid, const std::string& plain_pem,
                                   const std::string& sealed) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  auto r = conn->Execute(kSealSigningKey, {kid, plain_pem, sealed});
  return r.has_value() ? Status::Ok() : r.error();
}

common::Result<bool> PgAuthStore::UseAssertionId(const std::string& client_id,
                                                 const std::string& jti,
                                                 common::TimePoint expires_at) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r,
                         conn->Execute(kUseAssertionId, {client_id, jti, Instant(expires_at)}));
  return r.affected() == 1;
}

Status PgAuthStore::SaveRefreshToken(const RefreshTokenRecord& t) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  auto r = conn->Execute(kSaveRefresh, {t.token_hash, t.family, t.username, t.client_id, t.scope,
                                        t.patient, Instant(t.expires_at), t.encounter});
  return r.has_value() ? Status::Ok() : r.error();
}

common::Result<RefreshTokenRecord> PgAuthStore::SpendRefreshToken(const std::string& token_hash) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(kSpendRefresh, {token_hash}));
  if (r.rows() == 0) {
    // Unknown, or spent before: the caller treats a spent token's reuse as theft.
    FOVEA_ASSIGN_OR_RETURN(r, conn->Execute(kFindRefresh, {token_hash}));
    if (r.rows() == 0) return Status(StatusCode::kNotFound, "unknown refresh token");
  }
  RefreshTokenRecord t;
  t.token_hash = r.Get(0, 0);
  t.family = r.Get(0, 1);
  t.username = r.Get(0, 2);
  t.client_id = r.Get(0, 3);
  t.scope = r.Get(0, 4);
  t.patient = r.Get(0, 5);
  t.expires_at = FromMicros(r.GetInt64(0, 6));
  t.used = r.GetBool(0, 7);
  t.revoked = r.GetBool(0, 8);
  t.encounter = r.Get(0, 9);
  return t;
}

Status PgAuthStore::RevokeRefreshFamily(const std::string& family) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  auto r = conn->Execute(kRevokeFamily, {family});
  return r.has_value() ? Status::Ok() : r.error();
}

Status PgAuthStore::RevokeRefreshToken(const std::string& token_hash) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  auto r = conn->Execute(kRevokeRefresh, {token_hash});
  return r.has_value() ? Status::Ok() : r.error();
}

Status PgAuthStore::SaveCode(const AuthorizationCodeRecord& c) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  auto r = conn->Execute(kSaveCode, {c.code_hash, c.client_id, c.username, c.redirect_uri,
                                     c.code_challenge, c.scope, c.patient, Instant(c.expires_at),
                                     c.encounter});
  return r.has_value() ? Status::Ok() : r.error();
}

common::Result<AuthorizationCodeRecord> PgAuthStore::TakeCode(const std::string& code_hash) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(kTakeCode, {code_hash}));
  if (r.rows() == 0) return Status(StatusCode::kNotFound, "unknown code");
  AuthorizationCodeRecord c;
  c.code_hash = r.Get(0, 0);
  c.client_id = r.Get(0, 1);
  c.username = r.Get(0, 2);
  c.redirect_uri = r.Get(0, 3);
  c.code_challenge = r.Get(0, 4);
  c.scope = r.Get(0, 5);
  c.patient = r.Get(0, 6);
  c.expires_at = FromMicros(r.GetInt64(0, 7));
  c.encounter = r.Get(0, 8);
  return c;
}

Status PgAuthStore::RevokeAccessToken(const std::string& jti, common::TimePoint expires_at) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  auto r = conn->Execute(kRevokeAccess, {jti, Instant(expires_at)});
  return r.has_value() ? Status::Ok() : r.error();
}

common::Result<std::vector<std::string>> PgAuthStore::RevokedAccessTokens() {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult r, conn->Execute(kRevokedTokens, {}));
  std::vector<std::string> ids;
  for (int i = 0; i < r.rows(); ++i) ids.emplace_back(r.Get(i, 0));
  return ids;
}

}  // namespace fhir::auth::pg
