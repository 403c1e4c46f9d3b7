#include "fhir/search/pg/pg_search_backend.h"

#include "fhir/search/sql_builder.h"

namespace fhir::search::pg {

common::Result<SearchResult> PgSearchBackend::Search(const SearchQuery& query) {
  FOVEA_ASSIGN_OR_RETURN(CompiledSearch sql, BuildSearchSql(query));
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  SearchResult result;
  if (query.count > 0 || query.summary_count) {
    // The text is assembled from constant fragments (sql_builder.cpp); values are parameters.
    FOVEA_ASSIGN_OR_RETURN(store::pg::PgResult rows,
                           conn->ExecuteUnprepared({"search.page", sql.page.text.c_str()},
                                                   sql.page.params));
    int n = rows.rows();
    for (int i = 0; i < n && i < query.count; ++i) {
      SearchMatch m;
      m.id = std::string(rows.Get(i, 0));
      m.version = static_cast<int>(rows.GetInt64(i, 1));
      m.last_updated = common::TimePoint(std::chrono::microseconds(rows.GetInt64(i, 2)));
      m.content = std::string(rows.Get(i, 3));
      result.matches.push_back(std::move(m));
    }
    if (n > query.count && query.count > 0) {
      int last = query.count - 1;
      std::vector<std::string> keys;
      for (std::size_t k = 0; k < sql.sort_keys; ++k) {
        keys.emplace_back(rows.Get(last, 4 + static_cast<int>(k)));
      }
      result.next_cursor = EncodeCursor(keys, result.matches.back().id);
    }
    // A first page that is not full already tells the total for free.
    if (!query.cursor && n <= query.count && query.count > 0) result.total = n;
  }
  if (!result.total && (query.total != TotalMode::kNone || query.summary_count || query.count == 0)) {
    FOVEA_ASSIGN_OR_RETURN(store::pg::PgResult count,
                           conn->ExecuteUnprepared({"search.count", sql.count.text.c_str()},
                                                   sql.count.params));
    result.total = count.GetInt64(0, 0);
  }
  if (query.summary_count) result.matches.clear();
  return result;
}

}  // namespace fhir::search::pg
