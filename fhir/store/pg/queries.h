#ifndef FOVEA_FHIR_STORE_PG_QUERIES_H_
#define FOVEA_FHIR_STORE_PG_QUERIES_H_

// The SQL of PgResourceStore, as named constants. bench/ runs the very same statements over raw
// libpq as the storage baseline, so the two measure the same database work.
//
// A write is one statement: data-modifying CTEs that change the current row, append the history
// row and append the change-log event. One statement is one transaction, so the three commit
// together or not at all, in a single round trip. The current-row change is a compare-and-set
// on `version`: if another writer got there first it touches no row, and since the history and
// event inserts select FROM that CTE, they insert nothing either.

#include "fhir/store/pg/connection.h"

namespace fhir::store::pg {

// $1 type, $2 id, $3 version, $4 last_updated, $5 deleted, $6 content, $7 method
inline constexpr PgQuery kInsertFirstVersion{
    "store.insert_first_version",
    "WITH cur AS ("
    "  INSERT INTO resource (type, id, version, last_updated, deleted, content)"
    "  VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (type, id) DO NOTHING RETURNING 1),"
    " ev AS ("
    "  INSERT INTO event (type, id, version, interaction, at)"
    "  SELECT $1, $2, $3, $7, $4 FROM cur RETURNING seq)"
    " INSERT INTO resource_history (seq, type, id, version, last_updated, deleted, method, content)"
    " SELECT seq, $1, $2, $3, $4, $5, $7, $6 FROM ev"};

// As above, plus $8: the version the writer read (compare-and-set).
inline constexpr PgQuery kInsertNextVersion{
    "store.insert_next_version",
    "WITH cur AS ("
    "  UPDATE resource SET version = $3, last_updated = $4, deleted = $5, content = $6"
    "  WHERE type = $1 AND id = $2 AND version = $8 RETURNING 1),"
    " ev AS ("
    "  INSERT INTO event (type, id, version, interaction, at)"
    "  SELECT $1, $2, $3, $7, $4 FROM cur RETURNING seq)"
    " INSERT INTO resource_history (seq, type, id, version, last_updated, deleted, method, content)"
    " SELECT seq, $1, $2, $3, $4, $5, $7, $6 FROM ev"};

inline constexpr PgQuery kHead{
    "store.head", "SELECT version, deleted FROM resource WHERE type = $1 AND id = $2"};

inline constexpr PgQuery kReadCurrent{
    "store.read_current",
    "SELECT version, (extract(epoch FROM last_updated) * 1000000)::bigint, deleted, content"
    " FROM resource WHERE type = $1 AND id = $2"};

inline constexpr PgQuery kReadVersion{
    "store.read_version",
    "SELECT version, (extract(epoch FROM last_updated) * 1000000)::bigint, deleted, content,"
    " method, seq FROM resource_history WHERE type = $1 AND id = $2 AND version = $3"};

inline constexpr PgQuery kPing{"store.ping", "SELECT 1"};

}  // namespace fhir::store::pg

#endif  // FOVEA_FHIR_STORE_PG_QUERIES_H_
