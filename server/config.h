#ifndef FOVEA_SERVER_CONFIG_H_
#define FOVEA_SERVER_CONFIG_H_

// Server configuration: defaults, overridden by FOVEA_* environment variables, overridden by
// command-line flags.

#include <string>
#include <vector>

#include "common/status.h"

namespace server {

struct Config {
  std::string command;       // serve | migrate | version | help
  std::string database_url;  // empty: the embedded PostgreSQL under data_dir/pg
  std::string data_dir = "var";
  std::string bind = "127.0.0.1";
  int port = 8080;
  bool require_if_match = false;
  std::size_t max_body_bytes = 16u << 20;
  int max_threads = 64;
  int pool_size = 16;
  bool access_log = false;
  std::string tls_cert;  // PEM certificate chain; empty: plain HTTP (loopback bind only)
  std::string tls_key;   // PEM private key, unencrypted
  // The key the token signing keys are stored encrypted under; empty: stored as they are.
  std::string key_encryption_key_file;
  // SMART on FHIR security. Off is for tests and benchmarks, and only on a loopback bind.
  bool auth = true;
  // The URL clients reach this server at (the token issuer; the FHIR base is PUBLIC_URL/fhir/R4).
  // Empty: derived from --bind, --port and TLS.
  std::string public_url;
  // A write's Provenance read from its AuditEvent row (--provenance audit-trail, the default)
  // or stored as a resource (--provenance resource; fhir/audit/provenance.h).
  bool provenance_from_audit_trail = true;
  double rate_limit = 200;  // requests per second per client (burst: twice that); 0: unlimited
  std::vector<std::string> cors_origins;  // browser origins allowed cross-origin access
  std::size_t max_bundle_entries = 10000;   // batch and transaction Bundles
  std::size_t max_conditional_deletes = 1;  // DELETE [type]?criteria: 1 is single only
  bool strict_xml = false;                  // XML bodies validated against fhir-single.xsd
  bool allow_http_hooks = false;            // rest-hook endpoints over plain http beyond loopback
  int rest_hook_workers = 2;                // concurrent rest-hook deliveries per node
  int rest_hook_max_attempts = 16;          // consecutive failed deliveries before status error
  int alert_wait_minutes = 15;              // a screening step ready this long raises a Flag; 0: off
  int alert_run_minutes = 30;               // ... in progress this long; 0: off
  int mllp_port = -1;                       // HL7 v2 over MLLP; -1: off, 0: any free port
  std::string hl7v2_outbound;               // HOST:PORT of the EHR's MLLP listener; empty: none
  std::string hl7v2_location;               // the unit's Location id for ADT check-ins
  int mllp_idle_timeout_seconds = 300;      // an MLLP connection without a message is closed
  int presence_timeout_seconds = 30;        // a dead node's presence expires after this long
  std::string console_dir;                  // serve /console/ from here; empty: the compiled-in files
  // Demo data (server/demo_data.h) into an empty database: by default only for the embedded
  // PostgreSQL (the one-command demo); --demo-data for any database; --no-demo-data never.
  enum class DemoData { kEmbeddedOnly, kLoad, kNever };
  DemoData demo_data = DemoData::kEmbeddedOnly;
};

// Parses `fovea COMMAND [flags]` with the environment already applied. kInvalid with a message
// for unknown flags or bad values, and for `serve` without TLS on a non-loopback --bind.
common::Result<Config> ParseConfig(const std::vector<std::string>& args);
std::string UsageText();

}  // namespace server

#endif  // FOVEA_SERVER_CONFIG_H_
