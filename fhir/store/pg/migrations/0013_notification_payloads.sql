-- Subscription delivery without a round trip per stage (docs/SUBSCRIPTIONS.md, "Durable,
-- numbered events"; docs/PERFORMANCE.md, issue 6).
--
-- The matcher now sends NOTIFY fovea_notification itself, in the transaction that numbers the
-- notifications, with the new (subscription, number) pairs and their event as the payload (an
-- empty payload still means "read the table"). The statement trigger of 0005 would add an empty
-- payload to every such transaction and send every dispatcher back to the queries, so it stays
-- quiet when the transaction says it announced its numbers (the setting fovea.announced, set
-- with is_local in the matcher's statement). A matcher of an older version (a node not yet
-- upgraded) does not say so, and its batches still wake the dispatchers as before.
-- No data changes: subscription_counter and notification keep their rows and meaning, except
-- that the counter may now lag behind the highest event_number (the count is the greater of
-- the two; see the readers in subscriptions/pg).
CREATE OR REPLACE FUNCTION fovea_notify_notification() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('fovea.announced', true), '') <> 'on' THEN
    PERFORM pg_notify('fovea_notification', '');
  END IF;
  RETURN NULL;
END $$;
