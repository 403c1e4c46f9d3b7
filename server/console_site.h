#ifndef FOVEA_SERVER_CONSOLE_SITE_H_
#define FOVEA_SERVER_CONSOLE_SITE_H_

// Serves the staff console (web/console/) under /console/: a read-only set of static files,
// either compiled into the binary (the default, so a fresh clone's binary needs nothing on
// disk) or read from a directory on every request (--console-dir, for console development).
//
//   GET /console            -> 301 to /console/
//   GET /console/           -> index.html
//   GET /console/app.js     -> the file, with its Content-Type, a strong ETag and no-cache
//   GET /console/session/7  -> index.html (a client-side route: no extension, not a file)
//   GET /console/missing.js -> 404
//   POST ...                -> 405 with Allow: GET, HEAD
//
// Every answer carries the console's Content-Security-Policy and the other security headers
// (docs/CONSOLE.md#serving). Paths with `..`, `.` segments, empty segments, NUL or a backslash
// are refused (400); from a directory, a file that resolves (through symlinks) outside it is
// treated as missing. No authentication: the console signs in with SMART itself.
// Thread-safe (immutable after construction; directory reads are per request).

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fhir/rest/http_types.h"

namespace server {

class ConsoleSite {
 public:
  static constexpr const char* kPrefix = "/console";
  static constexpr const char* kContentSecurityPolicy =
      "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
      "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; "
      "frame-ancestors 'none'; form-action 'self'";

  // The files compiled in from web/console/ at build time.
  static ConsoleSite Embedded();
  // The given (path, content) pairs, paths relative to the site root ("js/app.js").
  static ConsoleSite FromFiles(const std::vector<std::pair<std::string_view, std::string_view>>& files);
  // Files read from `dir` on every request (edit, reload).
  static ConsoleSite FromDirectory(std::filesystem::path dir);

  // Answers a request whose path starts with kPrefix (the whole path, as HttpServer::Mount
  // passes it).
  fhir::rest::RestResponse Handle(const fhir::rest::RestRequest& request) const;
  // Answers GET / with a 302 to /console/ (for servers where nothing else serves /).
  static fhir::rest::RestResponse RedirectRoot(const fhir::rest::RestRequest& request);

  // The Content-Type for a file name, by extension ("application/octet-stream" if unknown).
  static std::string_view ContentTypeFor(std::string_view path);

 private:
  struct File {
    std::string content;
    std::string etag;  // strong: "<base64url of SHA-256>"
  };
  ConsoleSite() = default;
  // The file at `path` (relative, already checked); nullopt when there is none.
  std::optional<File> Find(const std::string& path) const;

  std::map<std::string, File, std::less<>> files_;  // embedded or given files
  std::optional<std::filesystem::path> dir_;        // set: read from here instead
};

}  // namespace server

#endif  // FOVEA_SERVER_CONSOLE_SITE_H_
