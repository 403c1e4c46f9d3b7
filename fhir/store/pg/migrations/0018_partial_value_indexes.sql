-- Value indexes over a column that is NULL in most rows skip those rows: a search never looks
-- them up by NULL, and every write paid a B-tree entry for each.
--
-- sp_reference.url (and the composite table's) holds absolute and canonical references only;
-- a relative reference ("Patient/1") has target_type/target_id and a NULL url, and is found
-- through sp_reference_value. sp_quantity.dimension/canonical are set only for units Fovea
-- converts (UCUM); other quantities are found through sp_quantity_value. The searches compare
-- these columns with `=` or a range (fhir/search/sql_builder.cpp), which PostgreSQL knows
-- implies IS NOT NULL, so the partial indexes serve them as before.
--
-- An Observation with three relative references and two unconverted quantities writes five
-- index entries fewer, ~470 bytes less WAL (docs/PERFORMANCE.md, "partial value indexes (migration 0018)").
DROP INDEX sp_reference_url;
CREATE INDEX sp_reference_url ON sp_reference (type, param, url) WHERE url IS NOT NULL;
DROP INDEX sp_composite_reference_url;
CREATE INDEX sp_composite_reference_url ON sp_composite_reference (type, param, url) WHERE url IS NOT NULL;
DROP INDEX sp_quantity_canonical;
CREATE INDEX sp_quantity_canonical ON sp_quantity (type, param, dimension, canonical) WHERE dimension IS NOT NULL;
