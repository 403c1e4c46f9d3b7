#include "server/conformance_command.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>

#include "common/json.h"
#include "common/url.h"
#include "conformance/engine/executor.h"
#include "conformance/engine/reports.h"
#include "conformance/engine/suites.h"
#include "conformance/engine/test_script.h"
#include "fhir/auth/crypto/jose.h"

namespace server {

namespace {

namespace engine = conformance::engine;

constexpr const char* kUsage =
    "usage: fovea conformance run --base URL [options] SUITE_OR_FILE...\n"
    "  SUITE_OR_FILE    a TestScript (JSON or XML), a directory of them, or a shipped suite:\n"
    "                   core, search, transactions, subscriptions, screening\n"
    "  --auth-token T   send 'Authorization: Bearer T'\n"
    "  --client-id ID --private-key FILE [--key-alg RS384|ES384|...] [--kid KID]\n"
    "        [--scope S] [--token-url URL]   (or --client-credentials ID:FILE)\n"
    "                   SMART backend services (client_credentials, private_key_jwt)\n"
    "  --junit FILE     JUnit XML for CI\n"
    "  --report FILE|DIR  the TestReports: a collection Bundle in FILE, or one\n"
    "                   TestReport-<script id>.json per script in DIR (ends in / or exists)\n"
    "  --html FILE      a single-page HTML report\n"
    "  --var NAME=VALUE give a TestScript variable a value (overrides its default)\n"
    "  --fixtures DIR   also look for fixture files here\n"
    "  --timeout S      seconds to wait for a callback (default 30)\n"
    "  --ca-file FILE   also trust these PEM certificates for https:// and wss://\n"
    "  --receiver-bind ADDR  where the callback receiver listens (default 127.0.0.1)\n"
    "  --receiver-url URL    the receiver's URL as the server must call it (tunnel, NAT)\n"
    "  --destination N=URL   send operations with destination N to URL (default --base)\n"
    "  --verbose        list passed asserts too\n"
    "exit: 0 all passed, 1 failures, 3 skips only, 2 usage/unreadable script/unreachable server\n";

bool WriteFile(const std::string& path, const std::string& text, std::ostream& err) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  if (!f) {
    err << "fovea conformance: cannot write " << path << "\n";
    return false;
  }
  return true;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct ClientCredentials {
  std::string client_id;
  std::string private_key;
  std::string alg = "RS384";
  std::string kid;
  std::string scope = "system/*.*";
  std::string token_url;
};

// SMART backend services: a signed client assertion for an access token.
common::Result<std::string> FetchToken(engine::HttpTransport& http, const std::string& base,
                                       const ClientCredentials& cc) {
  std::string token_url = cc.token_url;
  if (token_url.empty()) {
    engine::HttpRequest req{"GET", base + "/.well-known/smart-configuration",
                            {{"Accept", "application/json"}}, ""};
    FOVEA_ASSIGN_OR_RETURN(auto res, http.Send(req));
    auto config = common::ParseJson(res.body);
    const common::JsonValue* te = config.has_value() ? config->Find("token_endpoint") : nullptr;
    if (res.status != 200 || te == nullptr) {
      return common::InvalidError("no token_endpoint in " + req.url + " (give --token-url)");
    }
    token_url = te->scalar();
  }
  auto alg = fhir::auth::ParseJwsAlgorithm(cc.alg);
  if (!alg) return common::InvalidError("unsupported --key-alg " + cc.alg);
  std::string pem = ReadText(cc.private_key);
  if (pem.empty()) return common::InvalidError("cannot read --private-key " + cc.private_key);
  FOVEA_ASSIGN_OR_RETURN(auto key, fhir::auth::JwsKey::FromPem(pem, *alg, cc.kid));
  long long now = static_cast<long long>(std::time(nullptr));
  common::JsonValue claims = common::JsonValue::Object();
  claims.Set("iss", common::JsonValue::String(cc.client_id));
  claims.Set("sub", common::JsonValue::String(cc.client_id));
  claims.Set("aud", common::JsonValue::String(token_url));
  claims.Set("exp", common::JsonValue::Number(std::to_string(now + 240)));
  // A fresh jti per assertion: servers refuse a replayed one (two runs in the same second).
  std::random_device rd;
  claims.Set("jti", common::JsonValue::String("fovea-conformance-" + std::to_string(now) + "-" +
                                              std::to_string(rd()) + std::to_string(rd())));
  FOVEA_ASSIGN_OR_RETURN(std::string assertion, fhir::auth::SignJwt(key, claims));
  engine::HttpRequest req;
  req.method = "POST";
  req.url = token_url;
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"}};
  req.body = common::BuildQueryString(
      {{"grant_type", "client_credentials"},
       {"scope", cc.scope},
       {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
       {"client_assertion", assertion}});
  FOVEA_ASSIGN_OR_RETURN(auto res, http.Send(req));
  auto body = common::ParseJson(res.body);
  const common::JsonValue* token = body.has_value() ? body->Find("access_token") : nullptr;
  if (res.status != 200 || token == nullptr) {
    return common::InvalidError("the token endpoint answered " + std::to_string(res.status) +
                                ": " + res.body.substr(0, 300));
  }
  return token->scalar();
}

}  // namespace

int RunConformanceCommand(const std::vector<std::string>& args, std::ostream& out,
                          std::ostream& err) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? err : out) << kUsage;
    return args.empty() ? 2 : 0;
  }
  if (args[0] != "run") {
    err << "fovea conformance: unknown subcommand '" << args[0] << "'\n" << kUsage;
    return 2;
  }
  engine::RunOptions options;
  std::string junit, report, html, auth_token;
  std::optional<ClientCredentials> cc;
  bool verbose = false;
  std::vector<std::string> inputs;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& into) {
      if (i + 1 >= args.size()) {
        err << "fovea conformance: " << a << " needs a value\n" << kUsage;
        return false;
      }
      into = args[++i];
      return true;
    };
    auto cc_value = [&](std::string ClientCredentials::*field) {
      if (!cc) cc.emplace();
      return value((*cc).*field);
    };
    bool ok = true;
    if (a == "--base") ok = value(options.base);
    else if (a == "--auth-token") ok = value(auth_token);
    else if (a == "--junit") ok = value(junit);
    else if (a == "--report") ok = value(report);
    else if (a == "--html") ok = value(html);
    else if (a == "--client-id") ok = cc_value(&ClientCredentials::client_id);
    else if (a == "--client-credentials") {
      // Shorthand: --client-credentials CLIENT_ID:KEY.pem
      std::string v;
      ok = value(v);
      std::size_t colon = v.find(':');
      if (ok && (colon == std::string::npos || colon == 0 || colon + 1 == v.size())) {
        err << "fovea conformance: --client-credentials wants CLIENT_ID:PRIVATE_KEY_FILE\n";
        return 2;
      }
      if (ok) {
        if (!cc) cc.emplace();
        cc->client_id = v.substr(0, colon);
        cc->private_key = v.substr(colon + 1);
      }
    }
    else if (a == "--private-key") ok = cc_value(&ClientCredentials::private_key);
    else if (a == "--key-alg") ok = cc_value(&ClientCredentials::alg);
    else if (a == "--kid") ok = cc_value(&ClientCredentials::kid);
    else if (a == "--scope") ok = cc_value(&ClientCredentials::scope);
    else if (a == "--token-url") ok = cc_value(&ClientCredentials::token_url);
    else if (a == "--verbose" || a == "-v") verbose = true;
    else if (a == "--var") {
      std::string kv;
      ok = value(kv);
      std::size_t eq = kv.find('=');
      if (ok && (eq == std::string::npos || eq == 0)) {
        err << "fovea conformance: --var wants NAME=VALUE\n";
        return 2;
      }
      if (ok) options.variables[kv.substr(0, eq)] = kv.substr(eq + 1);
    } else if (a == "--fixtures") {
      std::string d;
      ok = value(d);
      options.fixture_dirs.push_back(d);
    } else if (a == "--ca-file") {
      ok = value(options.ca_file);
    } else if (a == "--receiver-bind") {
      ok = value(options.receiver_bind);
    } else if (a == "--receiver-url") {
      ok = value(options.receiver_url);
    } else if (a == "--destination") {
      std::string kv;
      ok = value(kv);
      std::size_t eq = kv.find('=');
      int n = eq == std::string::npos ? 0 : std::atoi(kv.substr(0, eq).c_str());
      if (ok && n <= 0) {
        err << "fovea conformance: --destination wants N=URL (N from 1)\n";
        return 2;
      }
      if (ok) options.destinations[n] = kv.substr(eq + 1);
    } else if (a == "--timeout") {
      std::string s;
      ok = value(s);
      int seconds = ok ? std::atoi(s.c_str()) : 0;
      if (ok && (seconds <= 0 || seconds > 3600)) {
        err << "fovea conformance: --timeout wants seconds from 1 to 3600\n";
        return 2;
      }
      if (ok) options.receiver_timeout = std::chrono::seconds(seconds);
    } else if (a.size() > 1 && a[0] == '-') {
      err << "fovea conformance: unknown option " << a << "\n" << kUsage;
      return 2;
    } else {
      inputs.push_back(a);
    }
    if (!ok) return 2;
  }
  while (!options.base.empty() && options.base.back() == '/') options.base.pop_back();
  if (options.base.empty() || inputs.empty()) {
    err << "fovea conformance: give --base and at least one SUITE_OR_FILE\n" << kUsage;
    return 2;
  }
  if (cc && (cc->client_id.empty() || cc->private_key.empty())) {
    err << "fovea conformance: client credentials need --client-id and --private-key\n";
    return 2;
  }

  // Every script is read before anything is sent: a typo is not half a run.
  std::vector<engine::TestScript> scripts;
  auto dirs = engine::DefaultSuiteDirs();
  for (const auto& input : inputs) {
    auto files = engine::ResolveScripts(input, dirs);
    if (!files.has_value()) {
      err << "fovea conformance: " << files.error().message() << "\n";
      return 2;
    }
    for (const auto& f : *files) {
      auto script = engine::ParseTestScriptFile(f);
      if (!script.has_value()) {
        err << "fovea conformance: cannot run " << script.error().message() << "\n";
        return 2;
      }
      scripts.push_back(std::move(script).value());
    }
  }

  engine::PocoHttpTransport http(std::chrono::seconds(60), options.ca_file);
  // An unreachable server is an error, not a run of failures.
  auto probe = http.Send({"GET", options.base + "/metadata",
                          {{"Accept", "application/fhir+json"}}, ""});
  if (!probe.has_value()) {
    err << "fovea conformance: the server at " << options.base
        << " cannot be reached: " << probe.error().message() << "\n";
    return 2;
  }
  if (cc) {
    auto token = FetchToken(http, options.base, *cc);
    if (!token.has_value()) {
      err << "fovea conformance: cannot get an access token: " << token.error().message() << "\n";
      return 2;
    }
    auth_token = *token;
  }
  if (!auth_token.empty()) options.headers.emplace_back("Authorization", "Bearer " + auth_token);

  engine::Executor executor(http, options);
  std::vector<engine::ScriptResult> results;
  for (const auto& script : scripts) {
    results.push_back(executor.Run(script));
    engine::WriteConsole({results.back()}, out, verbose);
  }
  if (results.size() > 1) {
    int passed = 0, failed = 0, skipped = 0, errors = 0;
    for (const auto& r : results) {
      passed += r.outcome == engine::Outcome::kPass;
      failed += r.outcome == engine::Outcome::kFail;
      skipped += r.outcome == engine::Outcome::kSkip;
      errors += r.outcome == engine::Outcome::kError;
    }
    out << "== total: " << results.size() << " scripts: " << passed << " passed, " << failed
        << " failed, " << skipped << " skipped, " << errors << " errors\n";
  }

  bool written = true;
  if (!junit.empty()) written &= WriteFile(junit, engine::JUnitXml(results), err);
  if (!html.empty()) written &= WriteFile(html, engine::HtmlReport(results, options.base), err);
  std::error_code ec;
  if (!report.empty() && (report.back() == '/' || std::filesystem::is_directory(report, ec))) {
    // A directory: one TestReport file per script, named after the script.
    std::filesystem::create_directories(report, ec);
    for (std::size_t i = 0; i < results.size(); ++i) {
      std::string stem = results[i].id.empty() ? "script-" + std::to_string(i + 1) : results[i].id;
      for (char& c : stem) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') c = '_';
      }
      std::string path = (std::filesystem::path(report) / ("TestReport-" + stem + ".json")).string();
      written &= WriteFile(path, common::PrettyJson(engine::TestReportJson(results[i])), err);
    }
  } else if (!report.empty()) {
    std::string bundle = "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[";
    for (std::size_t i = 0; i < results.size(); ++i) {
      bundle += (i ? ",{\"resource\":" : "{\"resource\":") + engine::TestReportJson(results[i]) + "}";
    }
    bundle += "]}";
    written &= WriteFile(report, common::PrettyJson(bundle), err);
  }
  if (!written) return 2;

  bool failed = false, skipped = false;
  for (const auto& r : results) {
    failed |= r.outcome == engine::Outcome::kFail || r.outcome == engine::Outcome::kError;
    skipped |= r.outcome == engine::Outcome::kSkip;
  }
  if (failed) return 1;
  return skipped ? 3 : 0;
}

}  // namespace server
