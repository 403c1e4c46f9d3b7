#ifndef FOVEA_FHIR_REST_FHIR_SERVICE_H_
#define FOVEA_FHIR_REST_FHIR_SERVICE_H_

// The FHIR RESTful API (hl7.org/fhir/R4/http.html) over a ResourceStore: routing below the
// FHIR base, content negotiation, the instance/type/system interactions, $validate and
// metadata. Transport-neutral (see http_server.h for the POCO adapter). Thread-safe: holds no
// per-request state.

#include <cstddef>
#include <functional>
#include <vector>
#include <string>

#include "common/clock.h"
#include "common/striped_mutex.h"
#include "fhir/audit/provenance.h"
#include "fhir/auth/principal.h"
#include "fhir/definitions/definitions.h"
#include "fhir/model/element.h"
#include "fhir/rest/capability_statement.h"
#include "fhir/rest/http_types.h"
#include "fhir/rest/rate_limiter.h"
#include "fhir/search/search_backend.h"
#include "fhir/search/live_registry.h"
#include "fhir/search/search_parameter.h"
#include "fhir/store/resource_store.h"

namespace fhir::audit {
class AuditLog;
class AuditStore;
}  // namespace fhir::audit

namespace fhir::rest {

struct ServiceOptions {
  bool require_if_match = false;           // 428 for updates/deletes without If-Match
  std::size_t max_body_bytes = 16u << 20;  // 413 above this
  std::size_t max_json_depth = 100;        // 400 above this
  int default_page_size = 50;
  int max_page_size = 1000;
  std::string software_version = "0.1.0";
  RateLimit rate_limit;  // per client (token) or per address; unlimited by default
  std::size_t max_bundle_entries = 10000;  // batch and transaction Bundles; 413 above
  // DELETE [type]?criteria deletes up to this many matches in one transaction; more is 412.
  // 1: a single match only (the default: deleting many at once is rarely what a client meant).
  std::size_t max_conditional_deletes = 1;
  // XML request bodies are validated against the official R4 schema (fhir-single.xsd) first:
  // 400 with the schema's complaints, line and column. Off by default (it costs ~1 ms per 6 KB).
  bool strict_xml = false;
  // With the audit trail on: a write's Provenance stored as a resource, or read from its
  // AuditEvent row (experimental; fhir/audit/provenance.h).
  audit::ProvenanceStorage provenance = audit::kDefaultProvenanceStorage;
};

// Search wiring. With a registry, every write stores its index rows; with a backend too,
// search interactions are served (otherwise 501), and SearchParameter resources written through
// the API become searchable: the registry reloads, and `reindex` is asked to rebuild the rows of
// the resource types concerned (the server runs it in the background).
struct SearchSupport {
  std::shared_ptr<search::LiveRegistry> registry;
  search::SearchBackend* backend = nullptr;
  std::function<void(const std::vector<std::string>& types)> reindex;
};

// Security wiring. Without `authenticate` every request acts as the trusted local principal
// (`--auth off`, loopback only). With it, every interaction but the CapabilityStatement needs
// a bearer token, and the token's scopes are checked on everything read or written.
struct SecuritySupport {
  // Shared: a verified token's Principal is cached and not copied per request.
  std::function<common::Result<std::shared_ptr<const auth::Principal>>(std::string_view access_token)>
      authenticate;
  std::string authorize_url;  // advertised in the CapabilityStatement (SMART oauth-uris)
  std::string token_url;
  // The audit trail: every interaction but the CapabilityStatement is recorded; writes commit
  // their AuditEvent and Provenance in their own transaction. Null: no audit (tests, tools).
  audit::AuditLog* audit = nullptr;
  // Where AuditEvents are read and searched (the audit table); null: AuditEvent is an ordinary
  // resource type.
  audit::AuditStore* audit_store = nullptr;
  std::string server_name = "Fovea";  // AuditEvent.source.observer
};

class AccessControl;

// What other modules (subscriptions) add to the API.
struct ExtensionSupport {
  // Operations on a resource type: `[type]/$name` (id empty) and `[type]/[id]/$name`, any
  // method. Returns nullopt for an operation it does not know (then 404). Runs after
  // authentication; `access` answers what the caller may do.
  std::function<std::optional<RestResponse>(const std::string& type, const std::string& id,
                                            const std::string& operation,
                                            const RestRequest& request,
                                            const AccessControl& access)>
      operation;
  // Called with every validated resource about to be written (single writes and transaction
  // entries). May adjust it (a Subscription's server-managed status) or refuse it: the
  // status's message goes to the client (kInvalid: 400).
  std::function<common::Status(model::Element& resource)> before_write;
  // Called after before_write with every resource about to be written (single writes and
  // transaction entries), its id, the version it replaces (0: none) and the caller's access.
  // May adjust it or refuse it (the workflow's Task state machine: 409 for an illegal
  // transition), and may return more writes that must commit in the same transaction (the
  // next screening step made ready). A returned write's conflict retries the whole request.
  std::function<common::Result<std::vector<store::PlannedWrite>>(
      model::Element& resource, const std::string& id, int replaces_version,
      const AccessControl& access)>
      plan_write;
  // Called before a resource is deleted (single, conditional and transaction deletes) with
  // the caller's access; a non-OK status refuses the delete (the workflow keeps screening
  // steps: 409, mark them entered-in-error instead).
  std::function<common::Status(const std::string& type, const std::string& id,
                               const AccessControl& access)>
      before_delete;
  // The SubscriptionTopic canonicals served, for the CapabilityStatement.
  std::vector<std::string> subscription_topics;
  // The operations `operation` serves, for the CapabilityStatement.
  std::vector<CapabilityOptions::Operation> operations;
};

// Several modules' extensions as one: operations asked of each in turn (the first that knows
// one answers), every before_write and plan_write run (their writes joined), topics and
// operations listed together.
ExtensionSupport CombineExtensions(std::vector<ExtensionSupport> parts);

class FhirService {
 public:
  FhirService(const definitions::Definitions& defs, store::ResourceStore& store,
              const common::Clock& clock, ServiceOptions options, SearchSupport search = {},
              SecuritySupport security = {}, ExtensionSupport extensions = {});

  // Handles one request below the FHIR base. Never throws.
  RestResponse Handle(const RestRequest& request) const;
  const ServiceOptions& options() const { return options_; }

 private:
  class Call;

  const definitions::Definitions& defs_;
  store::ResourceStore& store_;
  const common::Clock& clock_;
  const ServiceOptions options_;
  const SearchSupport search_;
  const SecuritySupport security_;
  const ExtensionSupport extensions_;
  const common::TimePoint started_at_;
  // Writers of one resource on this node take turns instead of racing: the compare-and-set in
  // the store still decides between nodes, but local writers cannot starve each other.
  mutable common::StripedMutex<64> resource_writers_;
  // Conditional writes take turns on their criteria (apart from resource_writers_, which the
  // write they decide on takes next).
  mutable common::StripedMutex<64> criteria_turns_;
  mutable RateLimiter rate_limiter_;
};

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_FHIR_SERVICE_H_
