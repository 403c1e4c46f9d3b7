-- Every resource a write changed, on that write's AuditEvent row (fhir/audit/audit_store.h:
-- AuditRow::targets). The `entity` column names the first resource only, so a transaction's
-- AuditEvent was not found by `AuditEvent?entity=` for its other entries: "who changed this
-- record?" missed changes made in a transaction Bundle, which is how EHRs and the vans sync.
--
-- `targets` is set on the rows written with the data (successful writes) and NULL on every
-- other row. References are version-less ("Observation/1"), as `entity` is. A one-resource write
-- is still found through `entity` and its index; the GIN index holds the rows that name more
-- than one resource only, so a single write pays no index entry for it (the searches repeat the
-- `cardinality(targets) > 1` condition, which lets PostgreSQL use this partial index).
ALTER TABLE audit_event ADD COLUMN targets text[];
CREATE INDEX audit_event_targets ON audit_event USING gin (targets) WHERE cardinality(targets) > 1;
