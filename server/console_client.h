#ifndef FOVEA_SERVER_CONSOLE_CLIENT_H_
#define FOVEA_SERVER_CONSOLE_CLIENT_H_

// The staff console's OAuth client: `fovea serve` (with auth on) makes sure a public,
// first-party client `fovea-console` exists whose redirect URIs include the console's own
// addresses, so the console can sign in with authorization code + PKCE at /auth/authorize.

#include <string>
#include <vector>

#include "common/status.h"
#include "fhir/auth/auth_store.h"

namespace server {

inline constexpr const char* kConsoleClientId = "fovea-console";

// The origins a browser on this machine reaches a plain-HTTP loopback server at:
// http://127.0.0.1:PORT and http://localhost:PORT. Empty with TLS or beyond loopback.
std::vector<std::string> LoopbackOrigins(const std::string& bind, int port, bool tls);

// The console's redirect URIs: PUBLIC_URL/console/, and ORIGIN/console/ for each of
// LoopbackOrigins. No duplicates.
std::vector<std::string> ConsoleRedirectUris(const std::string& public_url, const std::string& bind,
                                             int port, bool tls);

// Creates the client when it is missing; otherwise adds the URIs it lacks and keeps every other
// one an administrator registered. A client of that id that is not public (someone registered a
// backend client under the name) is left alone with a warning; a disabled one stays disabled.
common::Status EnsureConsoleClient(fhir::auth::AuthStore& store,
                                   const std::vector<std::string>& redirect_uris);

}  // namespace server

#endif  // FOVEA_SERVER_CONSOLE_CLIENT_H_
