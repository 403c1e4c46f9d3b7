#ifndef FOVEA_FHIR_AUTH_KEY_RING_H_
#define FOVEA_FHIR_AUTH_KEY_RING_H_

// The server's token signing keys. The newest active key signs; every stored key verifies, so
// tokens signed before a rotation stay valid until they expire. Keys live in the database, so
// every node of a cluster signs and verifies with the same set; a node that meets an unknown
// kid reloads (at most every few seconds). With a key-encryption key the private halves are
// stored sealed (crypto/key_encryption.h), and keys stored before it was configured are sealed
// at the next Load. Thread-safe.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "fhir/auth/auth_store.h"
#include "fhir/auth/crypto/jose.h"
#include "fhir/auth/crypto/key_encryption.h"

namespace fhir::auth {

class KeyRing {
 public:
  KeyRing(AuthStore& store, const common::Clock& clock,
          std::shared_ptr<const KeyEncryptionKey> kek = nullptr)
      : store_(store), clock_(clock), kek_(std::move(kek)) {}

  // Loads the stored keys; creates the first one when there is none and `create_first`. kInvalid when
  // a stored key is sealed and no (or another) key-encryption key is configured: the server
  // must not start, nor make itself a fresh key the other nodes cannot read.
  common::Status Load(bool create_first = true);
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
  common::Status SealPlainKeys();

  AuthStore& store_;
  const common::Clock& clock_;
  std::shared_ptr<const KeyEncryptionKey> kek_;
  mutable std::mutex mu_;
  std::shared_ptr<const JwsKey> signing_;                // GUARDED_BY(mu_)
  std::vector<std::shared_ptr<const JwsKey>> all_;       // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point last_reload_{};  // GUARDED_BY(mu_)
};

}  // namespace fhir::auth

#endif  // FOVEA_FHIR_AUTH_KEY_RING_H_
