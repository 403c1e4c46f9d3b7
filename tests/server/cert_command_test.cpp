// server/cert_command: `fovea cert dev` writes a usable self-signed pair for local HTTPS.

#include "server/cert_command.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace fs = std::filesystem;

namespace {

// A fresh directory under /tmp, removed with everything in it.
struct TempDir {
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "fovea-cert-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string path;
};

struct X509Free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};

std::unique_ptr<X509, X509Free> ReadCert(const std::string& path) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(path.c_str(), "r"), &BIO_free);
  BOOST_REQUIRE(bio);
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  BOOST_REQUIRE(cert);
  return cert;
}

std::unique_ptr<EVP_PKEY, PkeyFree> ReadKey(const std::string& path) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(path.c_str(), "r"), &BIO_free);
  BOOST_REQUIRE(bio);
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  BOOST_REQUIRE(key);
  return key;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

unsigned Mode(const std::string& path) {
  struct stat st {};
  BOOST_REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(DevCertificate)

BOOST_AUTO_TEST_CASE(IsASelfSignedServerCertificateForThisMachine) {
  TempDir dir;
  auto pair = server::WriteDevCertificate(dir.path, false);
  BOOST_REQUIRE(pair.has_value());
  BOOST_TEST(pair->cert_path == dir.path + "/dev-cert.pem");
  BOOST_TEST(pair->key_path == dir.path + "/dev-key.pem");
  auto cert = ReadCert(pair->cert_path);

  BOOST_TEST(X509_check_host(cert.get(), "localhost", 0, 0, nullptr) == 1);
  BOOST_TEST(X509_check_ip_asc(cert.get(), "127.0.0.1", 0) == 1);
  BOOST_TEST(X509_check_ip_asc(cert.get(), "::1", 0) == 1);
  BOOST_TEST(X509_check_host(cert.get(), "example.org", 0, 0, nullptr) != 1);
  BOOST_TEST(X509_check_ip_asc(cert.get(), "10.0.0.1", 0) != 1);

  char cn[64] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof cn);
  BOOST_TEST(std::string(cn) == "localhost");
  BOOST_TEST(X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_issuer_name(cert.get())) ==
             0);
  BOOST_TEST(X509_get_signature_nid(cert.get()) == NID_ecdsa_with_SHA256);
  BOOST_TEST(X509_check_ca(cert.get()) == 0);  // basicConstraints CA:FALSE
  BOOST_TEST((X509_get_extension_flags(cert.get()) & EXFLAG_BCONS) != 0u);
  BOOST_TEST((X509_get_extended_key_usage(cert.get()) & XKU_SSL_SERVER) != 0u);

  EVP_PKEY* public_key = X509_get0_pubkey(cert.get());
  BOOST_TEST(EVP_PKEY_is_a(public_key, "EC") == 1);
  char group[32] = {};
  std::size_t group_length = 0;
  BOOST_TEST(
      EVP_PKEY_get_utf8_string_param(public_key, "group", group, sizeof group, &group_length) == 1);
  BOOST_TEST(std::string(group) == "prime256v1");
  BOOST_TEST(X509_verify(cert.get(), public_key) == 1);  // signed by its own key

  int days = 0, seconds = 0;
  BOOST_TEST(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(cert.get()),
                            X509_get0_notAfter(cert.get())) == 1);
  BOOST_TEST(days == 365);
  BOOST_TEST(X509_cmp_current_time(X509_get0_notBefore(cert.get())) <= 0);
}

BOOST_AUTO_TEST_CASE(KeyMatchesTheCertificateAndIsPrivate) {
  TempDir dir;
  auto pair = server::WriteDevCertificate(dir.path, false);
  BOOST_REQUIRE(pair.has_value());
  auto cert = ReadCert(pair->cert_path);
  auto key = ReadKey(pair->key_path);
  BOOST_TEST(X509_check_private_key(cert.get(), key.get()) == 1);
  BOOST_TEST(Mode(pair->key_path) == 0600u);
  BOOST_TEST(Slurp(pair->key_path).find("-----BEGIN PRIVATE KEY-----") == 0u);  // unencrypted
}

BOOST_AUTO_TEST_CASE(FingerprintIsTheSha256OfTheCertificate) {
  TempDir dir;
  auto pair = server::WriteDevCertificate(dir.path, false);
  BOOST_REQUIRE(pair.has_value());
  auto cert = ReadCert(pair->cert_path);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  BOOST_REQUIRE(X509_digest(cert.get(), EVP_sha256(), md, &length) == 1);
  char expected[4] = {};
  std::snprintf(expected, sizeof expected, "%02X:", md[0]);
  BOOST_TEST(pair->sha256_fingerprint.size() == 32u * 3 - 1);
  BOOST_TEST(pair->sha256_fingerprint.substr(0, 3) == std::string(expected));
}

BOOST_AUTO_TEST_CASE(RefusesToOverwriteUnlessForced) {
  TempDir dir;
  auto first = server::WriteDevCertificate(dir.path, false);
  BOOST_REQUIRE(first.has_value());
  std::string cert_pem = Slurp(first->cert_path);
  std::string key_pem = Slurp(first->key_path);

  auto again = server::WriteDevCertificate(dir.path, false);
  BOOST_REQUIRE(!again.has_value());
  BOOST_TEST(again.error().message().find("--force") != std::string::npos);
  BOOST_TEST(Slurp(first->cert_path) == cert_pem);
  BOOST_TEST(Slurp(first->key_path) == key_pem);

  auto forced = server::WriteDevCertificate(dir.path, true);
  BOOST_REQUIRE(forced.has_value());
  BOOST_TEST(forced->sha256_fingerprint != first->sha256_fingerprint);
  BOOST_TEST(Slurp(first->key_path) != key_pem);
  BOOST_TEST(Mode(forced->key_path) == 0600u);
  for (const auto& entry : fs::directory_iterator(dir.path)) {  // no temporary files left
    BOOST_TEST(
        (entry.path().filename() == "dev-cert.pem" || entry.path().filename() == "dev-key.pem"));
  }
}

BOOST_AUTO_TEST_CASE(CommandWritesIntoDataDirTlsByDefault) {
  TempDir dir;
  std::ostringstream out, err;
  BOOST_TEST(server::RunCertCommand({"dev", "--data-dir", dir.path}, out, err) == 0);
  std::string tls_dir = dir.path + "/tls";
  BOOST_TEST(fs::exists(tls_dir + "/dev-cert.pem"));
  BOOST_TEST(fs::exists(tls_dir + "/dev-key.pem"));
  BOOST_TEST(Mode(tls_dir) == 0700u);
  BOOST_TEST(out.str().find(tls_dir + "/dev-cert.pem") != std::string::npos);
  BOOST_TEST(out.str().find("SHA-256 fingerprint") != std::string::npos);

  std::ostringstream out2, err2;
  BOOST_TEST(server::RunCertCommand({"dev", "--data-dir", dir.path}, out2, err2) == 1);
  BOOST_TEST(err2.str().find("already exists") != std::string::npos);
  std::ostringstream out3, err3;
  BOOST_TEST(server::RunCertCommand({"dev", "--out", tls_dir, "--force"}, out3, err3) == 0);
}

BOOST_AUTO_TEST_CASE(BadUsageExitsWithTwo) {
  std::ostringstream out, err;
  BOOST_TEST(server::RunCertCommand({}, out, err) == 2);
  BOOST_TEST(server::RunCertCommand({"prod"}, out, err) == 2);
  BOOST_TEST(server::RunCertCommand({"dev", "--out"}, out, err) == 2);
  BOOST_TEST(server::RunCertCommand({"dev", "--bogus"}, out, err) == 2);
}

BOOST_AUTO_TEST_SUITE_END()
