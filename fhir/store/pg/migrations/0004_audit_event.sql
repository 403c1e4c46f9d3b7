-- AuditEvents (fhir/audit/audit_store.h, docs/AUDIT.md): an append-only table of one narrow row
-- per event. Every interaction, reads included, appends one, so a row is cheap on purpose: the
-- columns audit searches filter on, plus the AuditEvent JSON as stored text. No history row, no
-- change-log event, no search-index rows. seq is the AuditEvent's id in the FHIR API. Rows are
-- never updated; absent values are NULL (which keeps them out of the partial indexes below).
--
-- Not partitioned yet. Monthly partitions on `recorded` (docs/ARCHITECTURE.md) are meant for
-- retention: dropping an old month becomes a DROP of one partition instead of a large DELETE.
-- Until retention exists they buy nothing and cost something: a partitioned table's primary key
-- must include the partition key, so a read by id (seq alone) would probe every partition, and
-- partitions must be created ahead of time. When retention comes, the table becomes
-- PARTITION BY RANGE (recorded) with PRIMARY KEY (seq, recorded), and a read by id gains a
-- range on `recorded` (or accepts probing a bounded number of partitions).

CREATE TABLE audit_event (
  seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  recorded    timestamptz NOT NULL,   -- AuditEvent.recorded (microseconds)
  subtype     text        NOT NULL,   -- "read", "search-type", "create", "login", ...
  action      char(1)     NOT NULL,   -- C R U D E
  outcome     smallint    NOT NULL,   -- 0 4 8
  agent       text,                   -- the user as a reference: "Practitioner/abc"
  client_id   text,                   -- the OAuth client
  patient     text,                   -- the first patient concerned: "Patient/1"
  entity      text,                   -- the first resource concerned, without /_history/n
  address     text,                   -- the caller's network address
  request_id  text,                   -- X-Request-Id
  content     text        NOT NULL    -- the AuditEvent JSON, without id and meta
);

-- Four indexes, each serving a keyset page ordered by (recorded, seq): the time range alone,
-- and the three filters auditors ask for most (a patient's accesses, a resource's accesses, a
-- user's activity). Partial, so events without that value cost those indexes nothing. Other
-- filters (subtype, action, outcome, client, address) are applied while walking one of these.
CREATE INDEX audit_event_recorded ON audit_event (recorded, seq);
CREATE INDEX audit_event_patient ON audit_event (patient, recorded) WHERE patient IS NOT NULL;
CREATE INDEX audit_event_entity ON audit_event (entity, recorded) WHERE entity IS NOT NULL;
CREATE INDEX audit_event_agent ON audit_event (agent, recorded) WHERE agent IS NOT NULL;
