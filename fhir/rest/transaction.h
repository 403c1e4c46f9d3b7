#ifndef FOVEA_FHIR_REST_TRANSACTION_H_
#define FOVEA_FHIR_REST_TRANSACTION_H_

// Transaction Bundles (hl7.org/fhir/R4/http.html#transaction): every entry succeeds and commits
// in one PostgreSQL transaction, or nothing is written and the answer names the entry that
// failed. Processing follows the spec's rules (http.html#trules): conditional entries are
// decided under locks on their criteria (the same locks single conditional writes take, so a
// transaction and a concurrent conditional create never both create); ids are assigned to the
// created resources and every fullUrl (urn:uuid:, urn:oid:, absolute) is rewritten in the
// references, uris and narrative links that name it; conditional references
// ("Patient?identifier=sys|1") are resolved; then the writes are applied in the order DELETE,
// POST, PUT/PATCH with one ResourceStore::WriteAll, and GET/HEAD entries run after the commit.
//
// The plan is built in memory against the committed state and written with compare-and-set on
// every version it read: if a concurrent writer changed one of them in between, the plan is
// made again (an entry with If-Match gets 412 instead), so nothing is lost or overwritten.

#include <functional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "common/status.h"
#include "fhir/definitions/definitions.h"
#include "fhir/rest/access_control.h"
#include "fhir/rest/audit_recording.h"
#include "fhir/rest/bundle_request.h"
#include "fhir/rest/http_types.h"
#include "fhir/rest/writes.h"
#include "fhir/search/search_backend.h"
#include "fhir/search/search_parameter.h"
#include "fhir/store/resource_store.h"

namespace fhir::rest {

// What a transaction needs from the request it runs in.
struct TransactionContext {
  const definitions::Definitions& defs;
  store::ResourceStore& store;
  const common::Clock& clock;
  const search::SearchParameterRegistry* registry;  // null: no index rows, no conditionals
  const AccessControl& access;
  const RestRequest& request;  // base URL, Prefer
  std::size_t max_entries = 10000;
  std::size_t max_json_depth = 100;
  // Up to two resources of `type` matching `criteria`, within what the caller may search.
  std::function<common::Result<std::vector<search::SearchMatch>>(const std::string& type,
                                                                 const Params& criteria)>
      match;
  // The audit trail of the writes about to commit; empty function: no audit.
  std::function<common::Result<WriteAudit>(const std::vector<store::PlannedWrite>&)> audit;
  // Runs a GET/HEAD entry as a request of its own, after the commit.
  std::function<RestResponse(const RestRequest&)> run;
  // ExtensionSupport::before_write, for every resource written; empty: none.
  std::function<common::Status(model::Element&)> before_write;
  // ExtensionSupport::plan_write: its extra writes join the transaction; empty: none.
  std::function<common::Result<std::vector<store::PlannedWrite>>(
      model::Element&, const std::string& id, int replaces_version, const AccessControl&)>
      plan_write;
  // ExtensionSupport::before_delete; empty: none.
  std::function<common::Status(const std::string& type, const std::string& id, const AccessControl&)>
      before_delete;
};

struct TransactionResult {
  int status = 200;
  std::string body;      // a transaction-response Bundle, or the OperationOutcome of a failure
  std::string failure;   // for the audit trail: what failed, no content
  std::vector<std::string> written;  // "Patient/1/_history/2" of every version written
  std::vector<std::string> written_types;  // the resource types written (distinct)
};

// Runs `bundle` (a Bundle of type transaction, as JSON) to completion. Never throws.
TransactionResult ExecuteTransaction(const common::JsonValue& bundle,
                                     const TransactionContext& context);

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_TRANSACTION_H_
