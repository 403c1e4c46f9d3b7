#include "server/cert_command.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <ostream>

#include "server/config.h"
#include "server/file_writing.h"

namespace server {
namespace {

namespace fs = std::filesystem;

constexpr int kValidDays = 365;

template <auto Free>
struct OpenSslFree {
  template <class T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslFree<X509_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslFree<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslFree<BN_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslFree<X509_EXTENSION_free>>;

common::Status OpenSslError(const std::string& what) {
  unsigned long e = ERR_peek_last_error();
  const char* reason = e != 0 ? ERR_reason_error_string(e) : nullptr;
  ERR_clear_error();
  return common::InternalError(what + (reason != nullptr ? std::string(": ") + reason : ""));
}

// The extensions of a TLS server certificate for this machine only.
common::Status AddExtensions(X509* cert) {
  static constexpr std::pair<int, const char*> kExtensions[] = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, "serverAuth"},
      {NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"},
      {NID_subject_key_identifier, "hash"},
  };
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (const auto& [nid, value] : kExtensions) {
    ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
      return OpenSslError(std::string("cannot add the extension ") + OBJ_nid2sn(nid));
    }
  }
  return common::Status::Ok();
}

common::Result<X509Ptr> SelfSign(EVP_PKEY* key) {
  X509Ptr cert(X509_new());
  BignumPtr serial(BN_new());
  if (!cert || !serial || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      BN_rand(serial.get(), 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), kValidDays, 0, nullptr) == nullptr) {
    return OpenSslError("cannot create the certificate");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  const auto* organization = reinterpret_cast<const unsigned char*>("Fovea development");
  const auto* common_name = reinterpret_cast<const unsigned char*>("localhost");
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, organization, -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, common_name, -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1 || X509_set_pubkey(cert.get(), key) != 1) {
    return OpenSslError("cannot name the certificate");
  }
  FOVEA_RETURN_IF_ERROR(AddExtensions(cert.get()));
  if (X509_sign(cert.get(), key, EVP_sha256()) <= 0) return OpenSslError("cannot sign");
  return cert;
}

// PEM text written by `write` into a memory BIO.
template <class Write>
common::Result<std::string> ToPem(Write write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) return OpenSslError("cannot encode PEM");
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  std::string pem(data, static_cast<std::size_t>(size));
  OPENSSL_cleanse(data, static_cast<std::size_t>(size));
  return pem;
}

std::string Fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert, EVP_sha256(), md, &length) != 1) return {};
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    if (i > 0) out += ':';
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xF];
  }
  return out;
}

constexpr const char* kUsage =
    "usage: fovea cert dev [--out DIR] [--force]\n"
    "  Writes dev-cert.pem and dev-key.pem (a self-signed certificate for localhost, 127.0.0.1\n"
    "  and ::1, and its private key) into DIR, by default DATA_DIR/tls (./var/tls).\n"
    "  --force replaces existing files.\n";

}  // namespace

common::Result<DevCertificate> WriteDevCertificate(const std::string& dir, bool force) {
  DevCertificate result;
  result.cert_path = (fs::path(dir) / kDevCertFile).string();
  result.key_path = (fs::path(dir) / kDevKeyFile).string();
  std::error_code ec;
  if (!force) {
    for (const std::string* path : {&result.cert_path, &result.key_path}) {
      if (fs::exists(*path, ec)) {
        return common::InvalidError(*path + " already exists; use --force to replace it");
      }
    }
  }
  if (!fs::is_directory(dir, ec)) {
    if (!fs::create_directories(dir, ec)) {
      return common::UnavailableError("cannot create the directory " + dir);
    }
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  }

  ERR_clear_error();
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError("cannot generate an EC P-256 key");
  FOVEA_ASSIGN_OR_RETURN(X509Ptr cert, SelfSign(key.get()));
  FOVEA_ASSIGN_OR_RETURN(std::string cert_pem,
                         ToPem([&](BIO* bio) { return PEM_write_bio_X509(bio, cert.get()); }));
  FOVEA_ASSIGN_OR_RETURN(std::string key_pem, ToPem([&](BIO* bio) {
                           return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0,
                                                           nullptr, nullptr);
                         }));
  // The key first: a certificate without its key is useless, the reverse merely stale.
  common::Status written = WriteFileAtomically(result.key_path, key_pem, 0600);
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  FOVEA_RETURN_IF_ERROR(written);
  FOVEA_RETURN_IF_ERROR(WriteFileAtomically(result.cert_path, cert_pem, 0644));
  result.sha256_fingerprint = Fingerprint(cert.get());
  return result;
}

int RunCertCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] != "dev") {
    err << "fovea cert: unknown or missing subcommand\n" << kUsage;
    return 2;
  }
  std::string data_dir = Config{}.data_dir;
  if (const char* v = std::getenv("FOVEA_DATA_DIR"); v != nullptr && *v != '\0') data_dir = v;
  std::string out_dir;
  bool force = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--force") {
      force = true;
    } else if ((a == "--out" || a == "--data-dir") && i + 1 < args.size()) {
      (a == "--out" ? out_dir : data_dir) = args[++i];
    } else if (a == "--help" || a == "-h") {
      out << kUsage;
      return 0;
    } else {
      err << "fovea cert: bad argument '" << a << "'\n" << kUsage;
      return 2;
    }
  }
  if (out_dir.empty()) out_dir = (fs::path(data_dir) / "tls").string();
  auto written = WriteDevCertificate(out_dir, force);
  if (!written.has_value()) {
    err << "fovea cert: " << written.error().message() << "\n";
    return 1;
  }
  out << "Wrote a self-signed development certificate for localhost, 127.0.0.1 and ::1,\n"
      << "valid " << kValidDays << " days (not for production):\n"
      << "  certificate  " << written->cert_path << "\n"
      << "  private key  " << written->key_path << " (mode 0600)\n"
      << "  SHA-256 fingerprint  " << written->sha256_fingerprint << "\n"
      << "Serve HTTPS with:\n"
      << "  fovea serve --tls-cert " << written->cert_path << " --tls-key " << written->key_path
      << "\n";
  return 0;
}

}  // namespace server
