#ifndef FOVEA_FHIR_SEARCH_SQL_BUILDER_H_
#define FOVEA_FHIR_SEARCH_SQL_BUILDER_H_

// Translates a SearchQuery into parameterised PostgreSQL over the sp_* index tables. SQL text
// comes only from constant fragments and from table/column names chosen by parameter type (an
// allow-list); every value is a bound $n parameter.

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "fhir/search/search_query.h"

namespace fhir::search {

struct SqlQuery {
  std::string text;
  std::vector<std::optional<std::string>> params;
  // The best plan does not depend on the values: the query is anchored on an equality that
  // finds a handful of rows (a reference target, _id, an identifier, a compartment) and has no
  // range or pattern conditions. Such a text may be prepared once per connection and its plan
  // reused (PostgreSQL's generic plan drives from the anchor's index whatever the values);
  // others are planned per execution, because a generic plan that cannot see a date window's
  // values walks every row (docs/PERFORMANCE.md, search).
  bool reuse_plan = false;
};

struct CompiledSearch {
  // Columns: id, version, last_updated (epoch µs), content, type, then one column per sort
  // key (text, used to build the next cursor). At most count + 1 rows: one more than a page tells
  // whether a next page exists.
  SqlQuery page;
  SqlQuery count;  // SELECT count(*) with the same filters
  std::size_t sort_keys = 0;
  // A `previous` cursor: the page query runs in reverse order from the cursor, and the caller
  // reverses the rows it keeps.
  bool backward = false;
};

// kInvalid when the paging cursor is malformed.
common::Result<CompiledSearch> BuildSearchSql(const SearchQuery& query);

// SqlQuery::reuse_plan for a search: anchored on an equality, no ranges or patterns.
bool PlanIndependentOfValues(const SearchQuery& query);
// Whether a clause anchors a search: a reference target, _id, an identifier with its system.
bool AnchorsSearch(const Clause& clause);
// `EXISTS (...)` with OFFSET 0 inside, so the planner probes it per row instead of joining it.
std::string FencedExists(const std::string& clause);

// Resources an _include/_revinclude adds for `ids` (all of type `type`). Columns: type, id,
// version, last_updated (epoch µs), content. At most `limit` rows.
SqlQuery BuildIncludeSql(const Include& include, const std::string& type,
                         const std::vector<std::string>& ids, int limit);

// The cursor of a page boundary row (its sort-key columns, type and id): forward for `next`
// (rows after it), backward for `previous` (rows before it).
std::string EncodeCursor(const std::vector<std::string>& sort_values, const std::string& type,
                         const std::string& id, bool backward = false);

}  // namespace fhir::search

#endif  // FOVEA_FHIR_SEARCH_SQL_BUILDER_H_
