#ifndef FOVEA_FHIR_REST_PATCHING_H_
#define FOVEA_FHIR_REST_PATCHING_H_

// The patch interaction's two formats (hl7.org/fhir/R4/http.html#patch): JSON Patch (RFC 6902,
// application/json-patch+json) and FHIRPath Patch (a Parameters resource, fhirpatch.html). Used
// by PATCH [type]/[id], conditional PATCH and PATCH entries of batch and transaction Bundles.
// Stateless: thread-safe.

#include <string>
#include <string_view>

#include "common/json.h"
#include "common/status.h"
#include "fhir/definitions/definitions.h"

namespace fhir::rest {

enum class PatchFormat { kJsonPatch, kFhirPathPatch };

// A patch as sent: its format and its JSON text (a FHIRPath Patch sent as XML is converted).
struct PatchDocument {
  PatchFormat format = PatchFormat::kJsonPatch;
  std::string json;
};

// The patch of a PATCH request: by Content-Type, application/json-patch+json or a Parameters
// resource in FHIR JSON or XML. kUnsupportedMedia for other types.
common::Result<PatchDocument> PatchOfRequest(std::string_view content_type, std::string_view body,
                                             const definitions::Definitions& defs,
                                             std::size_t max_depth);

// The patch of a Bundle entry: a Binary holding a JSON Patch, or a Parameters resource.
common::Result<PatchDocument> PatchOfEntry(const common::JsonValue& resource);

// `current` (a stored resource's canonical JSON, of `type` and `id`) with `patch` applied, as
// JSON to be validated and written like any update. kInvalid when the patch does not apply or
// would change the resourceType or id.
common::Result<std::string> ApplyPatch(const PatchDocument& patch, const std::string& current,
                                       std::string_view type, std::string_view id,
                                       const definitions::Definitions& defs, std::size_t max_depth);

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_PATCHING_H_
