-- Subscriptions (docs/SUBSCRIPTIONS.md): the matcher reads the change log and numbers, per
-- subscription, every event that notifies it. Everything here is written by the matcher alone
-- (one node at a time holds its advisory lock).

-- Events not yet matched. The events written before this migration predate every subscription:
-- they count as matched (the column's default is then switched for new rows).
ALTER TABLE event ADD COLUMN matched boolean NOT NULL DEFAULT true;
ALTER TABLE event ALTER COLUMN matched SET DEFAULT false;
CREATE INDEX event_unmatched ON event (seq) WHERE NOT matched;

-- Per subscription: how many events it has had (events-since-subscription-start).
CREATE TABLE subscription_counter (
  subscription_id text   PRIMARY KEY,
  events          bigint NOT NULL
);

-- The numbered events of each subscription: gapless event_number from 1, in matching order.
-- Kept for $events and catch-up; trimmed by retention (oldest first).
CREATE TABLE notification (
  subscription_id text        NOT NULL,
  event_number    bigint      NOT NULL,
  event_seq       bigint      NOT NULL,   -- the change-log event
  type            text        NOT NULL,
  id              text        NOT NULL,
  version         integer     NOT NULL,
  interaction     text        NOT NULL,   -- POST | PUT | DELETE
  at              timestamptz NOT NULL,
  PRIMARY KEY (subscription_id, event_number)
);

-- Wake the matcher (on whichever node holds it) when events commit, and the dispatchers when
-- notifications do. NOTIFY is delivered at commit, once per transaction and payload.
CREATE FUNCTION fovea_notify_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('fovea_event', '');
  RETURN NULL;
END $$;
CREATE TRIGGER event_notify AFTER INSERT ON event FOR EACH STATEMENT EXECUTE FUNCTION fovea_notify_event();

CREATE FUNCTION fovea_notify_notification() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('fovea_notification', '');
  RETURN NULL;
END $$;
CREATE TRIGGER notification_notify AFTER INSERT ON notification
  FOR EACH STATEMENT EXECUTE FUNCTION fovea_notify_notification();
