#include "fhir/auth/crypto/key_encryption.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cctype>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "common/hex.h"
#include "fhir/auth/crypto/secrets.h"

namespace fhir::auth {
namespace {

constexpr std::string_view kPrefix = "fovea-kek-v1:";
constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

std::string Trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

KeyEncryptionKey::KeyEncryptionKey(std::string key)
    : key_(std::move(key)), fingerprint_(common::HexEncode(Sha256(key_).substr(0, 8))) {}

KeyEncryptionKey KeyEncryptionKey::Generate() {
  std::string key(kKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return KeyEncryptionKey(std::move(key));
}

common::Result<KeyEncryptionKey> KeyEncryptionKey::FromText(std::string_view text) {
  std::string s = Trimmed(text);
  // Standard base64 as well as base64url; padding ignored.
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!s.empty() && s.back() == '=') s.pop_back();
  auto bytes = Base64UrlDecode(s);
  if (!bytes || bytes->size() != kKeyBytes) {
    return common::InvalidError("a key-encryption key is 32 bytes in base64 (make one with "
                                "`fovea key new-encryption-key FILE`)");
  }
  return KeyEncryptionKey(std::move(*bytes));
}

common::Result<KeyEncryptionKey> KeyEncryptionKey::FromFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return common::InvalidError("cannot read the key-encryption key file " + path);
  std::stringstream text;
  text << in.rdbuf();
  auto key = FromText(text.str());
  if (!key.has_value()) return common::InvalidError(path + ": " + key.error().message());
  return key;
}

std::string KeyEncryptionKey::ToText() const { return Base64UrlEncode(key_); }

bool KeyEncryptionKey::IsSealed(std::string_view value) { return value.rfind(kPrefix, 0) == 0; }

std::string KeyEncryptionKey::Seal(std::string_view plaintext, std::string_view context) const {
  std::string nonce(kNonceBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), static_cast<int>(nonce.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  CipherContext ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out = nonce;
  out.resize(kNonceBytes + plaintext.size() + kTagBytes);
  auto* dst = reinterpret_cast<unsigned char*>(out.data()) + kNonceBytes;
  int n = 0;
  int total = 0;
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                                      reinterpret_cast<const unsigned char*>(key_.data()),
                                      reinterpret_cast<const unsigned char*>(nonce.data())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &n, reinterpret_cast<const unsigned char*>(context.data()),
                              static_cast<int>(context.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), dst, &n, reinterpret_cast<const unsigned char*>(plaintext.data()),
                              static_cast<int>(plaintext.size())) == 1;
  total = n;
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), dst + total, &n) == 1;
  total += n;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                                 dst + total) == 1;
  if (!ok) throw std::runtime_error("AES-256-GCM encryption failed");
  return std::string(kPrefix) + fingerprint_ + ":" + Base64UrlEncode(out);
}

common::Result<std::string> KeyEncryptionKey::Open(std::string_view sealed, std::string_view context) const {
  if (!IsSealed(sealed)) return common::InvalidError("not a sealed value");
  std::string_view rest = sealed.substr(kPrefix.size());
  std::size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return common::InvalidError("malformed sealed value");
  std::string_view fingerprint = rest.substr(0, colon);
  if (fingerprint != fingerprint_) {
    return common::InvalidError("sealed under key-encryption key " + std::string(fingerprint) +
                                ", but the configured one is " + fingerprint_);
  }
  auto bytes = Base64UrlDecode(rest.substr(colon + 1));
  if (!bytes || bytes->size() < kNonceBytes + kTagBytes) {
    return common::InvalidError("malformed sealed value");
  }
  const auto* data = reinterpret_cast<const unsigned char*>(bytes->data());
  std::size_t length = bytes->size() - kNonceBytes - kTagBytes;
  std::string plain(length, '\0');
  std::string tag = bytes->substr(kNonceBytes + length);
  CipherContext ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int n = 0;
  bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                                      reinterpret_cast<const unsigned char*>(key_.data()), data) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &n, reinterpret_cast<const unsigned char*>(context.data()),
                              static_cast<int>(context.size())) == 1 &&
            EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &n,
                              data + kNonceBytes, static_cast<int>(length)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes),
                                tag.data()) == 1;
  int last = 0;
  // The tag check is in the final step: a wrong context or an altered byte fails here.
  ok = ok && EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + n, &last) == 1;
  if (!ok) return common::InvalidError("the sealed value was altered or belongs to another key");
  return plain;
}

}  // namespace fhir::auth
