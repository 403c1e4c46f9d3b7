-- rest-hook delivery (docs/SUBSCRIPTIONS.md, "rest-hook"): one row per rest-hook Subscription,
-- the durable cursor and retry state of its deliveries. Any node's deliverer claims a row with
-- SELECT ... FOR UPDATE SKIP LOCKED and holds it while it POSTs, so one subscription's
-- notifications go out one at a time and in order, whichever nodes deliver.
CREATE TABLE rest_hook_delivery (
  subscription_id   text        PRIMARY KEY,
  delivered_through bigint      NOT NULL DEFAULT 0,      -- the last event_number the endpoint took
  failures          integer     NOT NULL DEFAULT 0,      -- consecutive failed attempts
  next_attempt      timestamptz NOT NULL DEFAULT now(),  -- backoff: not before this
  heartbeat_due     timestamptz,                         -- null: no heartbeats asked for
  last_error        text
);
CREATE INDEX rest_hook_delivery_next ON rest_hook_delivery (next_attempt);
