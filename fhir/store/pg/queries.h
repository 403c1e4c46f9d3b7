#ifndef FOVEA_FHIR_STORE_PG_QUERIES_H_
#define FOVEA_FHIR_STORE_PG_QUERIES_H_

// The SQL of PgResourceStore, as named constants. bench/ runs the very same statements over raw
// libpq as the storage baseline, so the two measure the same database work.
//
// A write is one statement: data-modifying CTEs that change the current row, replace its search
// index rows, append the history row and append the change-log event. One statement is one
// transaction, so all of it commits together or not at all, in a single round trip. (All CTEs
// see the same snapshot, so deleting the old index rows and inserting the new ones in sibling
// CTEs does not interfere.) The current-row change is a compare-and-set
// on `version`: if another writer got there first it touches no row, and since every other CTE
// selects FROM that one, nothing else is written either. The resources created with a write
// (WriteWith's companions: its Provenance) and its AuditEvent rows (the audit_event table,
// migration 0004) join the same statement, each as one JSON array parameter, gated on that CTE
// too; WriteAll (a transaction Bundle) runs the same fragments as separate statements inside
// one explicit transaction.

#include "fhir/store/pg/connection.h"

namespace fhir::store::pg {

// The statements are assembled from these fragments (macros only to concatenate literals; they
// are #undef'd at the end of this header).

// The CTEs of kInsertFirstVersion.
#define FOVEA_SQL_FIRST_VERSION_CTES \
    "WITH cur AS (" \
    "  INSERT INTO resource (type, id, version, last_updated, deleted, content)" \
    "  VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (type, id) DO NOTHING RETURNING 1)," \
    " i_string AS (INSERT INTO sp_string (type, id, param, normalized, exact)" \
    "  SELECT $1, $2, r.p, r.n, r.e FROM cur," \
    "  jsonb_to_recordset(COALESCE($8::jsonb -> 'string', '[]')) AS r(p text, n text, e text))," \
    " i_token AS (INSERT INTO sp_token (type, id, param, system, code, text)" \
    "  SELECT $1, $2, r.p, r.s, r.c, r.t FROM cur," \
    "  jsonb_to_recordset(COALESCE($8::jsonb -> 'token', '[]')) AS r(p text, s text, c text, t text))," \
    " i_reference AS (INSERT INTO sp_reference (type, id, param, target_type, target_id, url)" \
    "  SELECT $1, $2, r.p, r.tt, r.ti, r.u FROM cur," \
    "  jsonb_to_recordset(COALESCE($8::jsonb -> 'reference', '[]')) AS r(p text, tt text, ti text, u text))," \
    " i_date AS (INSERT INTO sp_date (type, id, param, low, high)" \
    "  SELECT $1, $2, r.p, r.lo::timestamptz, r.hi::timestamptz FROM cur," \
    "  jsonb_to_recordset(COALESCE($8::jsonb -> 'date', '[]')) AS r(p text, lo text, hi text))," \
    " i_number AS (INSERT INTO sp_number (type, id, param, value, low, high)" \
    "  SELECT $1, $2, r.p, r.v::numeric, r.lo::numeric, r.hi::numeric FROM cur," \
    "  jsonb_to_recordset(COALESCE($8::jsonb -> 'number', '[]')) AS r(p text, v text, lo text, hi text))," \
    " i_quantity AS (INSERT INTO sp_quantity (type, id, param, value, low, high, system, code, unit, dimension, canonical)" \
    "  SELECT $1, $2, r.p, r.v::numeric, r.lo::numeric, r.hi::numeric, r.s, r.c, r.u, r.d, r.cv::numeric FROM cur," \
    "  jsonb_to_recordset(COALESCE($8::jsonb -> 'quantity', '[]')) AS r(p text, v text, lo text, hi text, s text, c text, u text, d text, cv text))," \
    " i_uri AS (INSERT INTO sp_uri (type, id, param, value)" \
    "  SELECT $1, $2, r.p, r.v FROM cur," \
    "  jsonb_to_recordset(COALESCE($8::jsonb -> 'uri', '[]')) AS r(p text, v text))," \
    " i_composite_token AS (INSERT INTO sp_composite_token (type, id, param, t_system, t_code, system, code, text)" \
    "  SELECT $1, $2, r.p, r.ts, r.tc, r.s, r.c, r.t FROM cur," \
    "  jsonb_to_recordset(COALESCE($8::jsonb -> 'composite_token', '[]')) AS r(p text, ts text, tc text, s text, c text, t text))," \
    " i_composite_quantity AS (INSERT INTO sp_composite_quantity (type, id, param, t_system, t_code, value, low, high, system, code, unit)" \
    "  SELECT $1, $2, r.p, r.ts, r.tc, r.v::numeric, r.lo::numeric, r.hi::numeric, r.s, r.c, r.u FROM cur," \
    "  jsonb_to_recordset(COALESCE($8::jsonb -> 'composite_quantity', '[]')) AS r(p text, ts text, tc text, v text, lo text, hi text, s text, c text, u text))," \
    " i_composite_date AS (INSERT INTO sp_composite_date (type, id, param, t_system, t_code, low, high)" \
    "  SELECT $1, $2, r.p, r.ts, r.tc, r.lo::timestamptz, r.hi::timestamptz FROM cur," \
    "  jsonb_to_recordset(COALESCE($8::jsonb -> 'composite_date', '[]')) AS r(p text, ts text, tc text, lo text, hi text))," \
    " i_composite_string AS (INSERT INTO sp_composite_string (type, id, param, t_system, t_code, normalized, exact)" \
    "  SELECT $1, $2, r.p, r.ts, r.tc, r.n, r.e FROM cur," \
    "  jsonb_to_recordset(COALESCE($8::jsonb -> 'composite_string', '[]')) AS r(p text, ts text, tc text, n text, e text))," \
    " i_composite_number AS (INSERT INTO sp_composite_number (type, id, param, t_system, t_code, value, value2)" \
    "  SELECT $1, $2, r.p, r.ts, r.tc, r.v::numeric, r.v2::numeric FROM cur," \
    "  jsonb_to_recordset(COALESCE($8::jsonb -> 'composite_number', '[]')) AS r(p text, ts text, tc text, v text, v2 text))," \
    " i_composite_reference AS (INSERT INTO sp_composite_reference (type, id, param, target_type, target_id, url, system, code, text)" \
    "  SELECT $1, $2, r.p, r.tt, r.ti, r.u, r.s, r.c, r.t FROM cur," \
    "  jsonb_to_recordset(COALESCE($8::jsonb -> 'composite_reference', '[]')) AS r(p text, tt text, ti text, u text, s text, c text, t text))," \
    " i_text AS (INSERT INTO sp_text (type, id, param, tsv)" \
    "  SELECT $1, $2, r.p, to_tsvector('simple', r.v) FROM cur," \
    "  jsonb_to_recordset(COALESCE($8::jsonb -> 'text', '[]')) AS r(p text, v text))," \
    " ev AS (" \
    "  INSERT INTO event (type, id, version, interaction, at)" \
    "  SELECT $1, $2, $3, $7, $4 FROM cur RETURNING seq)"

// The CTEs of kInsertNextVersion.
#define FOVEA_SQL_NEXT_VERSION_CTES \
    "WITH cur AS (" \
    "  UPDATE resource SET version = $3, last_updated = $4, deleted = $5, content = $6" \
    "  WHERE type = $1 AND id = $2 AND version = $8 RETURNING 1)," \
    " d_string AS (DELETE FROM sp_string WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur))," \
    " i_string AS (INSERT INTO sp_string (type, id, param, normalized, exact)" \
    "  SELECT $1, $2, r.p, r.n, r.e FROM cur," \
    "  jsonb_to_recordset(COALESCE($9::jsonb -> 'string', '[]')) AS r(p text, n text, e text))," \
    " d_token AS (DELETE FROM sp_token WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur))," \
    " i_token AS (INSERT INTO sp_token (type, id, param, system, code, text)" \
    "  SELECT $1, $2, r.p, r.s, r.c, r.t FROM cur," \
    "  jsonb_to_recordset(COALESCE($9::jsonb -> 'token', '[]')) AS r(p text, s text, c text, t text))," \
    " d_reference AS (DELETE FROM sp_reference WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur))," \
    " i_reference AS (INSERT INTO sp_reference (type, id, param, target_type, target_id, url)" \
    "  SELECT $1, $2, r.p, r.tt, r.ti, r.u FROM cur," \
    "  jsonb_to_recordset(COALESCE($9::jsonb -> 'reference', '[]')) AS r(p text, tt text, ti text, u text))," \
    " d_date AS (DELETE FROM sp_date WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur))," \
    " i_date AS (INSERT INTO sp_date (type, id, param, low, high)" \
    "  SELECT $1, $2, r.p, r.lo::timestamptz, r.hi::timestamptz FROM cur," \
    "  jsonb_to_recordset(COALESCE($9::jsonb -> 'date', '[]')) AS r(p text, lo text, hi text))," \
    " d_number AS (DELETE FROM sp_number WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur))," \
    " i_number AS (INSERT INTO sp_number (type, id, param, value, low, high)" \
    "  SELECT $1, $2, r.p, r.v::numeric, r.lo::numeric, r.hi::numeric FROM cur," \
    "  jsonb_to_recordset(COALESCE($9::jsonb -> 'number', '[]')) AS r(p text, v text, lo text, hi text))," \
    " d_quantity AS (DELETE FROM sp_quantity WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur))," \
    " i_quantity AS (INSERT INTO sp_quantity (type, id, param, value, low, high, system, code, unit, dimension, canonical)" \
    "  SELECT $1, $2, r.p, r.v::numeric, r.lo::numeric, r.hi::numeric, r.s, r.c, r.u, r.d, r.cv::numeric FROM cur," \
    "  jsonb_to_recordset(COALESCE($9::jsonb -> 'quantity', '[]')) AS r(p text, v text, lo text, hi text, s text, c text, u text, d text, cv text))," \
    " d_uri AS (DELETE FROM sp_uri WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur))," \
    " i_uri AS (INSERT INTO sp_uri (type, id, param, value)" \
    "  SELECT $1, $2, r.p, r.v FROM cur," \
    "  jsonb_to_recordset(COALESCE($9::jsonb -> 'uri', '[]')) AS r(p text, v text))," \
    " d_composite_token AS (DELETE FROM sp_composite_token WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur))," \
    " i_composite_token AS (INSERT INTO sp_composite_token (type, id, param, t_system, t_code, system, code, text)" \
    "  SELECT $1, $2, r.p, r.ts, r.tc, r.s, r.c, r.t FROM cur," \
    "  jsonb_to_recordset(COALESCE($9::jsonb -> 'composite_token', '[]')) AS r(p text, ts text, tc text, s text, c text, t text))," \
    " d_composite_quantity AS (DELETE FROM sp_composite_quantity WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur))," \
    " i_composite_quantity AS (INSERT INTO sp_composite_quantity (type, id, param, t_system, t_code, value, low, high, system, code, unit)" \
    "  SELECT $1, $2, r.p, r.ts, r.tc, r.v::numeric, r.lo::numeric, r.hi::numeric, r.s, r.c, r.u FROM cur," \
    "  jsonb_to_recordset(COALESCE($9::jsonb -> 'composite_quantity', '[]')) AS r(p text, ts text, tc text, v text, lo text, hi text, s text, c text, u text))," \
    " d_composite_date AS (DELETE FROM sp_composite_date WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur))," \
    " i_composite_date AS (INSERT INTO sp_composite_date (type, id, param, t_system, t_code, low, high)" \
    "  SELECT $1, $2, r.p, r.ts, r.tc, r.lo::timestamptz, r.hi::timestamptz FROM cur," \
    "  jsonb_to_recordset(COALESCE($9::jsonb -> 'composite_date', '[]')) AS r(p text, ts text, tc text, lo text, hi text))," \
    " d_composite_string AS (DELETE FROM sp_composite_string WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur))," \
    " i_composite_string AS (INSERT INTO sp_composite_string (type, id, param, t_system, t_code, normalized, exact)" \
    "  SELECT $1, $2, r.p, r.ts, r.tc, r.n, r.e FROM cur," \
    "  jsonb_to_recordset(COALESCE($9::jsonb -> 'composite_string', '[]')) AS r(p text, ts text, tc text, n text, e text))," \
    " d_composite_number AS (DELETE FROM sp_composite_number WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur))," \
    " i_composite_number AS (INSERT INTO sp_composite_number (type, id, param, t_system, t_code, value, value2)" \
    "  SELECT $1, $2, r.p, r.ts, r.tc, r.v::numeric, r.v2::numeric FROM cur," \
    "  jsonb_to_recordset(COALESCE($9::jsonb -> 'composite_number', '[]')) AS r(p text, ts text, tc text, v text, v2 text))," \
    " d_composite_reference AS (DELETE FROM sp_composite_reference WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur))," \
    " i_composite_reference AS (INSERT INTO sp_composite_reference (type, id, param, target_type, target_id, url, system, code, text)" \
    "  SELECT $1, $2, r.p, r.tt, r.ti, r.u, r.s, r.c, r.t FROM cur," \
    "  jsonb_to_recordset(COALESCE($9::jsonb -> 'composite_reference', '[]')) AS r(p text, tt text, ti text, u text, s text, c text, t text))," \
    " d_text AS (DELETE FROM sp_text WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur))," \
    " i_text AS (INSERT INTO sp_text (type, id, param, tsv)" \
    "  SELECT $1, $2, r.p, to_tsvector('simple', r.v) FROM cur," \
    "  jsonb_to_recordset(COALESCE($9::jsonb -> 'text', '[]')) AS r(p text, v text))," \
    " ev AS (" \
    "  INSERT INTO event (type, id, version, interaction, at)" \
    "  SELECT $1, $2, $3, $7, $4 FROM cur RETURNING seq)"

// The main query of both: the history row, selected from the change-log event.
#define FOVEA_SQL_HISTORY_FROM_EV \
    " INSERT INTO resource_history (seq, type, id, version, last_updated, deleted, method, content)" \
    " SELECT seq, $1, $2, $3, $4, $5, $7, $6 FROM ev"

// Resources created with a write (its companions) or by WriteAll. $P (a JSON array of
// {"t": type, "i": id, "at": last_updated, "c": canonical JSON, "x": index rows as
// search::IndexRows::ToJson, "m": the method, POST when absent}) becomes, per element, version 1 in `resource`, its index rows, its
// change-log event and its history row. GATE is "cur," to create them only when the write's
// compare-and-set succeeded (c_in then selects FROM it), or empty. No ON CONFLICT: an id that
// exists already fails the whole statement (23505, kVersionConflict), so nothing is written.
#define FOVEA_SQL_CREATED_CTES(P, GATE) \
    " c_in AS (SELECT r.t, r.i, r.at::timestamptz AS at, r.c, COALESCE(r.x, '{}') AS x," \
    "  COALESCE(r.m, 'POST') AS m" \
    "  FROM " GATE " jsonb_to_recordset($" P "::jsonb) AS r(t text, i text, at text, c text, x jsonb, m text))," \
    " c_cur AS (INSERT INTO resource (type, id, version, last_updated, deleted, content)" \
    "  SELECT t, i, 1, at, false, c FROM c_in)," \
    " c_string AS (INSERT INTO sp_string (type, id, param, normalized, exact)" \
    "  SELECT c.t, c.i, r.p, r.n, r.e FROM c_in c," \
    "  jsonb_to_recordset(COALESCE(c.x -> 'string', '[]')) AS r(p text, n text, e text))," \
    " c_token AS (INSERT INTO sp_token (type, id, param, system, code, text)" \
    "  SELECT c.t, c.i, r.p, r.s, r.c, r.t FROM c_in c," \
    "  jsonb_to_recordset(COALESCE(c.x -> 'token', '[]')) AS r(p text, s text, c text, t text))," \
    " c_reference AS (INSERT INTO sp_reference (type, id, param, target_type, target_id, url)" \
    "  SELECT c.t, c.i, r.p, r.tt, r.ti, r.u FROM c_in c," \
    "  jsonb_to_recordset(COALESCE(c.x -> 'reference', '[]')) AS r(p text, tt text, ti text, u text))," \
    " c_date AS (INSERT INTO sp_date (type, id, param, low, high)" \
    "  SELECT c.t, c.i, r.p, r.lo::timestamptz, r.hi::timestamptz FROM c_in c," \
    "  jsonb_to_recordset(COALESCE(c.x -> 'date', '[]')) AS r(p text, lo text, hi text))," \
    " c_number AS (INSERT INTO sp_number (type, id, param, value, low, high)" \
    "  SELECT c.t, c.i, r.p, r.v::numeric, r.lo::numeric, r.hi::numeric FROM c_in c," \
    "  jsonb_to_recordset(COALESCE(c.x -> 'number', '[]')) AS r(p text, v text, lo text, hi text))," \
    " c_quantity AS (INSERT INTO sp_quantity (type, id, param, value, low, high, system, code, unit, dimension, canonical)" \
    "  SELECT c.t, c.i, r.p, r.v::numeric, r.lo::numeric, r.hi::numeric, r.s, r.c, r.u, r.d, r.cv::numeric FROM c_in c," \
    "  jsonb_to_recordset(COALESCE(c.x -> 'quantity', '[]')) AS r(p text, v text, lo text, hi text, s text, c text, u text, d text, cv text))," \
    " c_uri AS (INSERT INTO sp_uri (type, id, param, value)" \
    "  SELECT c.t, c.i, r.p, r.v FROM c_in c," \
    "  jsonb_to_recordset(COALESCE(c.x -> 'uri', '[]')) AS r(p text, v text))," \
    " c_composite_token AS (INSERT INTO sp_composite_token (type, id, param, t_system, t_code, system, code, text)" \
    "  SELECT c.t, c.i, r.p, r.ts, r.tc, r.s, r.c, r.t FROM c_in c," \
    "  jsonb_to_recordset(COALESCE(c.x -> 'composite_token', '[]')) AS r(p text, ts text, tc text, s text, c text, t text))," \
    " c_composite_quantity AS (INSERT INTO sp_composite_quantity (type, id, param, t_system, t_code, value, low, high, system, code, unit)" \
    "  SELECT c.t, c.i, r.p, r.ts, r.tc, r.v::numeric, r.lo::numeric, r.hi::numeric, r.s, r.c, r.u FROM c_in c," \
    "  jsonb_to_recordset(COALESCE(c.x -> 'composite_quantity', '[]')) AS r(p text, ts text, tc text, v text, lo text, hi text, s text, c text, u text))," \
    " c_composite_date AS (INSERT INTO sp_composite_date (type, id, param, t_system, t_code, low, high)" \
    "  SELECT c.t, c.i, r.p, r.ts, r.tc, r.lo::timestamptz, r.hi::timestamptz FROM c_in c," \
    "  jsonb_to_recordset(COALESCE(c.x -> 'composite_date', '[]')) AS r(p text, ts text, tc text, lo text, hi text))," \
    " c_composite_string AS (INSERT INTO sp_composite_string (type, id, param, t_system, t_code, normalized, exact)" \
    "  SELECT c.t, c.i, r.p, r.ts, r.tc, r.n, r.e FROM c_in c," \
    "  jsonb_to_recordset(COALESCE(c.x -> 'composite_string', '[]')) AS r(p text, ts text, tc text, n text, e text))," \
    " c_composite_number AS (INSERT INTO sp_composite_number (type, id, param, t_system, t_code, value, value2)" \
    "  SELECT c.t, c.i, r.p, r.ts, r.tc, r.v::numeric, r.v2::numeric FROM c_in c," \
    "  jsonb_to_recordset(COALESCE(c.x -> 'composite_number', '[]')) AS r(p text, ts text, tc text, v text, v2 text))," \
    " c_composite_reference AS (INSERT INTO sp_composite_reference (type, id, param, target_type, target_id, url, system, code, text)" \
    "  SELECT c.t, c.i, r.p, r.tt, r.ti, r.u, r.s, r.c, r.t FROM c_in c," \
    "  jsonb_to_recordset(COALESCE(c.x -> 'composite_reference', '[]')) AS r(p text, tt text, ti text, u text, s text, c text, t text))," \
    " c_text AS (INSERT INTO sp_text (type, id, param, tsv)" \
    "  SELECT c.t, c.i, r.p, to_tsvector('simple', r.v) FROM c_in c," \
    "  jsonb_to_recordset(COALESCE(c.x -> 'text', '[]')) AS r(p text, v text))," \
    " c_ev AS (INSERT INTO event (type, id, version, interaction, at)" \
    "  SELECT t, i, 1, m, at FROM c_in RETURNING seq, type, id)," \
    " c_hist AS (INSERT INTO resource_history (seq, type, id, version, last_updated, deleted, method, content)" \
    "  SELECT e.seq, c.t, c.i, 1, c.at, false, c.m, c.c FROM c_ev e JOIN c_in c ON c.t = e.type AND c.i = e.id" \
    "  RETURNING 1)"

// AuditEvent rows into audit_event (migration 0004; fhir/audit/audit_store.h). $P is a JSON array
// as audit::AuditRowsJson makes it, one object per row: {"r": recorded (instant, microseconds),
// "s": subtype, "a": action, "o": outcome, "g": agent, "c": client id, "p": patient,
// "e": entity, "d": address, "q": request id, "t": the targets (an array, migration 0019),
// "x": the AuditEvent JSON}; an absent key is NULL.
// GATE as for FOVEA_SQL_CREATED_CTES. seq comes from the identity column. jsonb_array_elements
// with ->> rather than jsonb_to_recordset: the same result, but jsonb_to_recordset spends ~50 us
// per row extracting the 2 KB "x" string, which made the append 1.6 times slower
// (bench/audit_bench.cpp, PostgreSQL 15).
#define FOVEA_SQL_INSERT_AUDIT_ROWS(P, GATE) \
    "INSERT INTO audit_event" \
    " (recorded, subtype, action, outcome, agent, client_id, patient, entity, address, request_id, targets, content)" \
    " SELECT (ar ->> 'r')::timestamptz, ar ->> 's', ar ->> 'a', (ar ->> 'o')::smallint, ar ->> 'g'," \
    "  ar ->> 'c', ar ->> 'p', ar ->> 'e', ar ->> 'd', ar ->> 'q'," \
    "  CASE WHEN ar ? 't' THEN ARRAY(SELECT jsonb_array_elements_text(ar -> 't')) END, ar ->> 'x'" \
    " FROM " GATE " jsonb_array_elements($" P "::jsonb) AS ar"

// $1 type, $2 id, $3 version, $4 last_updated, $5 deleted, $6 content, $7 method,
// $8 search-index rows as JSON (search::IndexRows::ToJson)
inline constexpr PgQuery kInsertFirstVersion{
    "store.insert_first_version", FOVEA_SQL_FIRST_VERSION_CTES FOVEA_SQL_HISTORY_FROM_EV};

// kInsertFirstVersion plus $9: the companions, created with it (see FOVEA_SQL_CREATED_CTES), and
// $10: its AuditEvent rows (see FOVEA_SQL_INSERT_AUDIT_ROWS). Either array may be empty.
inline constexpr PgQuery kInsertFirstVersionWith{
    "store.insert_first_version_with",
    FOVEA_SQL_FIRST_VERSION_CTES "," FOVEA_SQL_CREATED_CTES("9", "cur,")
    ", a_ev AS (" FOVEA_SQL_INSERT_AUDIT_ROWS("10", "cur,") ")" FOVEA_SQL_HISTORY_FROM_EV};

// kInsertFirstVersion plus $9: its AuditEvent rows, for a write with no companion (its
// Provenance is its AuditEvent row: --provenance audit-trail). kInsertFirstVersionWith with an
// empty companion array would still set up the executor of each of its ~20 companion INSERTs
// (every one opens its table and the table's indexes) for every write.
inline constexpr PgQuery kInsertFirstVersionAudited{
    "store.insert_first_version_audited",
    FOVEA_SQL_FIRST_VERSION_CTES ", a_ev AS (" FOVEA_SQL_INSERT_AUDIT_ROWS("9", "cur,") ")"
    FOVEA_SQL_HISTORY_FROM_EV};

// As above, plus $8: the version the writer read (compare-and-set), and $9 the index rows,
// which replace the previous version's.
inline constexpr PgQuery kInsertNextVersion{
    "store.insert_next_version", FOVEA_SQL_NEXT_VERSION_CTES FOVEA_SQL_HISTORY_FROM_EV};

// kInsertNextVersion plus $10: the companions, created with it (see FOVEA_SQL_CREATED_CTES), and
// $11: its AuditEvent rows (see FOVEA_SQL_INSERT_AUDIT_ROWS). Either array may be empty.
inline constexpr PgQuery kInsertNextVersionWith{
    "store.insert_next_version_with",
    FOVEA_SQL_NEXT_VERSION_CTES "," FOVEA_SQL_CREATED_CTES("10", "cur,")
    ", a_ev AS (" FOVEA_SQL_INSERT_AUDIT_ROWS("11", "cur,") ")" FOVEA_SQL_HISTORY_FROM_EV};

// kInsertNextVersion plus $10: its AuditEvent rows, for a write with no companion (as
// kInsertFirstVersionAudited).
inline constexpr PgQuery kInsertNextVersionAudited{
    "store.insert_next_version_audited",
    FOVEA_SQL_NEXT_VERSION_CTES ", a_ev AS (" FOVEA_SQL_INSERT_AUDIT_ROWS("10", "cur,") ")"
    FOVEA_SQL_HISTORY_FROM_EV};

// AuditStore::Append (fhir/audit/pg): $1 the rows, appended in one statement.
inline constexpr PgQuery kAppendAuditEvents{
    "audit.append", FOVEA_SQL_INSERT_AUDIT_ROWS("1", "")};

// WriteAll's new resources: $1 the resources (as for companions), each created as version 1 in
// one statement. Returns the number of history rows written.
inline constexpr PgQuery kCreateResources{
    "store.create_resources", "WITH" FOVEA_SQL_CREATED_CTES("1", "") " SELECT count(*) FROM c_hist"};

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

// Reindexing (fovea reindex): replaces the index rows of one current resource without writing
// a new version. $1 type, $2 id, $3 index rows JSON, $4 the version the rows were extracted
// from: if a writer changed the resource meanwhile, nothing happens (its own rows are newer).
inline constexpr PgQuery kReplaceIndex{
    "store.replace_index",
    "WITH cur AS (SELECT 1 FROM resource WHERE type = $1 AND id = $2 AND version = $4 FOR UPDATE),"
    " d_string AS (DELETE FROM sp_string WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur)),"
    " i_string AS (INSERT INTO sp_string (type, id, param, normalized, exact)"
    "  SELECT $1, $2, r.p, r.n, r.e FROM cur,"
    "  jsonb_to_recordset(COALESCE($3::jsonb -> 'string', '[]')) AS r(p text, n text, e text)),"
    " d_token AS (DELETE FROM sp_token WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur)),"
    " i_token AS (INSERT INTO sp_token (type, id, param, system, code, text)"
    "  SELECT $1, $2, r.p, r.s, r.c, r.t FROM cur,"
    "  jsonb_to_recordset(COALESCE($3::jsonb -> 'token', '[]')) AS r(p text, s text, c text, t text)),"
    " d_reference AS (DELETE FROM sp_reference WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur)),"
    " i_reference AS (INSERT INTO sp_reference (type, id, param, target_type, target_id, url)"
    "  SELECT $1, $2, r.p, r.tt, r.ti, r.u FROM cur,"
    "  jsonb_to_recordset(COALESCE($3::jsonb -> 'reference', '[]')) AS r(p text, tt text, ti text, u text)),"
    " d_date AS (DELETE FROM sp_date WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur)),"
    " i_date AS (INSERT INTO sp_date (type, id, param, low, high)"
    "  SELECT $1, $2, r.p, r.lo::timestamptz, r.hi::timestamptz FROM cur,"
    "  jsonb_to_recordset(COALESCE($3::jsonb -> 'date', '[]')) AS r(p text, lo text, hi text)),"
    " d_number AS (DELETE FROM sp_number WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur)),"
    " i_number AS (INSERT INTO sp_number (type, id, param, value, low, high)"
    "  SELECT $1, $2, r.p, r.v::numeric, r.lo::numeric, r.hi::numeric FROM cur,"
    "  jsonb_to_recordset(COALESCE($3::jsonb -> 'number', '[]')) AS r(p text, v text, lo text, hi text)),"
    " d_quantity AS (DELETE FROM sp_quantity WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur)),"
    " i_quantity AS (INSERT INTO sp_quantity (type, id, param, value, low, high, system, code, unit, dimension, canonical)"
    "  SELECT $1, $2, r.p, r.v::numeric, r.lo::numeric, r.hi::numeric, r.s, r.c, r.u, r.d, r.cv::numeric FROM cur,"
    "  jsonb_to_recordset(COALESCE($3::jsonb -> 'quantity', '[]')) AS r(p text, v text, lo text, hi text, s text, c text, u text, d text, cv text)),"
    " d_uri AS (DELETE FROM sp_uri WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur)),"
    " i_uri AS (INSERT INTO sp_uri (type, id, param, value)"
    "  SELECT $1, $2, r.p, r.v FROM cur,"
    "  jsonb_to_recordset(COALESCE($3::jsonb -> 'uri', '[]')) AS r(p text, v text)),"
    " d_composite_token AS (DELETE FROM sp_composite_token WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur)),"
    " i_composite_token AS (INSERT INTO sp_composite_token (type, id, param, t_system, t_code, system, code, text)"
    "  SELECT $1, $2, r.p, r.ts, r.tc, r.s, r.c, r.t FROM cur,"
    "  jsonb_to_recordset(COALESCE($3::jsonb -> 'composite_token', '[]')) AS r(p text, ts text, tc text, s text, c text, t text)),"
    " d_composite_quantity AS (DELETE FROM sp_composite_quantity WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur)),"
    " i_composite_quantity AS (INSERT INTO sp_composite_quantity (type, id, param, t_system, t_code, value, low, high, system, code, unit)"
    "  SELECT $1, $2, r.p, r.ts, r.tc, r.v::numeric, r.lo::numeric, r.hi::numeric, r.s, r.c, r.u FROM cur,"
    "  jsonb_to_recordset(COALESCE($3::jsonb -> 'composite_quantity', '[]')) AS r(p text, ts text, tc text, v text, lo text, hi text, s text, c text, u text)),"
    " d_composite_date AS (DELETE FROM sp_composite_date WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur)),"
    " i_composite_date AS (INSERT INTO sp_composite_date (type, id, param, t_system, t_code, low, high)"
    "  SELECT $1, $2, r.p, r.ts, r.tc, r.lo::timestamptz, r.hi::timestamptz FROM cur,"
    "  jsonb_to_recordset(COALESCE($3::jsonb -> 'composite_date', '[]')) AS r(p text, ts text, tc text, lo text, hi text)),"
    " d_composite_string AS (DELETE FROM sp_composite_string WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur)),"
    " i_composite_string AS (INSERT INTO sp_composite_string (type, id, param, t_system, t_code, normalized, exact)"
    "  SELECT $1, $2, r.p, r.ts, r.tc, r.n, r.e FROM cur,"
    "  jsonb_to_recordset(COALESCE($3::jsonb -> 'composite_string', '[]')) AS r(p text, ts text, tc text, n text, e text)),"
    " d_composite_number AS (DELETE FROM sp_composite_number WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur)),"
    " i_composite_number AS (INSERT INTO sp_composite_number (type, id, param, t_system, t_code, value, value2)"
    "  SELECT $1, $2, r.p, r.ts, r.tc, r.v::numeric, r.v2::numeric FROM cur,"
    "  jsonb_to_recordset(COALESCE($3::jsonb -> 'composite_number', '[]')) AS r(p text, ts text, tc text, v text, v2 text)),"
    " d_composite_reference AS (DELETE FROM sp_composite_reference WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur)),"
    " i_composite_reference AS (INSERT INTO sp_composite_reference (type, id, param, target_type, target_id, url, system, code, text)"
    "  SELECT $1, $2, r.p, r.tt, r.ti, r.u, r.s, r.c, r.t FROM cur,"
    "  jsonb_to_recordset(COALESCE($3::jsonb -> 'composite_reference', '[]')) AS r(p text, tt text, ti text, u text, s text, c text, t text)),"
    " d_text AS (DELETE FROM sp_text WHERE type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur)),"
    " i_text AS (INSERT INTO sp_text (type, id, param, tsv)"
    "  SELECT $1, $2, r.p, to_tsvector('simple', r.v) FROM cur,"
    "  jsonb_to_recordset(COALESCE($3::jsonb -> 'text', '[]')) AS r(p text, v text))"
    " SELECT count(*) FROM cur"};

// Every current, non-deleted resource after ($1 type, $2 id), in key order: reindex batches.
inline constexpr PgQuery kScanCurrent{
    "store.scan_current",
    "SELECT type, id, version, content FROM resource WHERE NOT deleted AND (type, id) > ($1, $2)"
    " ORDER BY type, id LIMIT $3"};

// The current, non-deleted resources of type $1 after id $2: reindexing one type.
inline constexpr PgQuery kScanCurrentOfType{
    "store.scan_current_of_type",
    "SELECT type, id, version, content FROM resource WHERE type = $1 AND NOT deleted AND id > $2"
    " ORDER BY id LIMIT $3"};

// A migration that changes what is indexed leaves a 'reindex' task (0002_search_index.sql).
inline constexpr PgQuery kReindexPending{
    "store.reindex_pending", "SELECT 1 FROM maintenance WHERE task = 'reindex'"};
inline constexpr PgQuery kReindexDone{
    "store.reindex_done", "DELETE FROM maintenance WHERE task = 'reindex'"};

inline constexpr PgQuery kPing{"store.ping", "SELECT 1"};

}  // namespace fhir::store::pg

#undef FOVEA_SQL_FIRST_VERSION_CTES
#undef FOVEA_SQL_NEXT_VERSION_CTES
#undef FOVEA_SQL_HISTORY_FROM_EV
#undef FOVEA_SQL_CREATED_CTES
#undef FOVEA_SQL_INSERT_AUDIT_ROWS

#endif  // FOVEA_FHIR_STORE_PG_QUERIES_H_
