-- Date windows (date=geX&date=ltY) and day searches (date=YYYY-MM-DD) as one bounded index
-- scan: a GiST index over each stored value as a closed range. The B-tree sp_date_value bounds
-- only `low`, from one side, so a window read every row before its end (docs/PERFORMANCE.md,
-- search). ANALYZE also keeps statistics on the range expression, which give the planner a
-- window's real selectivity; as two independent `low`/`high` comparisons it looked ~7x larger.
-- greatest(): a value whose end precedes its start (an invalid Period) counts as its start
-- instead of making tstzrange() fail; fhir/search/sql_builder.cpp writes the same expression.
-- btree_gist is a trusted extension: a database owner may create it.
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE INDEX sp_date_range ON sp_date USING gist (type, param, tstzrange(low, greatest(low, high), '[]'));

-- A code's rows carry the resource id in the value index, so the ids of a code are read from
-- the index alone and can be joined with a date window's before any resource row is read.
CREATE INDEX sp_token_value_ids ON sp_token (type, param, code, system) INCLUDE (id);
DROP INDEX sp_token_value;
ALTER INDEX sp_token_value_ids RENAME TO sp_token_value;

-- A code implies its system (LOINC codes are LOINC's): without these statistics PostgreSQL
-- multiplied the two selectivities and expected 2,000 rows for a code that has 10,000.
CREATE STATISTICS sp_token_value_stats (dependencies, mcv) ON type, param, code, system FROM sp_token;
