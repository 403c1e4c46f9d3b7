#ifndef FOVEA_FHIR_SEARCH_PG_PG_SEARCH_BACKEND_H_
#define FOVEA_FHIR_SEARCH_PG_PG_SEARCH_BACKEND_H_

// SearchBackend on PostgreSQL: runs the SQL from sql_builder.h. Thread-safe.

#include "fhir/search/search_backend.h"
#include "fhir/store/pg/connection_pool.h"

namespace fhir::search::pg {

class PgSearchBackend final : public SearchBackend {
 public:
  explicit PgSearchBackend(store::pg::ConnectionPool& pool) : pool_(pool) {}
  common::Result<SearchResult> Search(const SearchQuery& query) override;

 private:
  // _include/_revinclude (:iterate repeats on what was just added, a bounded number of rounds).
  static constexpr int kMaxIncludeRounds = 4;
  static constexpr int kMaxIncluded = 1000;
  common::Status AddIncludes(store::pg::PgConnection& conn, const SearchQuery& query,
                             SearchResult& result);

  store::pg::ConnectionPool& pool_;
};

}  // namespace fhir::search::pg

#endif  // FOVEA_FHIR_SEARCH_PG_PG_SEARCH_BACKEND_H_
