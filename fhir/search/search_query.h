#ifndef FOVEA_FHIR_SEARCH_SEARCH_QUERY_H_
#define FOVEA_FHIR_SEARCH_SEARCH_QUERY_H_

// A parsed FHIR search (hl7.org/fhir/R4/search.html): which parameters, with which modifiers,
// prefixes and OR-ed values, plus the result controls. Parsing never touches SQL; see
// sql_builder.h for the translation. Thread-compatible value type.

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "fhir/model/issues.h"
#include "fhir/search/search_parameter.h"

namespace fhir::search {

// One `name[:modifier]=v1,v2` (the values are OR-ed; repeated parameters are AND-ed).
// One `name[:modifier]=v1,v2` (the values are OR-ed; repeated parameters are AND-ed).
// Chained (`subject:Patient.name=x`) and reverse-chained (`_has:Observation:patient:code=x`)
// parameters nest: the values belong to the innermost clause.
struct Clause {
  std::string name;      // as sent, without the modifier
  const SearchParameter* param = nullptr;  // null for _id / _lastUpdated / _has
  std::string modifier;  // "", "exact", "contains", "not", "missing", "text", "below", "above",
                         // or a resource type for references
  std::vector<std::string> values;  // unescaped; a value may still carry a prefix ("ge2026")

  // Chaining: `param` is a reference parameter; `chain` applies to the referenced resources,
  // restricted to `target_types` (from the :Type modifier or the targets that define the
  // chained parameter).
  std::shared_ptr<Clause> chain;
  std::vector<std::string> target_types;

  // Composite parameters: the component parameters; each value is "first$second" (or
  // "first$second$third" for token$number$number).
  std::vector<const SearchParameter*> components;

  // Reverse chaining: resources of `has_type` whose `has_param` refers to this resource and
  // that match `chain`.
  std::string has_type;
  const SearchParameter* has_param = nullptr;
};

// `_include=Observation:subject[:Patient]` or `_revinclude=Provenance:target`, `:iterate`.
struct Include {
  bool reverse = false;
  bool iterate = false;
  std::string source_type;  // the resource type holding the reference
  std::string param;        // reference parameter code, or "*" for all of them
  std::string target_type;  // optional restriction
};

struct SortKey {
  std::string name;  // "_id", "_lastUpdated", or a parameter ("date", "family", "code")
  const SearchParameter* param = nullptr;  // for a parameter
  bool descending = false;
};

enum class TotalMode { kNone, kEstimate, kAccurate };

// One way the caller may reach the searched type (granular SMART scopes, set by the REST
// layer's access control, never by the query string): the resources matching every clause,
// and, with `patient`, only inside that patient's compartment.
struct AccessAlternative {
  std::vector<Clause> clauses;
  std::string patient;
  std::vector<std::string> compartment_params;  // the Patient compartment's, for `patient`
};

struct SearchQuery {
  std::string type;                // empty: system-level search (GET [base]?...)
  std::vector<std::string> types;  // system-level: _type, empty for every type
  std::string base_url;  // this server's FHIR base, to recognise absolute local references
  // Compartment search (Patient/123/Observation): resources that refer to this one through
  // any of `compartment_params`.
  std::string compartment_type;
  std::string compartment_id;
  std::vector<std::string> compartment_params;
  std::vector<Clause> clauses;
  // Results must match at least one of these (empty: no such restriction).
  std::vector<AccessAlternative> access_any;
  std::vector<Include> includes;
  int count = 20;
  std::vector<SortKey> sort;
  TotalMode total = TotalMode::kNone;
  bool summary_count = false;               // _summary=count
  std::optional<std::string> cursor;        // opaque paging cursor from a next link
  // name=value pairs actually applied, in order, for the self link.
  std::vector<std::pair<std::string, std::string>> applied;
};

struct SearchOptions {
  bool strict = false;  // Prefer: handling=strict
  int default_count = 20;
  int max_count = 1000;
};

// Parses the query string pairs of `GET [type]?...`. Unknown or malformed parameters: with
// strict handling an error issue each (the caller answers 400); otherwise a warning and the
// parameter is ignored (and left out of `applied`).
SearchQuery ParseSearch(const std::string& type,
                        const std::vector<std::pair<std::string, std::string>>& params,
                        const SearchParameterRegistry& registry, const SearchOptions& options,
                        model::IssueSink& issues);

// A date window: a `ge`/`gt` clause and an `lt`/`le` clause on the same date parameter (no
// modifier, one value each) whose bounds leave a non-empty window, as in
// `date=ge2025-05-01&date=lt2025-06-01`. Both bounds apply to one stored value (a value that
// lies in or overlaps the window), the way HAPI's DateRangeParam reads them; a resource with one
// value before and another after the window does not match. The SQL (one range-overlap test
// the sp_date_range index serves) and the in-memory matcher both follow this.
struct DateWindow {
  std::size_t lower;  // index of the ge/gt clause in the clause list
  std::size_t upper;  // index of the lt/le clause
};
std::vector<DateWindow> FindDateWindows(const std::vector<Clause>& clauses);

// Composite shapes Fovea indexes: token$token, token$quantity, token$date, token$string,
// token$number$number and reference$token.
bool IsSupportedComposite(const std::vector<const SearchParameter*>& components);

// True when a date/number/quantity value starts with a comparison prefix (ge2026, lt5.4).
bool HasPrefix(std::string_view value);

// Splits a parameter value on unescaped commas; "\," becomes ",". The other escapes (\| \$ \\)
// stay for the type-specific parsing (a token's system|code split).
std::vector<std::string> SplitValues(std::string_view value);
// Removes the remaining search escapes (\| \$ \\) of one value.
std::string Unescape(std::string_view s);
// Splits a token-like value at the first unescaped '|' (the left side unescaped); false when
// there is none.
bool SplitPipe(std::string_view s, std::string& left, std::string& right);
// Splits a composite value at its unescaped '$'s ("1$lt345$gt123" -> "1", "lt345", "gt123"),
// each part still escaped for its component's own parsing.
std::vector<std::string> SplitComposite(std::string_view s);

// Token :below/:above over the hierarchies of the shipped R4 code systems: the codes a value
// (`system|code`, or a bare `code` looked up in every shipped hierarchy) stands for, itself
// included. `system` is empty for a bare code. nullopt when no shipped hierarchy has the code.
struct SubsumedCodes {
  std::string system;
  std::vector<std::string> codes;
};
std::optional<SubsumedCodes> TokenSubsumption(std::string_view value, bool below);

}  // namespace fhir::search

#endif  // FOVEA_FHIR_SEARCH_SEARCH_QUERY_H_
