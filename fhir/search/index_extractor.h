#ifndef FOVEA_FHIR_SEARCH_INDEX_EXTRACTOR_H_
#define FOVEA_FHIR_SEARCH_INDEX_EXTRACTOR_H_

// Extracts a resource's search-index rows by evaluating each applicable parameter's FHIRPath
// expression and turning the resulting elements into rows of the parameter's type
// (hl7.org/fhir/R4/search.html#table). Thread-safe (stateless over immutable inputs).

#include <functional>
#include <memory>
#include <string_view>

#include "fhir/model/element.h"
#include "fhir/search/index_rows.h"
#include "fhir/search/search_parameter.h"

namespace fhir::search {

struct ExtractionStats {
  int parameters = 0;       // parameters evaluated
  int failed = 0;           // expressions that did not compile or evaluate (skipped)
};

// Rows for every parameter of the resource's type. Expressions that fail are skipped (counted
// in `stats`): R4's own expressions include a few an evaluator may reject (e.g. `as` applied to
// a collection is treated as a type filter, as HAPI does).
IndexRows ExtractIndex(const model::Element& resource, const SearchParameterRegistry& registry,
                       ExtractionStats* stats = nullptr);

// Which rows to keep, by their `param`: a parameter's code ("target", "_content"), or the
// name of rows derived from it ("agent:identifier": a reference's identifier, as a token).
// Derived rows are kept only with their parameter.
using ParameterFilter = std::function<bool(std::string_view param)>;

// The rows of ExtractIndex that `wanted` keeps, without evaluating the parameters it drops
// (nor full text, unless it keeps "_text" or "_content").
IndexRows ExtractIndex(const model::Element& resource, const SearchParameterRegistry& registry,
                       const ParameterFilter& wanted, ExtractionStats* stats = nullptr);

// Lower-cases ASCII letters (and leaves other text as is) for string matching.
std::string NormalizeString(std::string_view s);

// Index values are cut to a bounded length (on a UTF-8 character boundary): B-tree entries must
// stay under PostgreSQL's row-size limit whatever a resource contains. Search values are cut
// the same way, so a match on the first kMaxIndexedLength bytes is what :exact can promise.
inline constexpr std::size_t kMaxIndexedLength = 200;
inline constexpr std::size_t kMaxIndexedUriLength = 1000;
// Full-text input per resource (_content, _text): beyond this the rest is not searchable.
inline constexpr std::size_t kMaxFullTextBytes = 64 * 1024;
std::string Truncated(std::string_view s, std::size_t max_bytes = kMaxIndexedLength);

}  // namespace fhir::search

#endif  // FOVEA_FHIR_SEARCH_INDEX_EXTRACTOR_H_
