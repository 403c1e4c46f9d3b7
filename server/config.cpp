#include "server/config.h"

#include <cstdlib>
#include <filesystem>

#include "fhir/rest/bind_address.h"

namespace server {
namespace {

bool ParseInt(const std::string& s, long long min, long long max, long long& out) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno != 0 || v < min || v > max) return false;
  out = v;
  return true;
}

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

}  // namespace

std::string UsageText() {
  return R"(Usage: fovea COMMAND [options]

Commands:
  serve     Serve the FHIR R4 API at https://BIND:PORT/fhir/R4, or http:// on loopback without
            TLS (default command), and the staff console at /console/
  migrate   Create or upgrade the database schema, then exit
  reindex   Rebuild the search index of every current resource, then exit
  fhirpath  Evaluate FHIRPath: fovea fhirpath [--resource FILE|-] EXPRESSION, or --batch
            (one expression per line on stdin, one JSON result line each)
  conformance run  Run FHIR TestScripts against any FHIR server:
            fovea conformance run --base URL SUITE_OR_FILE... (see fovea conformance --help)
  cert dev  Write a self-signed certificate and key for local HTTPS:
            fovea cert dev [--out DIR] [--force] (default DIR: DATA_DIR/tls)
  version   Print the version

Options (environment variable in brackets):
  --database-url URL     PostgreSQL connection URL [FOVEA_DATABASE_URL]. Without it Fovea starts
                         its own private PostgreSQL under DATA_DIR/pg.
  --data-dir DIR         Where the embedded PostgreSQL lives (default ./var) [FOVEA_DATA_DIR]
  --bind ADDR            Address to listen on (default 127.0.0.1) [FOVEA_BIND]
  --port N               Port to listen on (default 8080; 0 picks a free one) [FOVEA_PORT]
  --require-if-match     Updates and deletes must carry If-Match (else 428) [FOVEA_REQUIRE_IF_MATCH=1]
  --max-body-bytes N     Largest accepted request body (default 16777216) [FOVEA_MAX_BODY_BYTES]
  --threads N            HTTP worker threads (default 64) [FOVEA_THREADS]
  --pool-size N          PostgreSQL connections (default 16) [FOVEA_POOL_SIZE]
  --access-log           Log one line per request (no ids, no content) [FOVEA_ACCESS_LOG=1]
  --tls-cert FILE        Serve HTTPS with this PEM certificate chain [FOVEA_TLS_CERT]
  --tls-key FILE         ... and this unencrypted PEM private key [FOVEA_TLS_KEY]
                         Without TLS, --bind must be a loopback address (127.0.0.1, ::1).
  --public-url URL       The URL clients use to reach this server, e.g. https://unit7.example
                         (token issuer; default from --bind/--port) [FOVEA_PUBLIC_URL]
  --auth on|off          SMART on FHIR authorisation (default on); off only on loopback, for
                         tests and benchmarks [FOVEA_AUTH]
  --key-encryption-key-file FILE
                         Store the token signing keys encrypted under this key (made by
                         `fovea key new-encryption-key FILE`) [FOVEA_KEY_ENCRYPTION_KEY_FILE]
  --provenance audit-trail|resource
                         Where a write's Provenance lives: rebuilt from the write's AuditEvent
                         row (default; no Subscriptions on Provenance), or stored as a
                         resource as well (about half a create's cost; docs/AUDIT.md)
                         [FOVEA_PROVENANCE]
  --rate-limit N         Requests per second per client, bursts of 2N; 0: none (default 200)
                         [FOVEA_RATE_LIMIT]
  --cors-origin ORIGIN   Let browser apps from ORIGIN (https://apps.example) call across
                         origins; repeatable [FOVEA_CORS_ORIGINS, comma-separated]
  --strict-xml           Validate XML request bodies against the R4 schema (fhir-single.xsd)
                         before anything else [FOVEA_STRICT_XML=1]
  --allow-http-hooks     Let rest-hook subscriptions use plain http:// endpoints beyond
                         loopback (not recommended) [FOVEA_ALLOW_HTTP_HOOKS=1]
  --rest-hook-workers N  Concurrent rest-hook deliveries on this node (default 2)
                         [FOVEA_REST_HOOK_WORKERS]
  --rest-hook-max-attempts N
                         Consecutive failed deliveries (retried with backoff from 1 s,
                         doubling, at most 5 min apart) before a rest-hook subscription goes
                         to status error (default 16, about 40 min) [FOVEA_REST_HOOK_MAX_ATTEMPTS]
  --alert-wait-minutes N A screening step ready (unclaimed) this long raises a supervisor alert
                         (a Flag on the supervisor-alerts topic); 0: off (default 15)
                         [FOVEA_ALERT_WAIT_MINUTES]
  --alert-run-minutes N  ... in progress this long (default 30; 0: off) [FOVEA_ALERT_RUN_MINUTES]
  --presence-timeout S   Staff shown present on a session through another node that stopped
                         (crashed, cut off) leave after S seconds (default 30, 3-3600)
                         [FOVEA_PRESENCE_TIMEOUT]
  --mllp-port N          Listen for HL7 v2 over MLLP on port N (TLS with --tls-cert; 0: any free
                         port; default off) [FOVEA_MLLP_PORT]
  --hl7v2-outbound HOST:PORT
                         Send ORU^R01 results of approved sessions to this MLLP endpoint
                         [FOVEA_HL7V2_OUTBOUND]
  --hl7v2-location ID    The unit's Location id: where ADT check-in Encounters take place
                         [FOVEA_HL7V2_LOCATION]
  --mllp-idle-timeout S  Close an MLLP connection after S seconds without a message (default 300)
                         [FOVEA_MLLP_IDLE_TIMEOUT]
  --console-dir DIR      Serve the staff console (/console/) from DIR, read on every request,
                         instead of the copy compiled in (console development: edit, reload)
                         [FOVEA_CONSOLE_DIR]
  --demo-data            Load the demo (a mobile unit, staff accounts with the published
                         passwords of README.md, patients waiting) into an empty database; the
                         embedded default does so on its first start [FOVEA_DEMO_DATA=1]
  --no-demo-data         Never load the demo, not even into the embedded default
                         [FOVEA_DEMO_DATA=0]
  --max-bundle-entries N Largest batch/transaction Bundle (default 10000) [FOVEA_MAX_BUNDLE_ENTRIES]
  --conditional-delete-max N
                         DELETE [type]?criteria deletes up to N matches at once (default 1:
                         one only; more matches are 412) [FOVEA_CONDITIONAL_DELETE_MAX]

Loading data:
  load [--batch-size N] [--strict] FILE...
                         NDJSON or JSON Bundles through the normal write path, in
                         transactions of N resources (default 500); see docs/LOADING.md

Account administration:
  user add --username U --role ROLE [--role ...] --name "Full Name" [--password-stdin]
  client add --client-id ID (--jwks FILE | --jwks-url URL) [--role ehr-system] [--name NAME]
  client add --client-id ID --public --redirect-uri URI [--first-party] [--name NAME]
  user disable|enable|passwd --username U      (disable revokes refresh tokens)
  client disable|enable --client-id ID
  key rotate [--key-encryption-key-file FILE]  Start signing tokens with a fresh key
  key new-encryption-key FILE                  Write a new key-encryption key (mode 0600)
  Roles: registration technician doctor supervisor ehr-system admin auditor (docs/SECURITY.md)
)";
}

common::Result<Config> ParseConfig(const std::vector<std::string>& args) {
  Config c;
  long long n = 0;
  if (const char* v = Env("FOVEA_DATABASE_URL")) c.database_url = v;
  if (const char* v = Env("FOVEA_DATA_DIR")) c.data_dir = v;
  if (const char* v = Env("FOVEA_BIND")) c.bind = v;
  if (const char* v = Env("FOVEA_PORT")) {
    if (!ParseInt(v, 0, 65535, n)) return common::InvalidError("FOVEA_PORT must be 0-65535");
    c.port = static_cast<int>(n);
  }
  if (const char* v = Env("FOVEA_REQUIRE_IF_MATCH")) c.require_if_match = std::string(v) != "0";
  if (const char* v = Env("FOVEA_ACCESS_LOG")) c.access_log = std::string(v) != "0";
  if (const char* v = Env("FOVEA_TLS_CERT")) c.tls_cert = v;
  if (const char* v = Env("FOVEA_TLS_KEY")) c.tls_key = v;
  if (const char* v = Env("FOVEA_KEY_ENCRYPTION_KEY_FILE")) c.key_encryption_key_file = v;
  if (const char* v = Env("FOVEA_PUBLIC_URL")) c.public_url = v;
  if (const char* v = Env("FOVEA_CORS_ORIGINS")) {
    std::string list = v;
    for (std::size_t start = 0; start <= list.size();) {
      std::size_t comma = list.find(',', start);
      std::string origin = list.substr(start, comma == std::string::npos ? std::string::npos
                                                                          : comma - start);
      if (!origin.empty()) c.cors_origins.push_back(origin);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (const char* v = Env("FOVEA_AUTH")) {
    if (std::string(v) != "on" && std::string(v) != "off") {
      return common::InvalidError("FOVEA_AUTH must be on or off");
    }
    c.auth = std::string(v) == "on";
  }
  if (const char* v = Env("FOVEA_PROVENANCE")) {
    if (std::string(v) != "resource" && std::string(v) != "audit-trail") {
      return common::InvalidError("FOVEA_PROVENANCE must be resource or audit-trail");
    }
    c.provenance_from_audit_trail = std::string(v) == "audit-trail";
  }
  if (const char* v = Env("FOVEA_RATE_LIMIT")) {
    if (!ParseInt(v, 0, 1000000, n)) return common::InvalidError("bad FOVEA_RATE_LIMIT");
    c.rate_limit = static_cast<double>(n);
  }
  if (const char* v = Env("FOVEA_STRICT_XML")) c.strict_xml = std::string(v) == "1";
  if (const char* v = Env("FOVEA_ALLOW_HTTP_HOOKS")) c.allow_http_hooks = std::string(v) == "1";
  if (const char* v = Env("FOVEA_REST_HOOK_WORKERS")) {
    if (!ParseInt(v, 1, 64, n)) return common::InvalidError("bad FOVEA_REST_HOOK_WORKERS");
    c.rest_hook_workers = static_cast<int>(n);
  }
  if (const char* v = Env("FOVEA_REST_HOOK_MAX_ATTEMPTS")) {
    if (!ParseInt(v, 1, 1000, n)) return common::InvalidError("bad FOVEA_REST_HOOK_MAX_ATTEMPTS");
    c.rest_hook_max_attempts = static_cast<int>(n);
  }
  if (const char* v = Env("FOVEA_ALERT_WAIT_MINUTES")) {
    if (!ParseInt(v, 0, 24 * 60, n)) return common::InvalidError("bad FOVEA_ALERT_WAIT_MINUTES");
    c.alert_wait_minutes = static_cast<int>(n);
  }
  if (const char* v = Env("FOVEA_ALERT_RUN_MINUTES")) {
    if (!ParseInt(v, 0, 24 * 60, n)) return common::InvalidError("bad FOVEA_ALERT_RUN_MINUTES");
    c.alert_run_minutes = static_cast<int>(n);
  }
  if (const char* v = Env("FOVEA_PRESENCE_TIMEOUT")) {
    if (!ParseInt(v, 3, 3600, n)) return common::InvalidError("bad FOVEA_PRESENCE_TIMEOUT");
    c.presence_timeout_seconds = static_cast<int>(n);
  }
  if (const char* v = Env("FOVEA_MLLP_PORT")) {
    if (!ParseInt(v, 0, 65535, n)) return common::InvalidError("FOVEA_MLLP_PORT must be 0-65535");
    c.mllp_port = static_cast<int>(n);
  }
  if (const char* v = Env("FOVEA_HL7V2_OUTBOUND")) c.hl7v2_outbound = v;
  if (const char* v = Env("FOVEA_CONSOLE_DIR")) c.console_dir = v;
  if (const char* v = Env("FOVEA_DEMO_DATA")) {
    c.demo_data = std::string(v) == "0" ? Config::DemoData::kNever : Config::DemoData::kLoad;
  }
  if (const char* v = Env("FOVEA_HL7V2_LOCATION")) c.hl7v2_location = v;
  if (const char* v = Env("FOVEA_MLLP_IDLE_TIMEOUT")) {
    if (!ParseInt(v, 1, 86400, n)) return common::InvalidError("bad FOVEA_MLLP_IDLE_TIMEOUT");
    c.mllp_idle_timeout_seconds = static_cast<int>(n);
  }
  if (const char* v = Env("FOVEA_MAX_BUNDLE_ENTRIES")) {
    if (!ParseInt(v, 1, 1000000, n)) return common::InvalidError("bad FOVEA_MAX_BUNDLE_ENTRIES");
    c.max_bundle_entries = static_cast<std::size_t>(n);
  }
  if (const char* v = Env("FOVEA_CONDITIONAL_DELETE_MAX")) {
    if (!ParseInt(v, 1, 100000, n)) return common::InvalidError("bad FOVEA_CONDITIONAL_DELETE_MAX");
    c.max_conditional_deletes = static_cast<std::size_t>(n);
  }
  if (const char* v = Env("FOVEA_MAX_BODY_BYTES")) {
    if (!ParseInt(v, 1024, 1LL << 30, n)) return common::InvalidError("bad FOVEA_MAX_BODY_BYTES");
    c.max_body_bytes = static_cast<std::size_t>(n);
  }
  if (const char* v = Env("FOVEA_THREADS")) {
    if (!ParseInt(v, 1, 1024, n)) return common::InvalidError("bad FOVEA_THREADS");
    c.max_threads = static_cast<int>(n);
  }
  if (const char* v = Env("FOVEA_POOL_SIZE")) {
    if (!ParseInt(v, 1, 1024, n)) return common::InvalidError("bad FOVEA_POOL_SIZE");
    c.pool_size = static_cast<int>(n);
  }

  std::size_t i = 0;
  c.command = "serve";
  if (!args.empty() && args[0].rfind("--", 0) != 0) {
    c.command = args[0];
    i = 1;
  }
  if (c.command == "--help" || c.command == "-h") c.command = "help";
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& out) -> common::Status {
      if (i + 1 >= args.size()) return common::InvalidError(a + " needs a value");
      out = args[++i];
      return common::Status::Ok();
    };
    std::string v;
    if (a == "--help" || a == "-h") {
      c.command = "help";
    } else if (a == "--database-url") {
      FOVEA_RETURN_IF_ERROR(value(c.database_url));
    } else if (a == "--data-dir") {
      FOVEA_RETURN_IF_ERROR(value(c.data_dir));
    } else if (a == "--bind") {
      FOVEA_RETURN_IF_ERROR(value(c.bind));
    } else if (a == "--port") {
      FOVEA_RETURN_IF_ERROR(value(v));
      if (!ParseInt(v, 0, 65535, n)) return common::InvalidError("--port must be 0-65535");
      c.port = static_cast<int>(n);
    } else if (a == "--require-if-match") {
      c.require_if_match = true;
    } else if (a == "--access-log") {
      c.access_log = true;
    } else if (a == "--tls-cert") {
      FOVEA_RETURN_IF_ERROR(value(c.tls_cert));
    } else if (a == "--tls-key") {
      FOVEA_RETURN_IF_ERROR(value(c.tls_key));
    } else if (a == "--key-encryption-key-file") {
      FOVEA_RETURN_IF_ERROR(value(c.key_encryption_key_file));
    } else if (a == "--cors-origin") {
      FOVEA_RETURN_IF_ERROR(value(v));
      c.cors_origins.push_back(v);
    } else if (a == "--public-url") {
      FOVEA_RETURN_IF_ERROR(value(c.public_url));
    } else if (a == "--auth") {
      FOVEA_RETURN_IF_ERROR(value(v));
      if (v != "on" && v != "off") return common::InvalidError("--auth takes on or off");
      c.auth = v == "on";
    } else if (a == "--provenance") {
      FOVEA_RETURN_IF_ERROR(value(v));
      if (v != "resource" && v != "audit-trail") {
        return common::InvalidError("--provenance takes resource or audit-trail");
      }
      c.provenance_from_audit_trail = v == "audit-trail";
    } else if (a == "--rate-limit") {
      FOVEA_RETURN_IF_ERROR(value(v));
      if (!ParseInt(v, 0, 1000000, n)) return common::InvalidError("--rate-limit must be 0-1000000");
      c.rate_limit = static_cast<double>(n);
    } else if (a == "--strict-xml") {
      c.strict_xml = true;
    } else if (a == "--allow-http-hooks") {
      c.allow_http_hooks = true;
    } else if (a == "--rest-hook-workers") {
      FOVEA_RETURN_IF_ERROR(value(v));
      if (!ParseInt(v, 1, 64, n)) return common::InvalidError("--rest-hook-workers must be 1-64");
      c.rest_hook_workers = static_cast<int>(n);
    } else if (a == "--rest-hook-max-attempts") {
      FOVEA_RETURN_IF_ERROR(value(v));
      if (!ParseInt(v, 1, 1000, n)) return common::InvalidError("--rest-hook-max-attempts must be 1-1000");
      c.rest_hook_max_attempts = static_cast<int>(n);
    } else if (a == "--alert-wait-minutes") {
      FOVEA_RETURN_IF_ERROR(value(v));
      if (!ParseInt(v, 0, 24 * 60, n)) return common::InvalidError("--alert-wait-minutes must be 0-1440");
      c.alert_wait_minutes = static_cast<int>(n);
    } else if (a == "--alert-run-minutes") {
      FOVEA_RETURN_IF_ERROR(value(v));
      if (!ParseInt(v, 0, 24 * 60, n)) return common::InvalidError("--alert-run-minutes must be 0-1440");
      c.alert_run_minutes = static_cast<int>(n);
    } else if (a == "--presence-timeout") {
      FOVEA_RETURN_IF_ERROR(value(v));
      if (!ParseInt(v, 3, 3600, n)) return common::InvalidError("--presence-timeout must be 3-3600 seconds");
      c.presence_timeout_seconds = static_cast<int>(n);
    } else if (a == "--mllp-port") {
      FOVEA_RETURN_IF_ERROR(value(v));
      if (!ParseInt(v, 0, 65535, n)) return common::InvalidError("--mllp-port must be 0-65535");
      c.mllp_port = static_cast<int>(n);
    } else if (a == "--hl7v2-outbound") {
      FOVEA_RETURN_IF_ERROR(value(c.hl7v2_outbound));
    } else if (a == "--console-dir") {
      FOVEA_RETURN_IF_ERROR(value(c.console_dir));
    } else if (a == "--demo-data") {
      c.demo_data = Config::DemoData::kLoad;
    } else if (a == "--no-demo-data") {
      c.demo_data = Config::DemoData::kNever;
    } else if (a == "--hl7v2-location") {
      FOVEA_RETURN_IF_ERROR(value(c.hl7v2_location));
    } else if (a == "--mllp-idle-timeout") {
      FOVEA_RETURN_IF_ERROR(value(v));
      if (!ParseInt(v, 1, 86400, n)) return common::InvalidError("--mllp-idle-timeout must be 1-86400 seconds");
      c.mllp_idle_timeout_seconds = static_cast<int>(n);
    } else if (a == "--max-bundle-entries") {
      FOVEA_RETURN_IF_ERROR(value(v));
      if (!ParseInt(v, 1, 1000000, n)) return common::InvalidError("--max-bundle-entries must be 1-1000000");
      c.max_bundle_entries = static_cast<std::size_t>(n);
    } else if (a == "--conditional-delete-max") {
      FOVEA_RETURN_IF_ERROR(value(v));
      if (!ParseInt(v, 1, 100000, n)) return common::InvalidError("--conditional-delete-max must be 1-100000");
      c.max_conditional_deletes = static_cast<std::size_t>(n);
    } else if (a == "--max-body-bytes") {
      FOVEA_RETURN_IF_ERROR(value(v));
      if (!ParseInt(v, 1024, 1LL << 30, n)) return common::InvalidError("bad --max-body-bytes");
      c.max_body_bytes = static_cast<std::size_t>(n);
    } else if (a == "--threads") {
      FOVEA_RETURN_IF_ERROR(value(v));
      if (!ParseInt(v, 1, 1024, n)) return common::InvalidError("bad --threads");
      c.max_threads = static_cast<int>(n);
    } else if (a == "--pool-size") {
      FOVEA_RETURN_IF_ERROR(value(v));
      if (!ParseInt(v, 1, 1024, n)) return common::InvalidError("bad --pool-size");
      c.pool_size = static_cast<int>(n);
    } else {
      return common::InvalidError("Unknown option '" + a + "' (see fovea --help)");
    }
  }
  if (c.command != "serve" && c.command != "migrate" && c.command != "reindex" &&
      c.command != "version" &&
      c.command != "help") {
    return common::InvalidError("Unknown command '" + c.command + "' (see fovea --help)");
  }
  if (c.command == "serve" && !c.auth && !fhir::rest::IsLoopbackAddress(c.bind)) {
    return common::InvalidError("Refusing --auth off on " + c.bind +
                                ": without authentication Fovea listens only on a loopback "
                                "address (tests and benchmarks)");
  }
  if (!c.public_url.empty() && c.public_url.back() == '/') c.public_url.pop_back();
  if (c.command == "serve" && !c.console_dir.empty() && !std::filesystem::is_directory(c.console_dir)) {
    return common::InvalidError("--console-dir " + c.console_dir + " is not a directory");
  }
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return common::InvalidError("--tls-cert and --tls-key go together");
  }
  if (c.command == "serve" && c.tls_cert.empty() && !fhir::rest::IsLoopbackAddress(c.bind)) {
    return common::InvalidError(
        "Refusing plain HTTP on " + c.bind +
        ": without TLS Fovea listens only on a loopback address. Give --tls-cert and --tls-key "
        "(`fovea cert dev` makes a self-signed pair for local use), or --bind 127.0.0.1");
  }
  return c;
}

}  // namespace server
