-- Search index rows for the current version of each resource (fhir/search/index_rows.h).
-- Every table leads its main index with (type, param, value...) so a search parameter is one
-- index range scan. The (type, id, param, value...) index serves replacing a resource's rows
-- and the correlated EXISTS probes of a search, from the index alone.

CREATE TABLE sp_string (
  type text NOT NULL, id text NOT NULL, param text NOT NULL,
  normalized text NOT NULL,   -- lower-cased: default starts-with and :contains
  exact text NOT NULL         -- as written: :exact
);
CREATE INDEX sp_string_value ON sp_string (type, param, normalized text_pattern_ops);
CREATE INDEX sp_string_exact ON sp_string (type, param, exact);
CREATE INDEX sp_string_resource ON sp_string (type, id, param, normalized);

CREATE TABLE sp_token (
  type text NOT NULL, id text NOT NULL, param text NOT NULL,
  system text, code text NOT NULL, text text
);
CREATE INDEX sp_token_value ON sp_token (type, param, code, system);
CREATE INDEX sp_token_resource ON sp_token (type, id, param, code, system);

CREATE TABLE sp_reference (
  type text NOT NULL, id text NOT NULL, param text NOT NULL,
  target_type text, target_id text, url text
);
CREATE INDEX sp_reference_value ON sp_reference (type, param, target_id, target_type);
CREATE INDEX sp_reference_target ON sp_reference (target_type, target_id, param);
CREATE INDEX sp_reference_url ON sp_reference (type, param, url);
CREATE INDEX sp_reference_resource ON sp_reference (type, id, param, target_type, target_id);

CREATE TABLE sp_date (
  type text NOT NULL, id text NOT NULL, param text NOT NULL,
  low timestamptz NOT NULL, high timestamptz NOT NULL
);
CREATE INDEX sp_date_value ON sp_date (type, param, low, high);
CREATE INDEX sp_date_resource ON sp_date (type, id, param, low, high);

CREATE TABLE sp_number (
  type text NOT NULL, id text NOT NULL, param text NOT NULL,
  value numeric NOT NULL, low numeric NOT NULL, high numeric NOT NULL
);
CREATE INDEX sp_number_value ON sp_number (type, param, value);
CREATE INDEX sp_number_resource ON sp_number (type, id, param, value);

CREATE TABLE sp_quantity (
  type text NOT NULL, id text NOT NULL, param text NOT NULL,
  value numeric NOT NULL, low numeric NOT NULL, high numeric NOT NULL,
  system text, code text, unit text,
  dimension text, canonical numeric  -- UCUM units Fovea can convert: the value in base units
);
CREATE INDEX sp_quantity_canonical ON sp_quantity (type, param, dimension, canonical);
CREATE INDEX sp_quantity_value ON sp_quantity (type, param, value);
CREATE INDEX sp_quantity_resource ON sp_quantity (type, id, param, value);

CREATE TABLE sp_uri (
  type text NOT NULL, id text NOT NULL, param text NOT NULL,
  value text NOT NULL
);
CREATE INDEX sp_uri_value ON sp_uri (type, param, value);
CREATE INDEX sp_uri_resource ON sp_uri (type, id, param, value);

-- Searches filter current, non-deleted resources of one type, often ordered by last_updated.
CREATE INDEX resource_type_updated ON resource (type, last_updated, id) WHERE NOT deleted;


-- Composite parameters (token$token, token$quantity, token$date, token$string): the first
-- component's token in t_system/t_code, the second in the columns its own type uses above.
CREATE TABLE sp_composite_token (
  type text NOT NULL, id text NOT NULL, param text NOT NULL,
  t_system text, t_code text NOT NULL, system text, code text NOT NULL, text text
);
CREATE INDEX sp_composite_token_value ON sp_composite_token (type, param, t_code, code);
CREATE INDEX sp_composite_token_resource ON sp_composite_token (type, id, param);

CREATE TABLE sp_composite_quantity (
  type text NOT NULL, id text NOT NULL, param text NOT NULL,
  t_system text, t_code text NOT NULL,
  value numeric NOT NULL, low numeric NOT NULL, high numeric NOT NULL,
  system text, code text, unit text
);
CREATE INDEX sp_composite_quantity_value ON sp_composite_quantity (type, param, t_code, value);
CREATE INDEX sp_composite_quantity_resource ON sp_composite_quantity (type, id, param);

CREATE TABLE sp_composite_date (
  type text NOT NULL, id text NOT NULL, param text NOT NULL,
  t_system text, t_code text NOT NULL, low timestamptz NOT NULL, high timestamptz NOT NULL
);
CREATE INDEX sp_composite_date_value ON sp_composite_date (type, param, t_code, low, high);
CREATE INDEX sp_composite_date_resource ON sp_composite_date (type, id, param);

CREATE TABLE sp_composite_string (
  type text NOT NULL, id text NOT NULL, param text NOT NULL,
  t_system text, t_code text NOT NULL, normalized text NOT NULL, exact text NOT NULL
);
CREATE INDEX sp_composite_string_value ON sp_composite_string (type, param, t_code, normalized text_pattern_ops);
CREATE INDEX sp_composite_string_resource ON sp_composite_string (type, id, param);

-- _text (narrative) and _content (all text of the resource): PostgreSQL full-text vectors.
CREATE TABLE sp_text (
  type text NOT NULL, id text NOT NULL, param text NOT NULL,
  tsv tsvector NOT NULL
);
CREATE INDEX sp_text_value ON sp_text USING gin (tsv);
CREATE INDEX sp_text_resource ON sp_text (type, id, param);

-- Maintenance the server must finish before serving: resources stored before this migration
-- have no index rows yet, so a reindex is pending (cleared by fovea reindex when it completes;
-- fovea serve runs it at start-up while the row is here).
CREATE TABLE maintenance (task text PRIMARY KEY);
INSERT INTO maintenance (task) VALUES ('reindex');
