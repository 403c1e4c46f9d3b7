-- HL7 v2 outbound (docs/HL7V2.md): how far the outbound worker has looked for approved
-- sessions (session Tasks completed), by Task.meta.lastUpdated. One row; the worker that holds
-- it FOR UPDATE is the one queueing, so nodes never queue the same session twice (and the
-- queue's unique encounter_id is the backstop). Sessions approved before this migration are
-- not sent.
CREATE TABLE hl7v2_outbound_cursor (
  only_row boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
  since    timestamptz NOT NULL
);
INSERT INTO hl7v2_outbound_cursor (since) VALUES (now());
