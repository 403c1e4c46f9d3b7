-- The last two composite shapes R4 defines (fhir/search/index_rows.h):
-- token$number$number (MolecularSequence's chromosome/referenceseqid with a variant's or the
-- reference window's start and end) and reference$token (DocumentReference `relationship`).
-- Like the other composite tables, one row holds values of one element only.

CREATE TABLE sp_composite_number (
  type text NOT NULL, id text NOT NULL, param text NOT NULL,
  t_system text, t_code text NOT NULL,
  value numeric NOT NULL,   -- the second component (start)
  value2 numeric NOT NULL   -- the third component (end)
);
CREATE INDEX sp_composite_number_value ON sp_composite_number (type, param, t_code, value);
CREATE INDEX sp_composite_number_resource ON sp_composite_number (type, id, param);

CREATE TABLE sp_composite_reference (
  type text NOT NULL, id text NOT NULL, param text NOT NULL,
  target_type text, target_id text, url text,   -- the first component, as in sp_reference
  system text, code text NOT NULL, text text    -- the second, as in sp_token
);
CREATE INDEX sp_composite_reference_value ON sp_composite_reference (type, param, target_id, code);
CREATE INDEX sp_composite_reference_url ON sp_composite_reference (type, param, url);
CREATE INDEX sp_composite_reference_resource ON sp_composite_reference (type, id, param);

-- Resources stored before this migration have no rows here: fovea serve reindexes before
-- serving while this task is pending.
INSERT INTO maintenance (task) VALUES ('reindex') ON CONFLICT DO NOTHING;
