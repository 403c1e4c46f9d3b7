#ifndef FOVEA_SERVER_JWKS_FETCHER_H_
#define FOVEA_SERVER_JWKS_FETCHER_H_

// Fetches a backend client's published key set (its registered jwks_url) for the token
// service: HTTPS with the system's trusted CAs and certificate checks, or plain HTTP to a
// loopback address only (tests, a sidecar); 5-second timeouts; at most 64 KiB; 200 only.

#include <string>

#include "common/status.h"

namespace server {

common::Result<std::string> FetchJwks(const std::string& url);

}  // namespace server

#endif  // FOVEA_SERVER_JWKS_FETCHER_H_
