#ifndef FOVEA_FHIR_FORMAT_XML_FORMAT_H_
#define FOVEA_FHIR_FORMAT_XML_FORMAT_H_

// FHIR XML (hl7.org/fhir/R4/xml.html) <-> the typed element tree, the XML twin of json_format.h.
//
//   <Observation xmlns="http://hl7.org/fhir">
//     <status value="final"/>
//     <valueQuantity><value value="1.50"/><unit value="mmHg"/></valueQuantity>
//   </Observation>
//
// Primitives carry their lexical form in the `value` attribute (kept exactly: 1.50 stays 1.50),
// Element.id and Extension.url are attributes, choices are named by type (valueQuantity),
// contained and nested resources are wrapped (<contained><Patient>...</Patient></contained>) and
// Narrative.div is XHTML whose serialised text becomes the xhtml primitive's value, exactly as
// the JSON form carries it. The parser uses Xerces-C++ (SAX2) with DTDs, external entities and
// schema loading disabled. Stateless functions: thread-safe (Xerces is initialised once per
// process on first use).

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"
#include "fhir/definitions/definitions.h"
#include "fhir/model/element.h"
#include "fhir/model/issues.h"

namespace fhir::format {

inline constexpr std::string_view kFhirXmlNamespace = "http://hl7.org/fhir";
inline constexpr std::string_view kXhtmlNamespace = "http://www.w3.org/1999/xhtml";

struct XmlParseOptions {
  // Element nesting, XHTML included; the same bound as JsonParseOptions::max_depth.
  std::size_t max_depth = 100;
};

// Parses an XML resource. Returns kInvalid (with the line and column) for malformed XML, a
// DOCTYPE (FHIR XML forbids DTDs; refusing them rules out XXE and entity expansion), nesting
// deeper than options.max_depth, or a root element that is not a FHIR R4 resource type. Every
// other problem goes to `issues` with a FHIRPath location (unknown element or attribute, wrong
// namespace, a primitive with neither value nor extension, an empty element, text content, an
// element out of definition order [a warning: the tree is put in order anyway]) and the
// (possibly partial) tree is returned, so callers check issues.HasErrors(). Nothing is
// reported to `issues` when the Status is not OK.
common::Result<model::Element> ParseResourceXml(std::string_view text,
                                                const definitions::Definitions& defs,
                                                model::IssueSink& issues,
                                                const XmlParseOptions& options = {});

// Canonical compact XML: <Patient xmlns="http://hl7.org/fhir">, no XML declaration, elements
// in definition order, attributes escaped (tab, CR and LF as character references so they
// survive attribute-value normalisation). Narrative.div is emitted as stored: it is already
// XHTML text (the validator checks it). Characters XML 1.0 cannot carry (C0 controls other
// than tab, LF and CR, which FHIR strings forbid anyway) are written as U+FFFD.
std::string WriteResourceXml(const model::Element& resource);
void AppendResourceXml(std::string& out, const model::Element& resource);

// WriteResourceXml's output indented by two spaces per level (for _pretty=true). FHIR elements
// carry their values in attributes, so whitespace between tags changes nothing; the XHTML of a
// narrative (mixed content, where it would) is copied verbatim.
std::string PrettyXml(std::string_view compact);

}  // namespace fhir::format

#endif  // FOVEA_FHIR_FORMAT_XML_FORMAT_H_
