#include "server/console_client.h"

#include <algorithm>

#include "common/log.h"
#include "fhir/rest/bind_address.h"

namespace server {

std::vector<std::string> LoopbackOrigins(const std::string& bind, int port, bool tls) {
  if (tls || !fhir::rest::IsLoopbackAddress(bind)) return {};
  return {"http://127.0.0.1:" + std::to_string(port), "http://localhost:" + std::to_string(port)};
}

std::vector<std::string> ConsoleRedirectUris(const std::string& public_url, const std::string& bind,
                                             int port, bool tls) {
  std::vector<std::string> uris = {public_url + "/console/"};
  for (const std::string& origin : LoopbackOrigins(bind, port, tls)) {
    std::string uri = origin + "/console/";
    if (std::find(uris.begin(), uris.end(), uri) == uris.end()) uris.push_back(uri);
  }
  return uris;
}

common::Status EnsureConsoleClient(fhir::auth::AuthStore& store,
                                   const std::vector<std::string>& redirect_uris) {
  auto existing = store.FindClient(kConsoleClientId);
  if (!existing.has_value() && existing.error().code() != common::StatusCode::kNotFound) {
    return existing.error();
  }
  if (!existing.has_value()) {
    fhir::auth::ClientRegistration client;
    client.client_id = kConsoleClientId;
    client.name = "Fovea staff console";
    client.kind = fhir::auth::ClientRegistration::Kind::kPublic;
    client.redirect_uris = redirect_uris;
    client.first_party = true;
    common::Status added = store.AddClient(client);
    // Another node starting at the same moment registered it first: add our URIs to theirs.
    if (added.code() != common::StatusCode::kVersionConflict) return added;
  } else if (existing->kind != fhir::auth::ClientRegistration::Kind::kPublic) {
    common::LogWarning(std::string("client '") + kConsoleClientId +
                       "' is registered as a backend client; the staff console cannot sign in "
                       "until it is a public client");
    return common::Status::Ok();
  }
  return store.AddRedirectUris(kConsoleClientId, redirect_uris);
}

}  // namespace server
