#ifndef FOVEA_FHIR_SEARCH_SEARCH_BACKEND_H_
#define FOVEA_FHIR_SEARCH_SEARCH_BACKEND_H_

// Runs a parsed search against the index. The seam between the REST layer and the database:
// PgSearchBackend (fhir/search/pg) is the implementation. Implementations are thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "fhir/search/search_query.h"

namespace fhir::search {

struct SearchMatch {
  std::string type;
  std::string id;
  int version = 0;
  common::TimePoint last_updated;
  std::string content;  // stored canonical JSON
};

struct SearchResult {
  std::vector<SearchMatch> matches;     // at most query.count
  std::vector<SearchMatch> included;    // added by _include / _revinclude
  std::optional<std::string> next_cursor;      // set when more rows follow
  std::optional<std::string> previous_cursor;  // set when this is not the first page
  std::optional<std::int64_t> total;
};

class SearchBackend {
 public:
  virtual ~SearchBackend() = default;
  // kInvalid for a malformed cursor; kUnavailable when the database is down.
  virtual common::Result<SearchResult> Search(const SearchQuery& query) = 0;
};

}  // namespace fhir::search

#endif  // FOVEA_FHIR_SEARCH_SEARCH_BACKEND_H_
