#ifndef FOVEA_FHIR_AUTH_CRYPTO_KEY_ENCRYPTION_H_
#define FOVEA_FHIR_AUTH_CRYPTO_KEY_ENCRYPTION_H_

// Encryption at rest of the server's private token-signing keys: AES-256-GCM under a
// key-encryption key (KEK) that the operator keeps outside the database (a file readable by the
// Fovea user only, like the TLS key), so a copy of the database or of its backups cannot mint
// tokens. A sealed value names its KEK by fingerprint, so a wrong KEK is reported as such, and
// authenticates a context (the key id), so sealed values cannot be swapped between rows.

#include <string>
#include <string_view>

#include "common/status.h"

namespace fhir::auth {

class KeyEncryptionKey {
 public:
  // 32 random bytes.
  static KeyEncryptionKey Generate();
  // The key as written by ToText(): base64url (or standard base64) of 32 bytes, whitespace around
  // it ignored.
  static common::Result<KeyEncryptionKey> FromText(std::string_view text);
  // Reads FromText's form from a file; kInvalid naming the file when it is missing or malformed.
  static common::Result<KeyEncryptionKey> FromFile(const std::string& path);

  std::string ToText() const;
  // The first 8 bytes of SHA-256 of the key, hex: names the key without revealing it.
  const std::string& fingerprint() const { return fingerprint_; }

  // "fovea-kek-v1:<fingerprint>:<base64url(nonce | ciphertext | tag)>".
  std::string Seal(std::string_view plaintext, std::string_view context) const;
  // kInvalid when `sealed` was made under another KEK (the message names both fingerprints),
  // was altered, or belongs to another context.
  common::Result<std::string> Open(std::string_view sealed, std::string_view context) const;

  static bool IsSealed(std::string_view value);

 private:
  explicit KeyEncryptionKey(std::string key);

  std::string key_;  // 32 bytes
  std::string fingerprint_;
};

}  // namespace fhir::auth

#endif  // FOVEA_FHIR_AUTH_CRYPTO_KEY_ENCRYPTION_H_
