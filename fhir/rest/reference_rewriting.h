#ifndef FOVEA_FHIR_REST_REFERENCE_REWRITING_H_
#define FOVEA_FHIR_REST_REFERENCE_REWRITING_H_

// The references of a resource in a transaction Bundle (hl7.org/fhir/R4/http.html#trules):
// entries name each other by fullUrl (urn:uuid:..., urn:oid:... or an absolute URL) until the
// server assigns ids, and by conditional references ("Patient?identifier=sys|1"). Walks the
// typed element tree, so only values that are references by type are touched: an Identifier
// value that happens to be a urn:uuid stays as it is. Stateless: thread-safe.

#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "fhir/model/element.h"

namespace fhir::rest {

// Calls `visit` with every Reference.reference value of `resource` (contained resources
// included), which it may change.
void ForEachReference(model::Element& resource, const std::function<void(std::string&)>& visit);

// Replaces every Reference.reference, uri, url and canonical value equal to a key of `targets`
// with its value ("Patient/123"), and the same values quoted in the narrative's attributes
// (href="urn:uuid:..."). Returns the Reference.reference values that begin "urn:uuid:" or
// "urn:oid:" and name no key: references that would dangle if stored.
std::vector<std::string> RewriteReferences(
    model::Element& resource, const std::unordered_map<std::string, std::string>& targets);

// "Patient?identifier=x": a conditional reference; sets `type` and `criteria` (after the '?').
bool IsConditionalReference(const std::string& reference, std::string* type,
                            std::string* criteria);

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_REFERENCE_REWRITING_H_
