#ifndef FOVEA_FHIR_FORMAT_XML_SCHEMA_H_
#define FOVEA_FHIR_FORMAT_XML_SCHEMA_H_

// W3C XML Schema validation of FHIR R4 XML (hl7.org/fhir/R4/xml.html, "Schema") against the
// official fhir-single.xsd, which imports xml.xsd and fhir-xhtml.xsd (FHIR 4.0.1, generated
// 2019-11-01; copied to fhir/format/data/xsd/ and embedded in the binary, so nothing is read
// from disk or the network).
//
// The schema checks the shape of the XML: known elements in definition order, cardinalities the
// XSD can express, the `value` attribute of primitives and its lexical form (dates, booleans,
// decimals), the XHTML subset allowed in a narrative. It does not check invariants, bindings or
// profiles; that is fhir/validation's job on the parsed tree.
//
//   auto schema = XmlSchema::R4();                 // compiles the schema on the first call
//   if (!schema.has_value()) return schema.error();
//   FOVEA_RETURN_IF_ERROR((*schema)->Validate(body));
//
// Cost (Release build, 2-core dev VM with other builds running, so upper ends are noisy): the
// first R4() compiles the 1 MB schema once per process in 0.23-0.46 s (the test logs it); later
// calls return the cached grammar. Validate builds its own parser over the shared grammar: about
// 20 us for a tiny resource, 0.2 ms for a 2 KB Patient, 0.6-1.1 ms on average over the official
// examples as Fovea writes them (6 KB each), 10-15 ms for the largest (143 KB, mostly XHTML).

#include <cstddef>
#include <memory>
#include <string_view>

#include "common/status.h"

namespace fhir::format {

// The FHIR R4 XML schema, compiled once into a grammar pool that is locked (read-only) after
// loading. Thread-safe: Validate may be called concurrently; each call makes its own parser over
// the shared, locked grammar pool.
class XmlSchema {
 public:
  // The schema shipped with Fovea. Compiled on the first call (concurrent first callers wait for
  // it); kInternal if it does not compile, which is a build defect. The object lives until
  // static destruction.
  static common::Result<const XmlSchema*> R4();

  // OK when `xml` is a schema-valid FHIR resource document: a well-formed document whose root is
  // one of the resource elements of http://hl7.org/fhir (<Patient xmlns="http://hl7.org/fhir">),
  // which also satisfies ele-1, "every element has a value attribute or child elements" (the XSD
  // cannot express it, so <family/> passes the XSD; ParseResourceXml reports it too).
  // Otherwise kInvalid with up to `max_errors` (at least one) problems, each as
  // "line L, column C: message (in <enclosing><elements>)", joined with "; ", and
  // "; further problems not shown" when there were more. For example
  //   line 1, column 59: no declaration found for element 'nickname' (in <Patient>)
  //   line 1, column 92: element 'active' is not allowed for content model '(id?,meta?,...)'
  // Line and column are where Xerces noticed the problem: the end of the offending start tag, or
  // for a misplaced element the end of its parent. One mistake gives one problem: after an error
  // in a start tag the element's content is not checked. The messages are Xerces' (English).
  // Never fetches anything: xsi:schemaLocation hints are ignored, and a DOCTYPE is refused before
  // its internal subset is read (no DTD, no entity declarations, no external entities).
  // kTooLarge when Xerces runs out of memory.
  common::Status Validate(std::string_view xml, std::size_t max_errors = 10) const;

  ~XmlSchema();
  XmlSchema(const XmlSchema&) = delete;
  XmlSchema& operator=(const XmlSchema&) = delete;

 private:
  struct Grammar;  // the Xerces grammar pool, hidden so no Xerces type leaks into this header

  explicit XmlSchema(std::unique_ptr<Grammar> grammar);

  std::unique_ptr<Grammar> grammar_;
};

}  // namespace fhir::format

#endif  // FOVEA_FHIR_FORMAT_XML_SCHEMA_H_
