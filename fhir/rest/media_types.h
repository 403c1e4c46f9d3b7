#ifndef FOVEA_FHIR_REST_MEDIA_TYPES_H_
#define FOVEA_FHIR_REST_MEDIA_TYPES_H_

// Content negotiation for the two FHIR formats (hl7.org/fhir/R4/http.html#mime-type): which
// format an answer takes (`_format` wins over Accept; q-values respected), which format a
// request body is in (Content-Type), and the conversion between them through the element tree.

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "fhir/definitions/definitions.h"
#include "fhir/model/issues.h"

namespace fhir::rest {

enum class FhirFormat { kJson, kXml };

// kNotAcceptable (with a message) when neither JSON nor XML can satisfy the request. No
// preference (no _format, no Accept, or */*) means JSON.
common::Result<FhirFormat> NegotiateFormat(std::string_view format_param, std::string_view accept);
// The format of a body by its Content-Type; an absent Content-Type is taken as JSON; nullopt
// for anything else (415).
std::optional<FhirFormat> BodyFormat(std::string_view content_type);
const char* ContentTypeOf(FhirFormat format);  // "application/fhir+json; charset=utf-8", ...

// FHIR XML for a FHIR JSON resource (a stored resource, a Bundle, an OperationOutcome).
common::Result<std::string> JsonToXml(std::string_view json, const definitions::Definitions& defs);
// FHIR JSON for a FHIR XML resource; problems in the XML go to `issues` (the caller answers 400
// when it has errors); kInvalid for XML that is not well-formed or has a DOCTYPE.
common::Result<std::string> XmlToJson(std::string_view xml, const definitions::Definitions& defs,
                                      model::IssueSink& issues, std::size_t max_depth);

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_MEDIA_TYPES_H_
