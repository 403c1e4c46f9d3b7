#include "fhir/auth/key_ring.h"

#include "common/log.h"
#include "fhir/auth/crypto/secrets.h"

namespace fhir::auth {
namespace {

// RS256: verification, done on every request, is far cheaper with RSA than with ECDSA.
constexpr JwsAlgorithm kServerAlgorithm = JwsAlgorithm::kRS256;
constexpr auto kMinReloadInterval = std::chrono::seconds(5);
constexpr auto kSigningKeyRefresh = std::chrono::seconds(60);

}  // namespace

common::Status KeyRing::Load(bool create_first) {
  FOVEA_RETURN_IF_ERROR(Reload());
  if (kek_ != nullptr) FOVEA_RETURN_IF_ERROR(SealPlainKeys());
  if (Signing() != nullptr || !create_first) return common::Status::Ok();
  return Rotate();
}

common::Status KeyRing::Rotate() {
  FOVEA_ASSIGN_OR_RETURN(JwsKey key, JwsKey::Generate(kServerAlgorithm, RandomToken(12)));
  StoredSigningKey stored;
  stored.kid = key.kid();
  stored.alg = std::string(JwsAlgorithmName(key.alg()));
  stored.private_pem = kek_ != nullptr ? kek_->Seal(key.PrivateKeyPem(), key.kid()) : key.PrivateKeyPem();
  stored.created_at = clock_.Now();
  stored.active = true;
  FOVEA_RETURN_IF_ERROR(store_.AddSigningKey(stored));
  common::LogInfo("token signing key " + key.kid() + " is now active");
  return Reload();
}

common::Status KeyRing::Reload() {
  FOVEA_ASSIGN_OR_RETURN(auto stored, store_.SigningKeys());
  std::vector<std::shared_ptr<const JwsKey>> keys;
  std::shared_ptr<const JwsKey> signing;
  for (const StoredSigningKey& s : stored) {
    auto alg = ParseJwsAlgorithm(s.alg);
    if (!alg) continue;
    std::string pem = s.private_pem;
    if (KeyEncryptionKey::IsSealed(pem)) {
      if (kek_ == nullptr) {
        return common::Status(common::StatusCode::kInvalid,
                              "token signing key " + s.kid + " is stored encrypted: give the key-encryption "
                              "key (--key-encryption-key-file or FOVEA_KEY_ENCRYPTION_KEY_FILE)");
      }
      auto opened = kek_->Open(pem, s.kid);
      if (!opened.has_value()) {
        return common::Status(common::StatusCode::kInvalid,
                              "token signing key " + s.kid + ": " + opened.error().message());
      }
      pem = std::move(opened).value();
    }
    auto key = JwsKey::FromPem(pem, *alg, s.kid);
    if (!key.has_value()) {
      common::LogWarning("signing key " + s.kid + " could not be loaded; skipped");
      continue;
    }
    auto shared = std::make_shared<const JwsKey>(std::move(key).value());
    if (s.active && signing == nullptr) signing = shared;
    keys.push_back(std::move(shared));
  }
  std::lock_guard lock(mu_);
  all_ = std::move(keys);
  signing_ = std::move(signing);
  last_reload_ = std::chrono::steady_clock::now();
  return common::Status::Ok();
}

common::Status KeyRing::SealPlainKeys() {
  FOVEA_ASSIGN_OR_RETURN(auto stored, store_.SigningKeys());
  for (const StoredSigningKey& s : stored) {
    if (KeyEncryptionKey::IsSealed(s.private_pem)) continue;
    FOVEA_RETURN_IF_ERROR(store_.SealSigningKey(s.kid, s.private_pem, kek_->Seal(s.private_pem, s.kid)));
    common::LogInfo("token signing key " + s.kid + " is now stored encrypted");
  }
  return common::Status::Ok();
}

std::shared_ptr<const JwsKey> KeyRing::Signing() {
  {
    std::lock_guard lock(mu_);
    if (std::chrono::steady_clock::now() - last_reload_ < kSigningKeyRefresh) return signing_;
  }
  (void)Reload();  // on failure the known key keeps signing
  std::lock_guard lock(mu_);
  return signing_;
}

std::shared_ptr<const JwsKey> KeyRing::Find(const std::string& kid) {
  {
    std::lock_guard lock(mu_);
    for (const auto& k : all_) {
      if (k->kid() == kid) return k;
    }
    // An unknown kid is either another node's new key or junk: reload, but not for every junk
    // token.
    if (std::chrono::steady_clock::now() - last_reload_ < kMinReloadInterval) return nullptr;
    last_reload_ = std::chrono::steady_clock::now();
  }
  if (!Reload().ok()) return nullptr;
  std::lock_guard lock(mu_);
  for (const auto& k : all_) {
    if (k->kid() == kid) return k;
  }
  return nullptr;
}

std::string KeyRing::JwksJson() const {
  std::vector<JwsKey> keys;
  {
    std::lock_guard lock(mu_);
    for (const auto& k : all_) keys.push_back(*k);
  }
  return fhir::auth::JwksJson(keys);
}

}  // namespace fhir::auth
