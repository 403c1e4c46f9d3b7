-- The audit trail's two random-key indexes become one GIN index (docs/AUDIT.md,
-- docs/PERFORMANCE.md "Security"). Every read appends an audit row, and the B-tree entries for
-- `patient` and `entity` (a position anywhere in the tree for each row) were the larger part of
-- what a row costs PostgreSQL. A GIN index with its pending list takes new entries as an append
-- and merges them into the tree in bulk: in audit_bench, 54,000-57,000 rows/s against
-- 30,000-45,000 with the two B-trees.
--
-- What the B-trees gave and GIN does not: rows in `recorded` order per patient or resource, so a
-- keyset page could stop after its rows. An auditor's "who saw this patient" now finds all of
-- that patient's rows in the GIN index and sorts them: fine for the thousands a patient
-- gathers; a time range narrows it further. The searches write both conditions (containment for
-- the index, equality for the column): `ARRAY[patient, entity] @> ARRAY[$1]` alone would also
-- match a row whose other column holds the value.
DROP INDEX IF EXISTS audit_event_patient;
DROP INDEX IF EXISTS audit_event_entity;
CREATE INDEX audit_event_patient_entity ON audit_event USING gin ((ARRAY[patient, entity]))
  WITH (fastupdate = on);
