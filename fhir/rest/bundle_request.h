#ifndef FOVEA_FHIR_REST_BUNDLE_REQUEST_H_
#define FOVEA_FHIR_REST_BUNDLE_REQUEST_H_

// The envelope of batch and transaction Bundles (hl7.org/fhir/R4/http.html#transaction): each
// entry's `request` as an HTTP request below the FHIR base, and the `response` entries of the
// batch-response / transaction-response Bundle. Stateless functions: thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "common/status.h"
#include "fhir/rest/bundle_writer.h"
#include "fhir/rest/http_types.h"

namespace fhir::rest {

using Params = std::vector<std::pair<std::string, std::string>>;

enum class EntryMethod { kGet, kHead, kPost, kPut, kDelete, kPatch };

// One entry's Bundle.entry.request.
struct EntryRequest {
  EntryMethod method = EntryMethod::kGet;
  std::string path;  // below the FHIR base, without a leading '/': "Patient/1", "Patient"
  Params query;      // decoded, in order
  std::string if_match;
  std::string if_none_match;
  std::string if_none_exist;
  std::string if_modified_since;

  // The path split at '/': {"Patient", "1"}.
  std::vector<std::string_view> Segments() const;
};

std::string_view EntryMethodName(EntryMethod method);  // "GET", "POST", ...

// The `request` of a Bundle entry. `base_url` is the FHIR base: an absolute url under it is
// taken as relative; any other absolute url is refused. kInvalid with a message naming what
// is wrong (the caller adds which entry).
common::Result<EntryRequest> ParseEntryRequest(const common::JsonValue& entry,
                                               std::string_view base_url);

// The entry as a request of its own (a batch entry, or a transaction's GET), carrying the outer
// request's identity (base, request id, peer, Prefer, Accept is JSON). `content_type` is that
// of `body`, when there is one.
RestRequest EntryAsRestRequest(const EntryRequest& entry, const RestRequest& outer,
                               std::string body,
                               std::string_view content_type = "application/fhir+json");

// The response to a stand-alone request as a Bundle entry response: status, Location, ETag,
// Last-Modified, and the body as resource (or as outcome, for an OperationOutcome answering a
// failure).
EntryResponse EntryResponseFrom(const RestResponse& response, std::string_view base_url);

// The JSON Patch a PATCH entry carries (http.html#transaction: a Binary whose contentType is
// application/json-patch+json, the patch base64 in `data`). kUnsupportedMedia for anything else.
common::Result<std::string> JsonPatchOfBinary(const common::JsonValue& resource);

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_BUNDLE_REQUEST_H_
