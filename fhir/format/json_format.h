#ifndef FOVEA_FHIR_FORMAT_JSON_FORMAT_H_
#define FOVEA_FHIR_FORMAT_JSON_FORMAT_H_

// FHIR JSON (hl7.org/fhir/R4/json.html) <-> the typed element tree.
// Parsing reports structural problems (unknown elements, wrong JSON kinds, array-ness, empty
// objects, a missing or unknown resourceType) to an IssueSink with FHIRPath locations; values are
// kept with their exact lexical form. Writing emits elements in definition order with
// resourceType first. Stateless functions: thread-safe.

#include <string>
#include <string_view>

#include "common/json.h"
#include "common/status.h"
#include "fhir/definitions/definitions.h"
#include "fhir/model/element.h"
#include "fhir/model/issues.h"

namespace fhir::format {

struct JsonParseOptions {
  std::size_t max_depth = 100;
};

// Parses a JSON resource. Returns kInvalid (with a message saying where) for malformed JSON or a
// body whose resourceType is missing or unknown; any other problem goes to `issues` and the
// (possibly partial) tree is returned, so callers check issues.HasErrors().
common::Result<model::Element> ParseResourceJson(std::string_view text,
                                                 const definitions::Definitions& defs,
                                                 model::IssueSink& issues,
                                                 const JsonParseOptions& options = {});

// The same, from an already parsed JSON value (e.g. a Bundle entry or a Parameters part).
common::Result<model::Element> ResourceFromJson(const common::JsonValue& json,
                                                const definitions::Definitions& defs,
                                                model::IssueSink& issues);

// Any element as FHIR JSON: a resource, a complex value as an object, a primitive as its JSON
// scalar (null when it has only extensions). Used for FHIRPath results.
void AppendElementJson(std::string& out, const model::Element& element);

// Canonical compact JSON: resourceType first, then elements in definition order.
std::string WriteResourceJson(const model::Element& resource);
void AppendResourceJson(std::string& out, const model::Element& resource);

}  // namespace fhir::format

#endif  // FOVEA_FHIR_FORMAT_JSON_FORMAT_H_
