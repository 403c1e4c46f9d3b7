// The staff console as a real `fovea serve` serves it (issue 10): the compiled-in files,
// --console-dir (content types, ETag/304, no-cache, client-side routes, 404, 405, HEAD, path
// traversal and symlinks out of the directory refused, security headers on every answer), the
// redirects to /console/, and the console's OAuth client: registered at start, an
// administrator's redirect URIs kept, and a whole authorization-code + PKCE sign-in through the
// login page that lands back on /console/.

#include <boost/test/unit_test.hpp>

#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "common/url.h"
#include "fhir/auth/crypto/secrets.h"
#include "fhir/auth/pg/pg_auth_store.h"
#include "fhir/store/pg/connection_pool.h"
#include "server/console_client.h"
#include "server/console_site.h"
#include "tests/support/serve_process.h"
#include "tests/support/test_database.h"

namespace {

using test_support::ServeProcess;
using test_support::TestDatabase;
namespace fs = std::filesystem;
using Headers = std::vector<std::pair<std::string, std::string>>;

struct Answer {
  int status = 0;
  Headers headers;
  std::string body;
  std::string Header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (k.size() == name.size() &&
          std::equal(k.begin(), k.end(), name.begin(),
                     [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
        return v;
      }
    }
    return {};
  }
};

// One request written byte for byte (the target is not normalised, so "/console/../x" reaches
// the server as such), on a fresh connection closed after the answer.
Answer Raw(int port, const std::string& method, const std::string& target,
           const Headers& headers = {}, const std::string& body = "") {
  Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
  socket.setReceiveTimeout(Poco::Timespan(10, 0));
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" +
                        std::to_string(port) + "\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) request += k + ": " + v + "\r\n";
  if (!body.empty()) request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  request += "\r\n" + body;
  socket.sendBytes(request.data(), static_cast<int>(request.size()));
  std::string raw;
  char buffer[8192];
  while (true) {
    int n = socket.receiveBytes(buffer, sizeof buffer);
    if (n <= 0) break;
    raw.append(buffer, static_cast<std::size_t>(n));
  }
  Answer a;
  std::size_t head_end = raw.find("\r\n\r\n");
  BOOST_REQUIRE(head_end != std::string::npos);
  std::istringstream head(raw.substr(0, head_end));
  std::string line;
  std::getline(head, line);
  a.status = std::stoi(line.substr(9, 3));
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::size_t value = line.find_first_not_of(' ', colon + 1);
    a.headers.emplace_back(line.substr(0, colon),
                           value == std::string::npos ? "" : line.substr(value));
  }
  a.body = raw.substr(head_end + 4);
  return a;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

void CheckSecurityHeaders(const Answer& a, const std::string& what) {
  BOOST_TEST(a.Header("Content-Security-Policy") == server::ConsoleSite::kContentSecurityPolicy,
             what);
  BOOST_TEST(a.Header("X-Content-Type-Options") == "nosniff", what);
  BOOST_TEST(a.Header("Referrer-Policy") == "no-referrer", what);
  BOOST_TEST(a.Header("X-Frame-Options") == "DENY", what);
}

// A console directory next to a file it must never serve.
struct SiteDirectory {
  SiteDirectory() {
    root = fs::temp_directory_path() / ("fovea-console-" + fhir::auth::RandomToken(6));
    site = root / "site";
    WriteFile(site / "index.html", "<!doctype html><title>test console</title>");
    WriteFile(site / "js" / "app.js", "export const version = 1;\n");
    WriteFile(site / "css" / "app.css", "body { color: black }\n");
    WriteFile(site / "img" / "logo.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
    WriteFile(site / "config.json", "{\"a\":1}");
    WriteFile(site / "app.webmanifest", "{\"name\":\"Fovea\"}");
    WriteFile(site / "notes.txt", "notes");
    WriteFile(root / "secret.txt", "outside the site");
    fs::create_symlink(root / "secret.txt", site / "escape.txt");
    fs::create_directory_symlink(root, site / "up");
  }
  ~SiteDirectory() {
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
  fs::path root;
  fs::path site;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(ConsoleSiteServe)

BOOST_AUTO_TEST_CASE(EmbeddedFilesAndRedirects) {
  TestDatabase db;
  ServeProcess server(FOVEA_BIN, db.dsn());
  Answer index = Raw(server.port(), "GET", "/console/");
  // The binary carries web/console/ as it was at build time (a checkout without the console's
  // files builds a binary that answers 404).
  fs::path source = fs::path(FOVEA_SOURCE_DIR) / "web/console/index.html";
  if (fs::exists(source)) {
    BOOST_TEST(index.status == 200);
    BOOST_TEST(index.Header("Content-Type") == "text/html; charset=utf-8");
    BOOST_TEST(index.body == ReadFile(source));
  } else {
    BOOST_TEST(index.status == 404);
  }
  CheckSecurityHeaders(index, "embedded index");

  Answer bare = Raw(server.port(), "GET", "/console");
  BOOST_TEST(bare.status == 301);
  BOOST_TEST(bare.Header("Location") == "/console/");
  Answer root = Raw(server.port(), "GET", "/");
  BOOST_TEST(root.status == 302);
  BOOST_TEST(root.Header("Location") == "/console/");
  // The FHIR API and the prefix mount's neighbours are untouched.
  BOOST_TEST(Raw(server.port(), "GET", "/fhir/R4/metadata").status == 200);
  BOOST_TEST(Raw(server.port(), "GET", "/consoles").status == 404);
}

BOOST_AUTO_TEST_CASE(DirectoryContentTypesAndCaching) {
  SiteDirectory dir;
  TestDatabase db;
  ServeProcess server(FOVEA_BIN, db.dsn(), {"--console-dir", dir.site.string()});
  const std::vector<std::pair<std::string, std::string>> kTypes = {
      {"/console/", "text/html; charset=utf-8"},
      {"/console/index.html", "text/html; charset=utf-8"},
      {"/console/js/app.js", "text/javascript; charset=utf-8"},
      {"/console/css/app.css", "text/css; charset=utf-8"},
      {"/console/img/logo.svg", "image/svg+xml"},
      {"/console/config.json", "application/json"},
      {"/console/app.webmanifest", "application/manifest+json"},
      {"/console/notes.txt", "text/plain; charset=utf-8"},
  };
  for (const auto& [path, type] : kTypes) {
    Answer a = Raw(server.port(), "GET", path);
    BOOST_TEST(a.status == 200, path);
    BOOST_TEST(a.Header("Content-Type") == type, path);
    BOOST_TEST(a.Header("Cache-Control") == "no-cache", path);
    CheckSecurityHeaders(a, path);
  }

  Answer js = Raw(server.port(), "GET", "/console/js/app.js");
  BOOST_TEST(js.body == "export const version = 1;\n");
  std::string etag = js.Header("ETag");
  BOOST_TEST(etag.size() > 2u);
  BOOST_TEST(etag.front() == '"');  // strong: no W/
  Answer same = Raw(server.port(), "GET", "/console/js/app.js", {{"If-None-Match", etag}});
  BOOST_TEST(same.status == 304);
  BOOST_TEST(same.body.empty());
  BOOST_TEST(same.Header("ETag") == etag);
  BOOST_TEST(Raw(server.port(), "GET", "/console/js/app.js",
                 {{"If-None-Match", "\"other\", W/" + etag}}).status == 304);
  BOOST_TEST(Raw(server.port(), "GET", "/console/js/app.js",
                 {{"If-None-Match", "\"other\""}}).status == 200);

  // Read on every request: an edit shows at once, with a new tag.
  WriteFile(dir.site / "js" / "app.js", "export const version = 2;\n");
  Answer edited = Raw(server.port(), "GET", "/console/js/app.js", {{"If-None-Match", etag}});
  BOOST_TEST(edited.status == 200);
  BOOST_TEST(edited.body == "export const version = 2;\n");
  BOOST_TEST(edited.Header("ETag") != etag);

  Answer head = Raw(server.port(), "HEAD", "/console/js/app.js");
  BOOST_TEST(head.status == 200);
  BOOST_TEST(head.body.empty());
  BOOST_TEST(head.Header("Content-Length") == std::to_string(edited.body.size()));
}

BOOST_AUTO_TEST_CASE(DirectoryRoutesErrorsAndTraversal) {
  SiteDirectory dir;
  TestDatabase db;
  ServeProcess server(FOVEA_BIN, db.dsn(), {"--console-dir", dir.site.string()});
  std::string index = ReadFile(dir.site / "index.html");
  for (const std::string path : {"/console/session/123", "/console/queue", "/console/js", "/console/session/"}) {
    Answer a = Raw(server.port(), "GET", path);
    BOOST_TEST(a.status == 200, path);
    BOOST_TEST(a.body == index, path);
    BOOST_TEST(a.Header("Content-Type") == "text/html; charset=utf-8", path);
  }
  Answer missing = Raw(server.port(), "GET", "/console/js/missing.js");
  BOOST_TEST(missing.status == 404);
  CheckSecurityHeaders(missing, "404");

  for (const std::string method : {"POST", "PUT", "DELETE", "PATCH"}) {
    Answer a = Raw(server.port(), method, "/console/index.html", {}, "x");
    BOOST_TEST(a.status == 405, method);
    BOOST_TEST(a.Header("Allow") == "GET, HEAD", method);
    CheckSecurityHeaders(a, method);
  }

  // Never a byte from outside the directory, however the path is spelled.
  for (const std::string path :
       {"/console/../secret.txt", "/console/%2e%2e/secret.txt", "/console/js/../../secret.txt",
        "/console/./index.html", "/console//etc/passwd", "/console/%2Fetc/passwd",
        "/console/a%00.js", "/console/..%5Csecret.txt"}) {
    Answer a = Raw(server.port(), "GET", path);
    BOOST_TEST(a.status == 400, path);
    BOOST_TEST(a.body.find("outside the site") == std::string::npos, path);
    CheckSecurityHeaders(a, path);
  }
  // Symlinks that lead out of the directory count as missing.
  for (const std::string path : {"/console/escape.txt", "/console/up/secret.txt"}) {
    Answer a = Raw(server.port(), "GET", path);
    BOOST_TEST(a.status == 404, path);
    BOOST_TEST(a.body.find("outside the site") == std::string::npos, path);
  }
}

BOOST_AUTO_TEST_CASE(RefusesAMissingConsoleDirectory) {
  TestDatabase db;
  BOOST_CHECK_THROW(ServeProcess(FOVEA_BIN, db.dsn(), {"--console-dir", "/nonexistent/console"}),
                    std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ConsoleClient)

BOOST_AUTO_TEST_CASE(RegisteredAtStartKeepingAnAdministratorsUris) {
  TestDatabase db;
  fhir::store::pg::ConnectionPool pool(db.dsn(), 1);
  fhir::auth::pg::PgAuthStore auth(pool);
  fhir::auth::ClientRegistration existing;
  existing.client_id = server::kConsoleClientId;
  existing.kind = fhir::auth::ClientRegistration::Kind::kPublic;
  existing.redirect_uris = {"https://unit7.example/console/"};
  BOOST_REQUIRE(auth.AddClient(existing).ok());

  ServeProcess server(FOVEA_BIN, db.dsn(), {"--auth", "on"});
  auto client = auth.FindClient(server::kConsoleClientId);
  BOOST_REQUIRE(client.has_value());
  std::string port = std::to_string(server.port());
  std::vector<std::string> expected = {"https://unit7.example/console/",
                                       "http://127.0.0.1:" + port + "/console/",
                                       "http://localhost:" + port + "/console/"};
  BOOST_TEST(client->redirect_uris == expected, boost::test_tools::per_element());
  // A second start adds nothing twice.
  server.Stop();
  ServeProcess again(FOVEA_BIN, db.dsn(), {"--auth", "on", "--port", port});
  client = auth.FindClient(server::kConsoleClientId);
  BOOST_REQUIRE(client.has_value());
  BOOST_TEST(client->redirect_uris == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(SignsInWithCodeAndPkceBackToTheConsole) {
  TestDatabase db;
  ServeProcess server(FOVEA_BIN, db.dsn(), {"--auth", "on"});
  fhir::store::pg::ConnectionPool pool(db.dsn(), 1);
  fhir::auth::pg::PgAuthStore auth(pool);
  auto client = auth.FindClient(server::kConsoleClientId);
  BOOST_REQUIRE(client.has_value());
  BOOST_TEST(client->first_party);
  BOOST_TEST((client->kind == fhir::auth::ClientRegistration::Kind::kPublic));
  fhir::auth::UserAccount user;
  user.username = "nurse.one";
  user.password_hash = fhir::auth::HashPassword("correct horse battery");
  user.fhir_user = "Practitioner/p1";
  user.roles = {"technician"};
  BOOST_REQUIRE(auth.AddUser(user).ok());

  // A browser on the machine may load the console from either name; it names its own origin's
  // FHIR base as aud and its own /console/ as the redirect URI.
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    BOOST_TEST_CONTEXT(host) {
      std::string origin = "http://" + host + ":" + std::to_string(server.port());
      std::string redirect = origin + "/console/";
      std::string verifier = fhir::auth::RandomToken(40);
      std::string params =
          "response_type=code&client_id=fovea-console&redirect_uri=" + common::UrlEncode(redirect) +
          "&scope=" + common::UrlEncode("openid fhirUser user/*.rs") + "&state=s1&aud=" +
          common::UrlEncode(origin + "/fhir/R4") + "&code_challenge=" +
          fhir::auth::Base64UrlEncode(fhir::auth::Sha256(verifier)) + "&code_challenge_method=S256";
      Answer form = Raw(server.port(), "GET", "/auth/authorize?" + params);
      BOOST_REQUIRE_EQUAL(form.status, 200);
      // The login page may post its own form (and nothing else).
      BOOST_TEST(form.Header("Content-Security-Policy").find("form-action 'self'") != std::string::npos);
      BOOST_TEST(form.body.find("action=\"/auth/authorize\"") != std::string::npos);

      std::string login =
          params + "&username=nurse.one&password=" + common::UrlEncode("correct horse battery");
      Answer approved = Raw(server.port(), "POST", "/auth/authorize",
                            {{"Content-Type", "application/x-www-form-urlencoded"}}, login);
      BOOST_REQUIRE_EQUAL(approved.status, 302);
      std::string location = approved.Header("Location");
      BOOST_REQUIRE(location.rfind(redirect + "?code=", 0) == 0);
      std::string code = location.substr(redirect.size() + 6);
      code = code.substr(0, code.find('&'));

      // Same origin as the console: no CORS needed, and none asked for.
      Answer token = Raw(server.port(), "POST", "/auth/token",
                         {{"Content-Type", "application/x-www-form-urlencoded"}, {"Origin", origin}},
                         "grant_type=authorization_code&client_id=fovea-console&redirect_uri=" +
                             common::UrlEncode(redirect) + "&code=" + code +
                             "&code_verifier=" + verifier);
      BOOST_REQUIRE_EQUAL(token.status, 200);
      auto json = common::ParseJson(token.body);
      BOOST_REQUIRE(json.has_value());
      BOOST_REQUIRE(json->Find("access_token") != nullptr);
      // The token works on the FHIR API.
      Answer read = Raw(server.port(), "GET", "/fhir/R4/Patient",
                        {{"Authorization", "Bearer " + json->Find("access_token")->scalar()}});
      BOOST_TEST(read.status == 200);
    }
  }
  // Another server's FHIR base is still refused as aud.
  std::string origin = "http://127.0.0.1:" + std::to_string(server.port());
  Answer elsewhere = Raw(
      server.port(), "GET",
      "/auth/authorize?response_type=code&client_id=fovea-console&redirect_uri=" +
          common::UrlEncode(origin + "/console/") + "&scope=openid&aud=" +
          common::UrlEncode("http://127.0.0.2:" + std::to_string(server.port()) + "/fhir/R4") +
          "&code_challenge=" + fhir::auth::Base64UrlEncode(fhir::auth::Sha256("v")) +
          "&code_challenge_method=S256");
  BOOST_TEST(elsewhere.status == 400);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ConsoleRedirectUris)

BOOST_AUTO_TEST_CASE(LoopbackAddsBothHostNames) {
  std::vector<std::string> uris = server::ConsoleRedirectUris("http://127.0.0.1:8080", "127.0.0.1", 8080, false);
  std::vector<std::string> expected = {"http://127.0.0.1:8080/console/", "http://localhost:8080/console/"};
  BOOST_TEST(uris == expected, boost::test_tools::per_element());
  uris = server::ConsoleRedirectUris("https://unit7.example", "0.0.0.0", 8443, true);
  expected = {"https://unit7.example/console/"};
  BOOST_TEST(uris == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
