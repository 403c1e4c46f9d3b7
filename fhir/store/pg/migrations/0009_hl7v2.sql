-- HL7 v2 over MLLP (docs/HL7V2.md).

-- The durable inbox: every inbound message is committed here before any accept is sent, so a
-- crash never loses an acknowledged message. (sender, control_id) is unique: a repeated
-- message is acknowledged again from `ack`, never applied twice.
CREATE TABLE hl7v2_inbox (
  id           bigserial   PRIMARY KEY,
  sender       text        NOT NULL,  -- MSH-3 and MSH-4 as sent
  control_id   text        NOT NULL,  -- MSH-10
  received_at  timestamptz NOT NULL DEFAULT now(),
  message      text        NOT NULL,
  status       text        NOT NULL DEFAULT 'received'
               CHECK (status IN ('received', 'applied', 'error', 'rejected')),
  ack          text,                  -- the application acknowledgement, once processed
  processed_at timestamptz,
  UNIQUE (sender, control_id)
);
CREATE INDEX hl7v2_inbox_pending ON hl7v2_inbox (id) WHERE status = 'received';

-- The durable outbound queue: one ORU^R01 per approved screening session, sent to the EHR
-- with retries and backoff; the EHR's ACK is recorded.
CREATE TABLE hl7v2_outbound (
  id           bigserial   PRIMARY KEY,
  encounter_id text        NOT NULL UNIQUE,
  control_id   text        NOT NULL,
  message      text        NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  status       text        NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'sent', 'failed')),
  attempts     integer     NOT NULL DEFAULT 0,
  next_attempt timestamptz NOT NULL DEFAULT now(),
  last_error   text,
  ack          text,
  sent_at      timestamptz
);
CREATE INDEX hl7v2_outbound_due ON hl7v2_outbound (next_attempt) WHERE status = 'pending';
