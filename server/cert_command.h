#ifndef FOVEA_SERVER_CERT_COMMAND_H_
#define FOVEA_SERVER_CERT_COMMAND_H_

// `fovea cert dev`: a self-signed certificate and key for HTTPS on a developer machine or a
// test van (never for production: browsers and EHR engines will not trust it). EC P-256,
// SHA-256, valid 365 days, CN=localhost, subjectAltName DNS:localhost, IP:127.0.0.1, IP:::1,
// CA:FALSE, extendedKeyUsage serverAuth.

#include <iosfwd>
#include <string>
#include <vector>

#include "common/status.h"

namespace server {

inline constexpr const char* kDevCertFile = "dev-cert.pem";
inline constexpr const char* kDevKeyFile = "dev-key.pem";

struct DevCertificate {
  std::string cert_path;           // DIR/dev-cert.pem
  std::string key_path;            // DIR/dev-key.pem, mode 0600
  std::string sha256_fingerprint;  // "AB:12:...", as `openssl x509 -fingerprint -sha256` prints
};

// Writes a new pair into `dir` (created, mode 0700, when missing). Without `force`, refuses
// with kInvalid when either file exists; with it, replaces both. kInternal when OpenSSL fails,
// kUnavailable when the files cannot be written. Thread-safe.
common::Result<DevCertificate> WriteDevCertificate(const std::string& dir, bool force);

// `fovea cert dev [--out DIR] [--force] [--data-dir DIR]`; `args` follow "cert". DIR defaults
// to DATA_DIR/tls (FOVEA_DATA_DIR, else ./var). Returns the exit code: 0, 1 on failure, 2 on
// bad usage.
int RunCertCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace server

#endif  // FOVEA_SERVER_CERT_COMMAND_H_
