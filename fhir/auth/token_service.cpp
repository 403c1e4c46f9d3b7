#include "fhir/auth/token_service.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "common/json.h"
#include "common/log.h"
#include "common/url.h"
#include "fhir/auth/crypto/jose.h"
#include "fhir/auth/crypto/secrets.h"
#include "fhir/model/ids.h"

namespace fhir::auth {
namespace {

using common::JsonValue;
using common::Status;
using common::StatusCode;

constexpr std::string_view kJwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
constexpr std::size_t kMaxAssertionBytes = 16 * 1024;
constexpr std::size_t kMaxTokenBytes = 8 * 1024;
constexpr std::size_t kMaxVerifiedTokens = 10000;
constexpr auto kRevocationRefresh = std::chrono::seconds(5);
// Identity and launch scopes a grant may carry besides resource scopes.
const std::vector<std::string> kOtherScopes = {"openid", "fhirUser", "offline_access",
                                               "online_access", "launch/patient"};
// Verified against when a user name is unknown, so that a wrong name and a wrong password take
// the same time.
const std::string& DummyPasswordHash() {
  static const std::string hash = HashPassword(RandomToken(16));
  return hash;
}

// The first value of a form parameter, as the owned string the grants keep; empty when absent.
std::string FormValue(const Form& form, std::string_view name) {
  return std::string(common::FirstValue(form, name));
}

// RFC 6749 §3.1: request parameters must not be included more than once.
bool HasDuplicates(const Form& form) {
  for (std::size_t i = 0; i < form.size(); ++i) {
    for (std::size_t j = i + 1; j < form.size(); ++j) {
      if (form[i].first == form[j].first) return true;
    }
  }
  return false;
}

SecurityEvent MakeEvent(SecurityEvent::Kind kind, std::string username, std::string client_id,
                        std::string fhir_user, std::string grant, const Caller& caller) {
  SecurityEvent e;
  e.kind = kind;
  e.username = std::move(username);
  e.client_id = std::move(client_id);
  e.fhir_user = std::move(fhir_user);
  e.grant = std::move(grant);
  e.address = caller.address;
  e.request_id = caller.request_id;
  return e;
}

std::string TokenHash(std::string_view token) { return Base64UrlEncode(Sha256(token)); }

std::int64_t EpochSeconds(common::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// A NumericDate claim (RFC 7519 §2); nullopt when absent or not a number.
std::optional<std::int64_t> NumericClaim(const JsonValue& claims, std::string_view name) {
  const JsonValue* v = claims.Find(name);
  if (v == nullptr || v->kind() != JsonValue::Kind::kNumber) return std::nullopt;
  const std::string& s = v->scalar();
  std::int64_t out = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec == std::errc() && ptr == s.data() + s.size()) return out;
  double d = 0;
  auto [p2, e2] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (e2 != std::errc() || !std::isfinite(d) || std::fabs(d) > 1e15) return std::nullopt;
  return static_cast<std::int64_t>(d);
}

std::string StringClaim(const JsonValue& claims, std::string_view name) {
  const JsonValue* v = claims.Find(name);
  return v != nullptr && v->is_string() ? v->scalar() : std::string();
}

// `aud` is a string or an array of strings (RFC 7519 §4.1.3).
bool AudienceIncludes(const JsonValue& claims, std::string_view expected) {
  const JsonValue* aud = claims.Find("aud");
  if (aud == nullptr) return false;
  if (aud->is_string()) return aud->scalar() == expected;
  if (!aud->is_array()) return false;
  return std::any_of(aud->items().begin(), aud->items().end(),
                     [&](const JsonValue& a) { return a.is_string() && a.scalar() == expected; });
}

std::string ErrorBody(std::string_view error, std::string_view description) {
  JsonValue body = JsonValue::Object();
  body.Set("error", JsonValue::String(std::string(error)));
  body.Set("error_description", JsonValue::String(std::string(description)));
  return common::ToJson(body);
}

// Patient-level scopes mean nothing without a patient in context: they are not granted then.
ScopeSet WithoutPatientScopesUnless(const ScopeSet& scopes, bool have_patient) {
  if (have_patient) return scopes;
  std::string kept;
  for (const ResourceScope& s : scopes.resource_scopes()) {
    if (s.context != ScopeContext::kPatient) kept += s.ToString() + " ";
  }
  for (const std::string& o : scopes.others()) {
    if (o != "launch/patient") kept += o + " ";
  }
  return ScopeSet::Parse(kept);
}

}  // namespace

TokenService::TokenService(AuthStore& store, KeyRing& keys, const RoleCatalog& roles,
                           const common::Clock& clock, AuthSettings settings)
    : store_(store), keys_(keys), roles_(roles), clock_(clock), settings_(std::move(settings)) {}

void TokenService::Emit(const SecurityEvent& event) const {
  if (sink_) sink_(event);
}

OAuthReply TokenService::Refuse(std::string_view error, std::string description,
                                const SecurityEvent& event, int status) {
  SecurityEvent e = event;
  e.reason = std::string(error);
  Emit(e);
  return {status, ErrorBody(error, description)};
}

OAuthReply TokenService::Token(const Form& form, const Caller& caller) {
  std::string grant_type = FormValue(form, "grant_type");
  SecurityEvent event = MakeEvent(SecurityEvent::Kind::kTokenRefused, FormValue(form, "username"),
                                  FormValue(form, "client_id"), "", grant_type, caller);
  if (HasDuplicates(form)) {
    return Refuse("invalid_request", "A parameter was sent more than once", event);
  }
  if (grant_type == "client_credentials") return ClientCredentials(form, caller);
  if (grant_type == "authorization_code") return AuthorizationCodeGrant(form, caller);
  if (grant_type == "refresh_token") return RefreshTokenGrant(form, caller);
  if (grant_type == "password") return PasswordGrant(form, caller);
  if (grant_type.empty()) return Refuse("invalid_request", "grant_type is required", event);
  return Refuse("unsupported_grant_type",
                "Supported grant types: authorization_code, refresh_token, client_credentials, "
                "password (first-party devices)",
                event);
}

// --- client authentication (private_key_jwt) ---------------------------------------------------

common::Result<ClientRegistration> TokenService::AuthenticateClient(const Form& form) {
  auto fail = [](std::string m) { return Status(StatusCode::kUnauthenticated, std::move(m)); };
  if (FormValue(form, "client_assertion_type") != kJwtBearer) {
    return fail("client_assertion_type must be " + std::string(kJwtBearer));
  }
  std::string assertion = FormValue(form, "client_assertion");
  if (assertion.empty()) return fail("client_assertion is required");
  FOVEA_ASSIGN_OR_RETURN(DecodedJwt jwt, DecodeJwt(assertion, kMaxAssertionBytes));
  std::string iss = StringClaim(jwt.claims, "iss");
  std::string sub = StringClaim(jwt.claims, "sub");
  if (iss.empty() || iss != sub)
    return fail("The assertion's iss and sub must both be the client id");
  std::string claimed = FormValue(form, "client_id");
  if (!claimed.empty() && claimed != iss) return fail("client_id does not match the assertion");
  auto client = store_.FindClient(iss);
  if (!client.has_value()) {
    if (client.error().code() == StatusCode::kNotFound) return fail("Unknown client");
    return client.error();
  }
  if (client->disabled) return fail("The client is disabled");
  if (client->kind != ClientRegistration::Kind::kBackend) {
    return fail("The client is not registered for private_key_jwt authentication");
  }
  if (!AudienceIncludes(jwt.claims, settings_.TokenEndpoint())) {
    return fail("The assertion's aud must be the token endpoint " + settings_.TokenEndpoint());
  }
  auto exp = NumericClaim(jwt.claims, "exp");
  std::int64_t now = EpochSeconds(clock_.Now());
  if (!exp) return fail("The assertion has no exp");
  if (*exp + settings_.clock_skew.count() < now) return fail("The assertion has expired");
  if (*exp - now > settings_.max_assertion_lifetime.count() + settings_.clock_skew.count()) {
    return fail("The assertion's exp is more than five minutes ahead");
  }
  std::string jti = StringClaim(jwt.claims, "jti");
  if (jti.empty() || jti.size() > 256) return fail("The assertion needs a jti");
  auto verifies = [&jwt](const std::vector<JwsKey>& keys) {
    for (const JwsKey& key : keys) {
      if (!jwt.kid.empty() && !key.kid().empty() && key.kid() != jwt.kid) continue;
      if (key.alg() == jwt.alg && VerifyJwtSignature(jwt, key).ok()) return true;
    }
    return false;
  };
  bool verified = false;
  if (!client->jwks_json.empty()) {
    auto jwks = common::ParseJson(client->jwks_json);
    auto keys = jwks.has_value() ? ParseJwks(*jwks) : common::Result<std::vector<JwsKey>>(jwks.error());
    verified = keys.has_value() && verifies(*keys);
  }
  if (!verified && !client->jwks_url.empty()) {
    verified = verifies(PublishedKeys(client->jwks_url, false)) ||
               verifies(PublishedKeys(client->jwks_url, true));  // the client rotated its keys
  }
  if (!verified) return fail("The assertion's signature does not match the client's keys");
  // Only a verified assertion is remembered: junk cannot fill the table.
  common::TimePoint expires = common::TimePoint(std::chrono::seconds(*exp));
  FOVEA_ASSIGN_OR_RETURN(bool fresh, store_.UseAssertionId(iss, jti, expires));
  if (!fresh) return fail("The assertion was used before (jti replay)");
  return client;
}

// --- user authentication -------------------------------------------------------------------

common::Result<UserAccount> TokenService::CheckPassword(const std::string& username,
                                                        const std::string& password,
                                                        const std::string& client_id,
                                                        const Caller& caller) {
  SecurityEvent event =
      MakeEvent(SecurityEvent::Kind::kLoginFailed, username, client_id, "", "", caller);
  const Status wrong(StatusCode::kUnauthenticated, "Wrong user name or password");
  if (username.empty() || username.size() > 256 || password.size() > 1024) {
    Emit(event);
    return wrong;
  }
  auto user = store_.FindUser(username);
  if (!user.has_value()) {
    if (user.error().code() != StatusCode::kNotFound) return user.error();
    (void)VerifyPassword(password, DummyPasswordHash());  // same cost as a real check
    event.reason = "unknown user";
    Emit(event);
    return wrong;
  }
  common::TimePoint now = clock_.Now();
  bool locked = user->locked_until > now;
  bool ok = VerifyPassword(password, user->password_hash);
  if (!ok || locked || user->disabled) {
    if (!locked && !user->disabled) {
      (void)store_.RecordLogin(username, false, now, settings_.max_failed_logins,
                               settings_.lockout);
    }
    event.reason = locked           ? "account locked"
                   : user->disabled ? "account disabled"
                                    : "wrong password";
    event.fhir_user = user->fhir_user;
    Emit(event);
    // The same answer in every case: the caller learns nothing about the account.
    return wrong;
  }
  if (user->failed_logins > 0) {
    (void)store_.RecordLogin(username, true, now, settings_.max_failed_logins, settings_.lockout);
  }
  Emit(MakeEvent(SecurityEvent::Kind::kLogin, username, client_id, user->fhir_user, "", caller));
  return user;
}

std::vector<JwsKey> TokenService::PublishedKeys(const std::string& url, bool refetch) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(jwks_mu_);
    auto it = jwks_cache_.find(url);
    if (it != jwks_cache_.end()) {
      auto age = now - it->second.fetched_at;
      bool fresh = age < settings_.jwks_cache_lifetime;
      // A forced refetch only after the minimum interval: junk assertions cannot make Fovea
      // hammer a client's key server.
      if (fresh && (!refetch || age < settings_.jwks_min_refetch)) return it->second.keys;
    }
  }
  if (!fetch_jwks_) return {};
  auto text = fetch_jwks_(url);
  std::vector<JwsKey> keys;
  if (text.has_value()) {
    auto json = common::ParseJson(*text, {.max_depth = 16});
    if (json.has_value()) {
      auto parsed = ParseJwks(*json);
      if (parsed.has_value()) keys = std::move(parsed).value();
    }
  } else {
    common::LogWarning("fetching a client's JWKS failed: " + text.error().message());
  }
  std::lock_guard lock(jwks_mu_);
  FetchedJwks& entry = jwks_cache_[url];
  // A failed fetch keeps the keys known so far (the client's key server may be down briefly).
  if (!keys.empty() || entry.keys.empty()) entry.keys = keys;
  entry.fetched_at = now;
  return entry.keys;
}

ScopeSet TokenService::GrantedScopes(const std::vector<std::string>& roles,
                                     std::string_view requested) const {
  ScopeSet allowed = roles_.ScopesFor(roles);
  if (requested.empty()) return allowed;
  return allowed.Grant(ScopeSet::Parse(requested), kOtherScopes, granular_);
}

// --- grants --------------------------------------------------------------------------------

OAuthReply TokenService::ClientCredentials(const Form& form, const Caller& caller) {
  SecurityEvent event = MakeEvent(SecurityEvent::Kind::kTokenRefused, "",
                                  FormValue(form, "client_id"), "", "client_credentials", caller);
  auto client = AuthenticateClient(form);
  if (!client.has_value()) {
    if (client.error().code() != StatusCode::kUnauthenticated) {
      return Refuse("server_error", "Try again later", event, 503);
    }
    return Refuse("invalid_client", client.error().message(), event, 401);
  }
  event.client_id = client->client_id;
  ScopeSet scopes = GrantedScopes(client->roles, FormValue(form, "scope"));
  // System clients act for themselves: only system/ scopes.
  std::string system_only;
  for (const ResourceScope& s : scopes.resource_scopes()) {
    if (s.context == ScopeContext::kSystem) system_only += s.ToString() + " ";
  }
  scopes = ScopeSet::Parse(system_only);
  if (scopes.resource_scopes().empty()) {
    return Refuse("invalid_scope",
                  "None of the requested scopes is allowed for this client; ask for system/ "
                  "scopes its roles permit",
                  event);
  }
  Grant grant;
  grant.client_id = client->client_id;
  grant.roles = client->roles;
  grant.scopes = std::move(scopes);
  grant.caller = caller;
  return Issue(std::move(grant), "client_credentials");
}

OAuthReply TokenService::PasswordGrant(const Form& form, const Caller& caller) {
  std::string client_id = FormValue(form, "client_id");
  SecurityEvent event = MakeEvent(SecurityEvent::Kind::kTokenRefused, FormValue(form, "username"),
                                  client_id, "", "password", caller);
  auto client = store_.FindClient(client_id);
  if (!client.has_value() || client->disabled || !client->first_party) {
    return Refuse("unauthorized_client",
                  "The password grant is only for the unit's registered first-party devices", event,
                  401);
  }
  auto user =
      CheckPassword(FormValue(form, "username"), FormValue(form, "password"), client_id, caller);
  if (!user.has_value()) {
    if (user.error().code() != StatusCode::kUnauthenticated) {
      return Refuse("server_error", "Try again later", event, 503);
    }
    return Refuse("invalid_grant", user.error().message(), event);
  }
  Grant grant;
  grant.username = user->username;
  grant.client_id = client_id;
  grant.fhir_user = user->fhir_user;
  grant.roles = user->roles;
  grant.scopes =
      WithoutPatientScopesUnless(GrantedScopes(user->roles, FormValue(form, "scope")), false);
  grant.refresh = true;
  grant.caller = caller;
  return Issue(std::move(grant), "password");
}

OAuthReply TokenService::AuthorizationCodeGrant(const Form& form, const Caller& caller) {
  std::string client_id = FormValue(form, "client_id");
  SecurityEvent event = MakeEvent(SecurityEvent::Kind::kTokenRefused, "", client_id, "",
                                  "authorization_code", caller);
  std::string code = FormValue(form, "code");
  std::string verifier = FormValue(form, "code_verifier");
  if (code.empty() || code.size() > 512)
    return Refuse("invalid_request", "code is required", event);
  if (verifier.size() < 43 || verifier.size() > 128) {
    return Refuse("invalid_request", "code_verifier must be 43 to 128 characters (PKCE)", event);
  }
  auto record = store_.TakeCode(TokenHash(code));
  if (!record.has_value()) {
    if (record.error().code() != StatusCode::kNotFound) {
      return Refuse("server_error", "Try again later", event, 503);
    }
    return Refuse("invalid_grant", "The code is unknown, used or expired", event);
  }
  event.username = record->username;
  if (record->expires_at < clock_.Now()) {
    return Refuse("invalid_grant", "The code is unknown, used or expired", event);
  }
  if (record->client_id != client_id) {
    return Refuse("invalid_grant", "The code was issued to another client", event);
  }
  if (record->redirect_uri != FormValue(form, "redirect_uri")) {
    return Refuse("invalid_grant", "redirect_uri differs from the authorization request", event);
  }
  if (!ConstantTimeEquals(Base64UrlEncode(Sha256(verifier)), record->code_challenge)) {
    return Refuse("invalid_grant", "code_verifier does not match the code_challenge", event);
  }
  auto user = store_.FindUser(record->username);
  if (!user.has_value() || user->disabled) {
    return Refuse("invalid_grant", "The account is not active", event);
  }
  Grant grant;
  grant.username = user->username;
  grant.client_id = client_id;
  grant.fhir_user = user->fhir_user;
  grant.roles = user->roles;
  grant.patient = record->patient;
  grant.encounter = record->encounter;
  grant.scopes = ScopeSet::Parse(record->scope);
  grant.refresh = true;
  grant.caller = caller;
  return Issue(std::move(grant), "authorization_code");
}

OAuthReply TokenService::RefreshTokenGrant(const Form& form, const Caller& caller) {
  std::string client_id = FormValue(form, "client_id");
  SecurityEvent event =
      MakeEvent(SecurityEvent::Kind::kTokenRefused, "", client_id, "", "refresh_token", caller);
  std::string token = FormValue(form, "refresh_token");
  if (token.empty() || token.size() > 512) {
    return Refuse("invalid_request", "refresh_token is required", event);
  }
  auto record = store_.SpendRefreshToken(TokenHash(token));
  if (!record.has_value()) {
    if (record.error().code() != StatusCode::kNotFound) {
      return Refuse("server_error", "Try again later", event, 503);
    }
    return Refuse("invalid_grant", "The refresh token is unknown", event);
  }
  event.username = record->username;
  if (record->used || record->revoked) {
    // A spent token used again means two parties hold it: end the whole session.
    (void)store_.RevokeRefreshFamily(record->family);
    return Refuse("invalid_grant", "The refresh token was already used or revoked; log in again",
                  event);
  }
  if (record->expires_at < clock_.Now()) {
    return Refuse("invalid_grant", "The refresh token has expired; log in again", event);
  }
  if (record->client_id != client_id) {
    return Refuse("invalid_grant", "The refresh token was issued to another client", event);
  }
  auto user = store_.FindUser(record->username);
  if (!user.has_value() || user->disabled) {
    (void)store_.RevokeRefreshFamily(record->family);
    return Refuse("invalid_grant", "The account is not active", event);
  }
  ScopeSet scopes = ScopeSet::Parse(record->scope);
  std::string narrower = FormValue(form, "scope");
  if (!narrower.empty()) scopes = scopes.Grant(ScopeSet::Parse(narrower), kOtherScopes, granular_);
  Grant grant;
  grant.username = user->username;
  grant.client_id = client_id;
  grant.fhir_user = user->fhir_user;
  // Roles as they are now: a role removed since login no longer applies.
  grant.roles = user->roles;
  ScopeSet current = roles_.ScopesFor(user->roles).Grant(scopes, kOtherScopes, granular_);
  grant.scopes = std::move(current);
  grant.patient = record->patient;
  grant.encounter = record->encounter;
  grant.refresh = true;
  grant.refresh_family = record->family;
  grant.caller = caller;
  return Issue(std::move(grant), "refresh_token");
}

OAuthReply TokenService::Issue(Grant grant, std::string_view grant_type) {
  SecurityEvent event =
      MakeEvent(SecurityEvent::Kind::kTokenRefused, grant.username, grant.client_id,
                grant.fhir_user, std::string(grant_type), grant.caller);
  auto key = keys_.Signing();
  if (key == nullptr) return Refuse("server_error", "No signing key is available", event, 503);
  grant.scopes = WithoutPatientScopesUnless(grant.scopes, !grant.patient.empty());
  common::TimePoint now = clock_.Now();
  std::int64_t iat = EpochSeconds(now);
  std::int64_t exp = iat + settings_.access_token_lifetime.count();
  JsonValue claims = JsonValue::Object();
  claims.Set("iss", JsonValue::String(settings_.issuer));
  claims.Set("sub", JsonValue::String(grant.username.empty() ? grant.client_id : grant.username));
  claims.Set("aud", JsonValue::String(settings_.FhirBase()));
  claims.Set("iat", JsonValue::Number(std::to_string(iat)));
  claims.Set("exp", JsonValue::Number(std::to_string(exp)));
  claims.Set("jti", JsonValue::String(RandomToken(16)));
  claims.Set("client_id", JsonValue::String(grant.client_id));
  claims.Set("scope", JsonValue::String(grant.scopes.ToString()));
  claims.Set("principal", JsonValue::String(grant.username.empty() ? "client" : "user"));
  if (!grant.fhir_user.empty()) claims.Set("fhirUser", JsonValue::String(grant.fhir_user));
  if (!grant.patient.empty()) claims.Set("patient", JsonValue::String(grant.patient));
  if (!grant.encounter.empty()) claims.Set("encounter", JsonValue::String(grant.encounter));
  JsonValue roles = JsonValue::Array();
  for (const std::string& r : grant.roles) roles.Add(JsonValue::String(r));
  claims.Set("roles", std::move(roles));
  auto token = SignJwt(*key, claims);
  if (!token.has_value()) return Refuse("server_error", "Could not sign the token", event, 500);

  JsonValue body = JsonValue::Object();
  body.Set("access_token", JsonValue::String(*token));
  body.Set("token_type", JsonValue::String("Bearer"));
  body.Set("expires_in",
           JsonValue::Number(std::to_string(settings_.access_token_lifetime.count())));
  body.Set("scope", JsonValue::String(grant.scopes.ToString()));
  if (!grant.patient.empty()) {
    body.Set("patient", JsonValue::String(grant.patient));
    // SMART context: an app with a patient in context runs outside Fovea's screens, which
    // show who the patient is; the app must show it itself.
    body.Set("need_patient_banner", JsonValue::Bool(true));
  }
  if (!grant.encounter.empty()) body.Set("encounter", JsonValue::String(grant.encounter));
  if (grant.refresh) {
    std::string refresh = RandomToken(32);
    RefreshTokenRecord record;
    record.token_hash = TokenHash(refresh);
    record.family = grant.refresh_family.empty() ? RandomToken(16) : grant.refresh_family;
    record.username = grant.username;
    record.client_id = grant.client_id;
    record.scope = grant.scopes.ToString();
    record.patient = grant.patient;
    record.encounter = grant.encounter;
    record.expires_at = now + settings_.refresh_token_lifetime;
    if (!store_.SaveRefreshToken(record).ok()) {
      return Refuse("server_error", "Try again later", event, 503);
    }
    body.Set("refresh_token", JsonValue::String(refresh));
  }
  if (grant.scopes.Has("openid") && !grant.fhir_user.empty()) {
    JsonValue id = JsonValue::Object();
    id.Set("iss", JsonValue::String(settings_.issuer));
    id.Set("sub", JsonValue::String(grant.username));
    id.Set("aud", JsonValue::String(grant.client_id));
    id.Set("iat", JsonValue::Number(std::to_string(iat)));
    id.Set("exp", JsonValue::Number(std::to_string(exp)));
    if (grant.scopes.Has("fhirUser")) {
      id.Set("fhirUser", JsonValue::String(settings_.FhirBase() + "/" + grant.fhir_user));
    }
    auto id_token = SignJwt(*key, id);
    if (id_token.has_value()) body.Set("id_token", JsonValue::String(*id_token));
  }
  event.kind = SecurityEvent::Kind::kTokenIssued;
  Emit(event);
  return {200, common::ToJson(body)};
}

// --- authorization endpoint ----------------------------------------------------------------

common::Result<AuthorizeRequest> TokenService::CheckAuthorizeRequest(const Form& form) {
  auto invalid = [](std::string m) { return common::InvalidError(std::move(m)); };
  if (HasDuplicates(form)) return invalid("A parameter was sent more than once");
  AuthorizeRequest r;
  r.client_id = FormValue(form, "client_id");
  r.redirect_uri = FormValue(form, "redirect_uri");
  auto client = store_.FindClient(r.client_id);
  if (!client.has_value() || client->disabled ||
      client->kind != ClientRegistration::Kind::kPublic) {
    return invalid("Unknown application (client_id). Ask your administrator to register it.");
  }
  // Exact match only (OAuth 2.0 Security BCP §4.1): no prefixes, no wildcards.
  if (std::find(client->redirect_uris.begin(), client->redirect_uris.end(), r.redirect_uri) ==
      client->redirect_uris.end()) {
    return invalid("The redirect_uri is not registered for this application.");
  }
  if (FormValue(form, "response_type") != "code") {
    return invalid("response_type must be 'code'.");
  }
  r.code_challenge = FormValue(form, "code_challenge");
  if (FormValue(form, "code_challenge_method") != "S256" || r.code_challenge.size() != 43) {
    return invalid("PKCE is required: code_challenge_method=S256 with a code_challenge.");
  }
  // SMART App Launch 2.0 makes aud REQUIRED: an app names the FHIR server it means, so a token
  // meant for one server is never obtained (or phished) for another.
  r.aud = FormValue(form, "aud");
  if (r.aud != settings_.FhirBase() &&
      std::find(settings_.fhir_base_aliases.begin(), settings_.fhir_base_aliases.end(), r.aud) ==
          settings_.fhir_base_aliases.end()) {
    return invalid("aud must be this server's FHIR base URL " + settings_.FhirBase() + ".");
  }
  r.scope = FormValue(form, "scope");
  r.state = FormValue(form, "state");
  if (r.state.size() > 1024 || r.scope.size() > 4096) return invalid("Request too large.");
  std::string launch = FormValue(form, "launch");
  if (!launch.empty()) {
    auto context = VerifyLaunch(launch);
    if (!context.has_value()) {
      return invalid("This launch has expired or was not started by this server: start the "
                     "application again from Fovea.");
    }
    if (!ScopeSet::Parse(r.scope).Has("launch")) {
      return invalid("An application launched from Fovea must ask for the scope 'launch'.");
    }
    r.launch = std::move(context).value();
  }
  return r;
}

common::Result<std::string> TokenService::Approve(const AuthorizeRequest& request,
                                                  const std::string& username,
                                                  const std::string& password,
                                                  const std::string& patient,
                                                  const Caller& caller) {
  FOVEA_ASSIGN_OR_RETURN(UserAccount user,
                         CheckPassword(username, password, request.client_id, caller));
  // An EHR launch opens in the context its launcher chose, for that same person only.
  std::string context_patient = patient;
  std::string context_encounter;
  if (request.launch) {
    if (user.username != request.launch->username) {
      return Status(StatusCode::kUnauthenticated,
                    "This application was started from Fovea by another staff member: sign in "
                    "as that person, or start it again yourself.");
    }
    context_patient = request.launch->patient;
    context_encounter = request.launch->encounter;
  }
  ScopeSet scopes = WithoutPatientScopesUnless(GrantedScopes(user.roles, request.scope),
                                               !context_patient.empty());
  if (request.launch) scopes = ScopeSet::Parse(scopes.ToString() + " launch");
  std::string code = RandomToken(32);
  AuthorizationCodeRecord record;
  record.code_hash = TokenHash(code);
  record.client_id = request.client_id;
  record.username = user.username;
  record.redirect_uri = request.redirect_uri;
  record.code_challenge = request.code_challenge;
  record.scope = scopes.ToString();
  record.patient = context_patient;
  record.encounter = context_encounter;
  record.expires_at = clock_.Now() + settings_.code_lifetime;
  FOVEA_RETURN_IF_ERROR(store_.SaveCode(record));
  std::string url = request.redirect_uri;
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += "code=" + common::UrlEncode(code);
  if (!request.state.empty()) url += "&state=" + common::UrlEncode(request.state);
  return url;
}

// --- EHR launch ----------------------------------------------------------------------------

namespace {

// A FHIR id (R4 id datatype), given bare or as "Type/id".
std::optional<std::string> LaunchId(std::string_view value, std::string_view type) {
  std::string prefix = std::string(type) + "/";
  if (value.rfind(prefix, 0) == 0) value.remove_prefix(prefix.size());
  if (!fhir::model::LogicalId::IsValid(value)) return std::nullopt;
  return std::string(value);
}

constexpr std::string_view kLaunchUse = "smart-ehr-launch";

}  // namespace

common::Result<std::string> TokenService::CreateLaunch(const Principal& launcher,
                                                       const std::string& patient,
                                                       const std::string& encounter) {
  if (launcher.kind != Principal::Kind::kUser || launcher.subject.empty()) {
    return Status(StatusCode::kForbidden, "Only a signed-in staff member launches applications");
  }
  auto patient_id = LaunchId(patient, "Patient");
  if (!patient_id) return common::InvalidError("patient must be a Patient id");
  std::optional<std::string> encounter_id;
  if (!encounter.empty()) {
    encounter_id = LaunchId(encounter, "Encounter");
    if (!encounter_id) return common::InvalidError("encounter must be an Encounter id");
  }
  // The launcher hands on a context it can see itself.
  Reach reach = launcher.ReachFor("Patient", Permission::kRead);
  if (reach == Reach::kNone || (reach == Reach::kPatientCompartment && launcher.patient != *patient_id)) {
    return Status(StatusCode::kForbidden, "This token may not read that patient");
  }
  auto key = keys_.Signing();
  if (key == nullptr) return Status(StatusCode::kUnavailable, "No signing key is available");
  std::int64_t now = EpochSeconds(clock_.Now());
  JsonValue claims = JsonValue::Object();
  claims.Set("iss", JsonValue::String(settings_.issuer));
  claims.Set("aud", JsonValue::String(settings_.LaunchEndpoint()));
  claims.Set("sub", JsonValue::String(launcher.subject));
  claims.Set("use", JsonValue::String(std::string(kLaunchUse)));
  claims.Set("patient", JsonValue::String(*patient_id));
  if (encounter_id) claims.Set("encounter", JsonValue::String(*encounter_id));
  claims.Set("iat", JsonValue::Number(std::to_string(now)));
  claims.Set("exp", JsonValue::Number(std::to_string(now + settings_.launch_lifetime.count())));
  claims.Set("jti", JsonValue::String(RandomToken(12)));
  return SignJwt(*key, claims);
}

common::Result<LaunchContext> TokenService::VerifyLaunch(std::string_view launch) const {
  auto fail = [] { return Status(StatusCode::kUnauthenticated, "not a launch of this server"); };
  auto jwt = DecodeJwt(launch, kMaxTokenBytes);
  if (!jwt.has_value()) return fail();
  auto key = keys_.Find(jwt->kid);
  if (key == nullptr || !VerifyJwtSignature(*jwt, *key).ok()) return fail();
  // Not an access token, nor anything else this server signs: its own audience and use.
  if (StringClaim(jwt->claims, "iss") != settings_.issuer ||
      !AudienceIncludes(jwt->claims, settings_.LaunchEndpoint()) ||
      StringClaim(jwt->claims, "use") != kLaunchUse) {
    return fail();
  }
  auto exp = NumericClaim(jwt->claims, "exp");
  if (!exp || *exp <= EpochSeconds(clock_.Now())) return fail();
  LaunchContext context;
  context.username = StringClaim(jwt->claims, "sub");
  context.patient = StringClaim(jwt->claims, "patient");
  context.encounter = StringClaim(jwt->claims, "encounter");
  if (context.username.empty() || context.patient.empty()) return fail();
  return context;
}

// --- revocation and verification -----------------------------------------------------------

OAuthReply TokenService::Revoke(const Form& form, const Caller& caller) {
  std::string token = FormValue(form, "token");
  SecurityEvent event = MakeEvent(SecurityEvent::Kind::kTokenRevoked, "",
                                  FormValue(form, "client_id"), "", "", caller);
  if (token.empty() || token.size() > kMaxTokenBytes) {
    return Refuse("invalid_request", "token is required", event);
  }
  if (std::count(token.begin(), token.end(), '.') == 2) {
    // An access token of ours: remember its id until it would have expired anyway.
    auto jwt = DecodeJwt(token, kMaxTokenBytes);
    if (jwt.has_value()) {
      auto key = keys_.Find(jwt->kid);
      auto exp = NumericClaim(jwt->claims, "exp");
      std::string jti = StringClaim(jwt->claims, "jti");
      if (key != nullptr && VerifyJwtSignature(*jwt, *key).ok() && exp && !jti.empty()) {
        if (!store_.RevokeAccessToken(jti, common::TimePoint(std::chrono::seconds(*exp))).ok()) {
          return Refuse("server_error", "Try again later", event, 503);
        }
        std::lock_guard lock(cache_mu_);
        revoked_.insert(jti);
        ++revocation_generation_;
        event.username = StringClaim(jwt->claims, "sub");
      }
    }
  } else if (!store_.RevokeRefreshToken(TokenHash(token)).ok()) {
    return Refuse("server_error", "Try again later", event, 503);
  }
  Emit(event);
  return {200, ""};
}

OAuthReply TokenService::Introspect(const Form& form) {
  std::string token = FormValue(form, "token");
  if (token.empty()) return {400, ErrorBody("invalid_request", "token is required")};
  auto principal = Authenticate(token);
  if (!principal.has_value()) {
    if (principal.error().code() != StatusCode::kUnauthenticated) {
      return {503, ErrorBody("server_error", "Try again later")};
    }
    return {200, R"({"active":false})"};
  }
  JsonValue body = JsonValue::Object();
  body.Set("active", JsonValue::Bool(true));
  body.Set("scope", JsonValue::String(principal->scopes.ToString()));
  body.Set("client_id", JsonValue::String(principal->client_id));
  if (principal->kind == Principal::Kind::kUser) {
    body.Set("username", JsonValue::String(principal->subject));
  }
  body.Set("token_type", JsonValue::String("Bearer"));
  body.Set("exp", JsonValue::Number(std::to_string(EpochSeconds(principal->expires_at))));
  body.Set("sub", JsonValue::String(principal->subject));
  body.Set("aud", JsonValue::String(settings_.FhirBase()));
  body.Set("iss", JsonValue::String(settings_.issuer));
  if (!principal->patient.empty()) body.Set("patient", JsonValue::String(principal->patient));
  if (!principal->encounter.empty()) {
    body.Set("encounter", JsonValue::String(principal->encounter));
  }
  if (!principal->fhir_user.empty()) {
    body.Set("fhirUser", JsonValue::String(settings_.FhirBase() + "/" + principal->fhir_user));
  }
  return {200, common::ToJson(body)};
}

void TokenService::RefreshRevocations() {
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  auto last = revocations_loaded_.load(std::memory_order_relaxed);
  const auto refresh =
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(kRevocationRefresh).count();
  if (last != kNeverLoaded && now - last < refresh) return;
  // One thread refreshes; the others go on with the set they have.
  if (!revocations_loaded_.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;
  auto ids = store_.RevokedAccessTokens();
  if (!ids.has_value()) return;  // keep the last known set; tokens are short-lived anyway
  std::lock_guard lock(cache_mu_);
  bool added = false;
  for (std::string& id : *ids) added |= revoked_.insert(std::move(id)).second;
  if (added) ++revocation_generation_;
}

common::Result<Principal> TokenService::Authenticate(std::string_view access_token) {
  FOVEA_ASSIGN_OR_RETURN(std::shared_ptr<const Principal> principal,
                         AuthenticateShared(access_token));
  return *principal;
}

common::Result<std::shared_ptr<const Principal>> TokenService::AuthenticateShared(
    std::string_view access_token) {
  auto fail = [](std::string m) { return Status(StatusCode::kUnauthenticated, std::move(m)); };
  if (access_token.empty()) return fail("No access token");
  if (access_token.size() > kMaxTokenBytes) return fail("The access token is too long");
  RefreshRevocations();
  common::TimePoint now = clock_.Now();
  // The token this thread verified last. A kept-alive connection sends the same token with
  // every request and one thread serves them all (HttpServer), so this answers almost every
  // request without the shared cache's lock and hash (docs/PERFORMANCE.md, security). Trusted
  // only for this service, the whole token equal, and no revocation since it was checked (the
  // generation is read before the revoked set, so a revocation racing the check moves it).
  struct LastVerified {
    std::uint64_t service = 0;
    std::uint64_t generation = 0;
    std::string token;
    std::shared_ptr<const Principal> principal;
  };
  thread_local LastVerified last;
  const std::uint64_t generation = revocation_generation_.load();
  if (last.principal && last.service == instance_id_ && last.generation == generation &&
      last.token == access_token) {
    if (last.principal->expires_at <= now) return fail("The access token has expired");
    return last.principal;
  }
  auto remember = [&](std::shared_ptr<const Principal> principal) {
    last.service = instance_id_;
    last.generation = generation;
    last.token.assign(access_token);
    last.principal = principal;
    return principal;
  };
  // Keyed by the whole token: a token that differs anywhere, even with the same signature,
  // is verified afresh. Looked up without copying the token.
  std::shared_ptr<const Principal> cached;
  {
    std::lock_guard lock(cache_mu_);
    auto it = verified_.find(access_token);
    if (it != verified_.end()) {
      if (revoked_.count(it->second->token_id) > 0) return fail("The access token was revoked");
      cached = it->second;
    }
  }
  if (cached) {
    if (cached->expires_at <= now) return fail("The access token has expired");
    return remember(std::move(cached));
  }
  FOVEA_ASSIGN_OR_RETURN(DecodedJwt jwt, DecodeJwt(access_token, kMaxTokenBytes));
  auto key = keys_.Find(jwt.kid);
  if (key == nullptr) return fail("The access token was not issued by this server");
  FOVEA_RETURN_IF_ERROR(VerifyJwtSignature(jwt, *key));
  if (StringClaim(jwt.claims, "iss") != settings_.issuer) {
    return fail("The access token was not issued by this server");
  }
  if (!AudienceIncludes(jwt.claims, settings_.FhirBase())) {
    return fail("The access token is for another audience");
  }
  auto exp = NumericClaim(jwt.claims, "exp");
  if (!exp || *exp <= EpochSeconds(now)) return fail("The access token has expired");
  Principal p;
  p.kind = StringClaim(jwt.claims, "principal") == "client" ? Principal::Kind::kClient
                                                            : Principal::Kind::kUser;
  p.subject = StringClaim(jwt.claims, "sub");
  p.client_id = StringClaim(jwt.claims, "client_id");
  p.fhir_user = StringClaim(jwt.claims, "fhirUser");
  p.patient = StringClaim(jwt.claims, "patient");
  p.encounter = StringClaim(jwt.claims, "encounter");
  p.scopes = ScopeSet::Parse(StringClaim(jwt.claims, "scope"));
  p.token_id = StringClaim(jwt.claims, "jti");
  p.expires_at = common::TimePoint(std::chrono::seconds(*exp));
  if (const JsonValue* roles = jwt.claims.Find("roles"); roles != nullptr && roles->is_array()) {
    for (const JsonValue& r : roles->items()) p.roles.push_back(r.scalar());
  }
  std::lock_guard lock(cache_mu_);
  if (revoked_.count(p.token_id) > 0) return fail("The access token was revoked");
  if (verified_.size() >= kMaxVerifiedTokens) verified_.clear();
  auto shared = std::make_shared<const Principal>(std::move(p));
  verified_.emplace(std::string(access_token), shared);
  return remember(std::move(shared));
}

}  // namespace fhir::auth
