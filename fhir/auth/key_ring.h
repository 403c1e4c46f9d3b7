#ifndef FOVEA_FHIR_AUTH_KEY_RING_H_
#define FOVEA_FHIR_AUTH_KEY_RING_H_

// The server's token signing keys. The newest active key signs; every stored key verifies, so
// tokens signed before a rotation stay valid until they expire. Keys live in the database, so
// every node of a cluster signs and verifies with the same set; a node that meets an unknown
// kid reloads (at most every few seconds). Thread-safe.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "fhir/auth/auth_store.h"
#include "fhir/auth/crypto/jose.h"

namespace fhir::auth {

class KeyRing {
 public:
  KeyRing(AuthStore& store, const common::Clock& clock) : store_(store), clock_(clock) {}

  // Loads the stored keys; creates the first one when there is none.
  common::Status Load();
  // Makes a fresh key the active one.
  common::Status Rotate();

  // The active key; re-read from the store at most once a minute, so a rotation done by
  // `fovea key rotate` or another node takes effect everywhere.
  std::shared_ptr<const JwsKey> Signing();
  // The key with this kid, reloading from the store on a miss; null when unknown.
  std::shared_ptr<const JwsKey> Find(const std::string& kid);
  std::string JwksJson() const;

 private:
  common::Status Reload();

  AuthStore& store_;
  const common::Clock& clock_;
  mutable std::mutex mu_;
  std::shared_ptr<const JwsKey> signing_;                // GUARDED_BY(mu_)
  std::vector<std::shared_ptr<const JwsKey>> all_;       // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point last_reload_{};  // GUARDED_BY(mu_)
};

}  // namespace fhir::auth

#endif  // FOVEA_FHIR_AUTH_KEY_RING_H_
