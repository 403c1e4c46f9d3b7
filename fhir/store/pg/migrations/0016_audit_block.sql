-- Audit blocks (fhir/audit/pg/audit_block.h, docs/AUDIT.md): the AuditEvents that AuditLog
-- stores in batches (reads, searches, logins, failed requests, deliveries: every access that
-- writes nothing) as one row per batch. A write's own AuditEvent stays a row of audit_event,
-- committed in the write's statement.
--
-- Why: one audit_event row per read cost PostgreSQL more than the read itself (a heap tuple,
-- five index entries and their WAL, ~25 us against ~7 us for the read; docs/PERFORMANCE.md).
-- A block of 200 events is one tuple whose `events` text is compressed out of line, two
-- B-tree entries and one GIN entry per distinct patient, resource and user.
--
-- An event's AuditEvent id is 10^15 + block * 1000 + its line in `events` (audit_block.h).
-- Auditors' searches find blocks by time (recorded_from/recorded_to) and by `keys`, then read
-- the events of those blocks; see PgAuditStore::Search.

CREATE TABLE audit_block (
  block          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  recorded_from  timestamptz NOT NULL,  -- the earliest event's `recorded`
  recorded_to    timestamptz NOT NULL,  -- the latest event's `recorded`
  event_count    integer     NOT NULL,  -- lines in `events` (1..1000)
  keys           text[]      NOT NULL,  -- "p|Patient/1", "e|Observation/2", "a|Practitioner/3"
  events         text        NOT NULL   -- one line per event (EncodeAuditBlock)
);

-- Newest-first pages walk recorded_to downwards, oldest-first pages recorded_from upwards.
CREATE INDEX audit_block_to ON audit_block (recorded_to, block);
CREATE INDEX audit_block_from ON audit_block (recorded_from, block);
-- Appended to the pending list and merged in bulk (fastupdate, the default): cheap inserts.
CREATE INDEX audit_block_keys ON audit_block USING gin (keys);

-- lz4 where the server has it (PostgreSQL 14+ built with lz4, as Debian's is): several times
-- faster than the default pglz for text this repetitive. Elsewhere the default stays.
DO $$
BEGIN
  ALTER TABLE audit_block ALTER COLUMN events SET COMPRESSION lz4;
EXCEPTION WHEN others THEN
  NULL;
END $$;
