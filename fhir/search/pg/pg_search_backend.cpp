#include "fhir/search/pg/pg_search_backend.h"

#include <algorithm>
#include <map>
#include <set>

#include "fhir/search/sql_builder.h"

namespace fhir::search::pg {
namespace {

common::Result<store::pg::PgResult> Run(store::pg::PgConnection& conn, const char* name, const SqlQuery& q) {
  if (q.reuse_plan) return conn.ExecuteCached(name, q.text, q.params);
  return conn.ExecuteUnprepared({name, q.text.c_str()}, q.params);
}

}  // namespace

common::Result<SearchResult> PgSearchBackend::Search(const SearchQuery& query) {
  FOVEA_ASSIGN_OR_RETURN(CompiledSearch sql, BuildSearchSql(query));
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  // Unprepared unless the plan cannot depend on the values (SqlQuery::reuse_plan): a prepared
  // search soon gets PostgreSQL's generic plan, which knows no values and chose a walk of every
  // row for date windows (10x slower in bench/search_bench). Planning per search costs
  // ~0.2-0.6 ms; the plan fits the values.
  SearchResult result;
  if (query.summary_count) {
    // Only the number: no page to read, and so no links to pages.
    FOVEA_ASSIGN_OR_RETURN(store::pg::PgResult count, Run(*conn, "search.count", sql.count));
    result.total = count.GetInt64(0, 0);
    return result;
  }
  if (query.count > 0) {
    // The text is assembled from constant fragments (sql_builder.cpp); values are parameters.
    FOVEA_ASSIGN_OR_RETURN(store::pg::PgResult rows,
                           Run(*conn, "search.page", sql.page));
    int n = rows.rows();
    int kept = std::min(n, query.count);
    std::vector<std::vector<std::string>> keys(static_cast<std::size_t>(kept));
    for (int i = 0; i < kept; ++i) {
      SearchMatch m;
      m.type = std::string(rows.Get(i, 4));
      m.id = std::string(rows.Get(i, 0));
      m.version = static_cast<int>(rows.GetInt64(i, 1));
      m.last_updated = common::TimePoint(std::chrono::microseconds(rows.GetInt64(i, 2)));
      m.content = std::string(rows.Get(i, 3));
      result.matches.push_back(std::move(m));
      for (std::size_t k = 0; k < sql.sort_keys; ++k) {
        keys[static_cast<std::size_t>(i)].emplace_back(rows.Get(i, 5 + static_cast<int>(k)));
      }
    }
    bool more = n > query.count;  // beyond the page, in the direction we read
    if (sql.backward) {
      std::reverse(result.matches.begin(), result.matches.end());
      std::reverse(keys.begin(), keys.end());
    }
    if (!result.matches.empty()) {
      const SearchMatch& first = result.matches.front();
      const SearchMatch& last = result.matches.back();
      // Reading forward, the rows before this page exist if we came through a cursor; reading
      // backward, the rows after it do.
      bool has_next = sql.backward ? true : more;
      bool has_previous = sql.backward ? more : query.cursor.has_value();
      if (has_next) result.next_cursor = EncodeCursor(keys.back(), last.type, last.id);
      if (has_previous) {
        result.previous_cursor = EncodeCursor(keys.front(), first.type, first.id, true);
      }
    }
    // A first page that is not full already tells the total for free.
    if (!query.cursor && n <= query.count && query.count > 0) result.total = n;
  }
  if (!result.total && (query.total != TotalMode::kNone || query.count == 0)) {
    FOVEA_ASSIGN_OR_RETURN(store::pg::PgResult count,
                           Run(*conn, "search.count", sql.count));
    result.total = count.GetInt64(0, 0);
  }
  FOVEA_RETURN_IF_ERROR(AddIncludes(*conn, query, result));
  return result;
}

common::Status PgSearchBackend::AddIncludes(store::pg::PgConnection& conn, const SearchQuery& query,
                                            SearchResult& result) {
  if (query.includes.empty() || result.matches.empty()) return common::Status::Ok();
  // Every resource in the Bundle once: matches first, then each newly included one.
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& m : result.matches) seen.emplace(m.type, m.id);
  std::vector<const SearchMatch*> frontier;
  for (const auto& m : result.matches) frontier.push_back(&m);
  for (int round = 0; round < kMaxIncludeRounds && !frontier.empty(); ++round) {
    std::vector<SearchMatch> added;
    for (const Include& inc : query.includes) {
      if (round > 0 && !inc.iterate) continue;
      // Group the frontier by type: forward includes start from source_type resources.
      std::map<std::string, std::vector<std::string>> ids_by_type;
      for (const SearchMatch* m : frontier) {
        if (!inc.reverse && m->type != inc.source_type) continue;
        ids_by_type[m->type].push_back(m->id);
      }
      for (const auto& [type, ids] : ids_by_type) {
        int room = kMaxIncluded - static_cast<int>(result.included.size() + added.size());
        if (room <= 0) break;
        SqlQuery sql = BuildIncludeSql(inc, type, ids, room);
        FOVEA_ASSIGN_OR_RETURN(store::pg::PgResult rows, Run(conn, "search.include", sql));
        for (int i = 0; i < rows.rows(); ++i) {
          SearchMatch m;
          m.type = std::string(rows.Get(i, 0));
          m.id = std::string(rows.Get(i, 1));
          if (!seen.emplace(m.type, m.id).second) continue;
          m.version = static_cast<int>(rows.GetInt64(i, 2));
          m.last_updated = common::TimePoint(std::chrono::microseconds(rows.GetInt64(i, 3)));
          m.content = std::string(rows.Get(i, 4));
          added.push_back(std::move(m));
        }
      }
    }
    std::size_t first_new = result.included.size();
    for (auto& m : added) result.included.push_back(std::move(m));
    frontier.clear();
    for (std::size_t i = first_new; i < result.included.size(); ++i) {
      frontier.push_back(&result.included[i]);
    }
  }
  return common::Status::Ok();
}

}  // namespace fhir::search::pg
