#include "fhir/rest/oauth_service.h"

#include <strings.h>

#include "common/json.h"
#include "common/url.h"
#include "fhir/rest/outcome.h"

namespace fhir::rest {
namespace {

using common::JsonValue;

constexpr const char* kJson = "application/json; charset=utf-8";
constexpr const char* kHtml = "text/html; charset=utf-8";
// The OAuth parameters the login form carries through as hidden fields.
constexpr const char* kAuthorizeParams[] = {"response_type", "client_id",      "redirect_uri",
                                            "scope",         "state",          "aud",
                                            "code_challenge", "code_challenge_method", "launch"};

auth::Caller CallerOf(const RestRequest& req) { return {req.peer_address, req.request_id}; }

bool IsFormEncoded(const RestRequest& req) {
  std::string_view ct = req.Header("Content-Type");
  constexpr std::string_view kForm = "application/x-www-form-urlencoded";
  return ct.size() >= kForm.size() && strncasecmp(ct.data(), kForm.data(), kForm.size()) == 0;
}

// Token responses carry credentials: never cached (RFC 6749 §5.1).
void NoStore(RestResponse& res) {
  res.SetHeader("Cache-Control", "no-store");
  res.SetHeader("Pragma", "no-cache");
}

RestResponse JsonReply(int status, std::string body) {
  RestResponse res;
  res.status = status;
  if (!body.empty()) {
    res.content_type = kJson;
    res.body = std::move(body);
  }
  NoStore(res);
  return res;
}

RestResponse OAuthError(int status, std::string_view error, std::string_view description) {
  JsonValue body = JsonValue::Object();
  body.Set("error", JsonValue::String(std::string(error)));
  body.Set("error_description", JsonValue::String(std::string(description)));
  return JsonReply(status, common::ToJson(body));
}

// 401 for an endpoint that wants the caller's own bearer token.
RestResponse BearerChallenge(std::string_view error, std::string_view description) {
  RestResponse res = OAuthError(401, error, description);
  res.SetHeader("WWW-Authenticate", "Bearer realm=\"fovea\"");
  return res;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

RestResponse HtmlPage(int status, const std::string& body) {
  RestResponse res;
  res.status = status;
  res.content_type = kHtml;
  res.body = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
             "<title>Fovea sign-in</title><style>body{font-family:system-ui,sans-serif;"
             "max-width:24rem;margin:3rem auto;padding:0 1rem}label{display:block;margin:.8rem 0 .2rem}"
             "input{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}"
             "button{margin-top:1rem;padding:.6rem 1.2rem;font-size:1rem}.error{color:#a00}"
             "</style></head><body><h1>Fovea</h1>" +
             body + "</body></html>";
  // The page takes a password: no framing (clickjacking), no scripts, no caching.
  res.SetHeader("Content-Security-Policy",
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                "frame-ancestors 'none'");
  res.SetHeader("X-Frame-Options", "DENY");
  res.SetHeader("Referrer-Policy", "no-referrer");
  NoStore(res);
  return res;
}

std::string LoginForm(const auth::Form& params, const std::string& error) {
  std::string html = "<p>Sign in to continue to the application.</p>";
  if (!error.empty()) html += "<p class=\"error\" role=\"alert\">" + HtmlEscape(error) + "</p>";
  html += "<form method=\"post\" action=\"/auth/authorize\">";
  for (const char* name : kAuthorizeParams) {
    std::string_view value = common::FirstValue(params, name);
    if (value.empty()) continue;
    html += "<input type=\"hidden\" name=\"" + std::string(name) + "\" value=\"" +
            HtmlEscape(value) + "\">";
  }
  html += "<label for=\"username\">User name</label>"
          "<input id=\"username\" name=\"username\" autocomplete=\"username\" required>"
          "<label for=\"password\">Password</label>"
          "<input id=\"password\" name=\"password\" type=\"password\" "
          "autocomplete=\"current-password\" required>";
  std::string_view scope = common::FirstValue(params, "scope");
  // An EHR launch brings its patient; a standalone patient-level app needs one chosen here.
  bool standalone = common::FirstValue(params, "launch").empty();
  if (standalone && (scope.find("patient/") != std::string::npos ||
                     scope.find("launch/patient") != std::string::npos)) {
    html += "<label for=\"patient\">Patient id (for a patient-level application)</label>"
            "<input id=\"patient\" name=\"patient\" value=\"" +
            HtmlEscape(common::FirstValue(params, "patient")) + "\">";
  }
  html += "<button type=\"submit\">Sign in</button></form>";
  return html;
}

}  // namespace

std::string OAuthService::SmartConfigurationJson() const {
  const auth::AuthSettings& s = tokens_.settings();
  auto strings = [](std::initializer_list<const char*> values) {
    JsonValue a = JsonValue::Array();
    for (const char* v : values) a.Add(JsonValue::String(v));
    return a;
  };
  JsonValue c = JsonValue::Object();
  c.Set("issuer", JsonValue::String(s.issuer));
  c.Set("jwks_uri", JsonValue::String(s.JwksUri()));
  c.Set("authorization_endpoint", JsonValue::String(s.AuthorizeEndpoint()));
  c.Set("token_endpoint", JsonValue::String(s.TokenEndpoint()));
  c.Set("revocation_endpoint", JsonValue::String(s.RevokeEndpoint()));
  c.Set("introspection_endpoint", JsonValue::String(s.IntrospectEndpoint()));
  c.Set("token_endpoint_auth_methods_supported", strings({"private_key_jwt", "none"}));
  c.Set("token_endpoint_auth_signing_alg_values_supported",
        strings({"RS384", "ES384", "RS256", "ES256"}));
  c.Set("grant_types_supported",
        strings({"authorization_code", "refresh_token", "client_credentials", "password"}));
  c.Set("scopes_supported",
        strings({"openid", "fhirUser", "launch", "launch/patient", "offline_access", "online_access",
                 "patient/*.rs", "user/*.cruds", "system/*.cruds", "user/AuditEvent.rs",
                 "system/AuditEvent.rs"}));
  c.Set("response_types_supported", strings({"code"}));
  c.Set("code_challenge_methods_supported", strings({"S256"}));
  c.Set("capabilities",
        strings({"launch-standalone", "launch-ehr", "authorize-post", "client-public",
                 "sso-openid-connect", "client-confidential-asymmetric",
                 "context-standalone-patient", "context-ehr-patient", "context-ehr-encounter",
                 "permission-offline", "permission-online", "permission-patient",
                 "permission-user", "permission-v1", "permission-v2"}));
  return common::ToJson(c);
}

RestResponse OAuthService::Handle(const RestRequest& req) const {
  const std::string& path = req.path;
  constexpr std::string_view kWellKnown = "/.well-known/smart-configuration";
  bool discovery = path == kWellKnown || path == std::string(kFhirBasePath) + std::string(kWellKnown);
  if (discovery) {
    if (req.method != "GET" && req.method != "HEAD") return OAuthError(405, "invalid_request", "Use GET");
    RestResponse res;
    res.content_type = kJson;
    res.body = SmartConfigurationJson();
    return res;
  }
  if (path == "/.well-known/openid-configuration") {
    RestResponse res;
    res.content_type = kJson;
    res.body = OpenIdConfigurationJson();
    return res;
  }
  if (path == "/auth/jwks") {
    RestResponse res;
    res.content_type = kJson;
    res.body = keys_.JwksJson();
    res.SetHeader("Cache-Control", "max-age=300");
    return res;
  }
  if (int retry = limiter_.Acquire(req.peer_address); retry > 0) {
    RestResponse res = OAuthError(429, "slow_down", "Too many requests; retry later");
    res.SetHeader("Retry-After", std::to_string(retry));
    return res;
  }
  if (path == "/auth/token") return Token(req);
  if (path == "/auth/revoke") return Revoke(req);
  if (path == "/auth/introspect") return Introspect(req);
  if (path == "/auth/authorize") return Authorize(req);
  if (path == "/auth/launch") return Launch(req);
  return OAuthError(404, "invalid_request", "Unknown authorization server endpoint");
}

RestResponse OAuthService::Token(const RestRequest& req) const {
  if (req.method != "POST") return OAuthError(405, "invalid_request", "The token endpoint takes POST");
  if (!IsFormEncoded(req)) {
    return OAuthError(400, "invalid_request",
                      "Send the parameters as application/x-www-form-urlencoded");
  }
  auth::OAuthReply reply = tokens_.Token(ParseQueryString(req.body), CallerOf(req));
  RestResponse res = JsonReply(reply.status, std::move(reply.body));
  if (reply.status == 401) res.SetHeader("WWW-Authenticate", "Bearer realm=\"fovea\"");
  return res;
}

RestResponse OAuthService::Revoke(const RestRequest& req) const {
  if (req.method != "POST") return OAuthError(405, "invalid_request", "The revocation endpoint takes POST");
  if (!IsFormEncoded(req)) {
    return OAuthError(400, "invalid_request",
                      "Send the parameters as application/x-www-form-urlencoded");
  }
  auth::OAuthReply reply = tokens_.Revoke(ParseQueryString(req.body), CallerOf(req));
  return JsonReply(reply.status, std::move(reply.body));
}

// RFC 7662 §2.1: the endpoint must be protected, or it would let anyone scan for tokens. A
// resource server (or any caller) proves itself with a valid access token of its own.
RestResponse OAuthService::Introspect(const RestRequest& req) const {
  if (req.method != "POST") return OAuthError(405, "invalid_request", "The introspection endpoint takes POST");
  std::string_view token = req.BearerToken();
  if (token.empty() || !tokens_.Authenticate(token).has_value()) {
    return BearerChallenge("invalid_client", "Authenticate with a bearer token");
  }
  if (!IsFormEncoded(req)) {
    return OAuthError(400, "invalid_request",
                      "Send the parameters as application/x-www-form-urlencoded");
  }
  auth::OAuthReply reply = tokens_.Introspect(ParseQueryString(req.body));
  return JsonReply(reply.status, std::move(reply.body));
}

// The EHR side of an EHR launch: a staff member (its console, or any app it signed in to)
// asks for a `launch` value, then opens the app at its launch URL with `iss` and `launch`.
RestResponse OAuthService::Launch(const RestRequest& req) const {
  if (req.method != "POST") return OAuthError(405, "invalid_request", "The launch endpoint takes POST");
  auto launcher = tokens_.Authenticate(req.BearerToken());
  if (!launcher.has_value()) {
    return BearerChallenge("invalid_token", "Sign in first: send your access token");
  }
  if (!IsFormEncoded(req)) {
    return OAuthError(400, "invalid_request",
                      "Send patient (and encounter) as application/x-www-form-urlencoded");
  }
  auth::Form form = ParseQueryString(req.body);
  auto launch = tokens_.CreateLaunch(*launcher, std::string(common::FirstValue(form, "patient")),
                                     std::string(common::FirstValue(form, "encounter")));
  if (!launch.has_value()) {
    switch (launch.error().code()) {
      case common::StatusCode::kForbidden:
        return OAuthError(403, "access_denied", launch.error().message());
      case common::StatusCode::kInvalid:
        return OAuthError(400, "invalid_request", launch.error().message());
      default:
        return OAuthError(503, "temporarily_unavailable", "Try again later");
    }
  }
  JsonValue body = JsonValue::Object();
  body.Set("launch", JsonValue::String(*launch));
  body.Set("iss", JsonValue::String(tokens_.settings().FhirBase()));
  body.Set("expires_in",
           JsonValue::Number(std::to_string(tokens_.settings().launch_lifetime.count())));
  return JsonReply(200, common::ToJson(body));  // a credential of sorts: not cached
}

// OpenID Connect discovery: Fovea issues id_tokens (scope openid) signed with its JWKS.
std::string OAuthService::OpenIdConfigurationJson() const {
  const auth::AuthSettings& s = tokens_.settings();
  JsonValue c = JsonValue::Object();
  c.Set("issuer", JsonValue::String(s.issuer));
  c.Set("authorization_endpoint", JsonValue::String(s.AuthorizeEndpoint()));
  c.Set("token_endpoint", JsonValue::String(s.TokenEndpoint()));
  c.Set("jwks_uri", JsonValue::String(s.JwksUri()));
  JsonValue code = JsonValue::Array();
  code.Add(JsonValue::String("code"));
  c.Set("response_types_supported", std::move(code));
  JsonValue subject = JsonValue::Array();
  subject.Add(JsonValue::String("public"));
  c.Set("subject_types_supported", std::move(subject));
  JsonValue algs = JsonValue::Array();
  algs.Add(JsonValue::String("RS256"));
  c.Set("id_token_signing_alg_values_supported", std::move(algs));
  JsonValue scopes = JsonValue::Array();
  for (const char* scope : {"openid", "fhirUser"}) scopes.Add(JsonValue::String(scope));
  c.Set("scopes_supported", std::move(scopes));
  return common::ToJson(c);
}

RestResponse OAuthService::Authorize(const RestRequest& req) const {
  auth::Form params;
  if (req.method == "GET") {
    params = req.query;
  } else if (req.method == "POST") {
    if (!IsFormEncoded(req)) return HtmlPage(400, "<p class=\"error\">Unsupported form encoding.</p>");
    params = ParseQueryString(req.body);
  } else {
    return HtmlPage(405, "<p class=\"error\">Method not allowed.</p>");
  }
  // Credentials are not authorization parameters.
  auth::Form oauth;
  for (const auto& kv : params) {
    if (kv.first != "username" && kv.first != "password" && kv.first != "patient") {
      oauth.push_back(kv);
    }
  }
  auto request = tokens_.CheckAuthorizeRequest(oauth);
  if (!request.has_value()) {
    return HtmlPage(400, "<p class=\"error\" role=\"alert\">" +
                             HtmlEscape(request.error().message()) + "</p>");
  }
  std::string username(common::FirstValue(params, "username"));
  if (req.method == "GET" || username.empty()) return HtmlPage(200, LoginForm(params, ""));
  auto redirect = tokens_.Approve(*request, username,
                                  std::string(common::FirstValue(params, "password")),
                                  std::string(common::FirstValue(params, "patient")), CallerOf(req));
  if (!redirect.has_value()) {
    if (redirect.error().code() == common::StatusCode::kUnauthenticated) {
      return HtmlPage(401, LoginForm(params, redirect.error().message()));
    }
    return HtmlPage(503, "<p class=\"error\">Sign-in is unavailable right now; try again.</p>");
  }
  RestResponse res;
  res.status = 302;
  res.SetHeader("Location", *redirect);
  NoStore(res);
  return res;
}

}  // namespace fhir::rest
