#ifndef FOVEA_FHIR_REST_SUBSETTING_H_
#define FOVEA_FHIR_REST_SUBSETTING_H_

// _summary and _elements (hl7.org/fhir/R4/search.html#summary, #elements) on read, vread and
// search results. The stored JSON is parsed only when a subset is asked for; subsets carry the
// SUBSETTED tag so nobody mistakes them for the full resource.

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "fhir/definitions/definitions.h"

namespace fhir::rest {

struct Subset {
  enum class Summary { kFalse, kTrue, kText, kData };
  Summary summary = Summary::kFalse;
  std::vector<std::string> elements;  // top-level element names; empty: no _elements
  bool active() const { return summary != Summary::kFalse || !elements.empty(); }
};

// Reads _summary (true/text/data/false; count is the search's business) and _elements.
// kInvalid for an unknown _summary value.
common::Result<Subset> ParseSubset(const std::string& summary, const std::string& elements);

// The stored resource reduced to the subset, or unchanged when the subset is inactive.
common::Result<std::string> ApplySubset(const std::string& stored_json, const Subset& subset,
                                        const definitions::Definitions& defs);

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_SUBSETTING_H_
