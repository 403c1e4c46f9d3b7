-- WebSocket binding tokens ($get-ws-binding-token, docs/SUBSCRIPTIONS.md): short-lived, for
-- one or more websocket subscriptions, redeemable on any node. Only a hash of the token is
-- kept, so a database dump does not let anyone bind.
CREATE TABLE ws_binding_token (
  token_hash       text        PRIMARY KEY,   -- base64url(SHA-256(token))
  subscription_ids text[]      NOT NULL,
  expires          timestamptz NOT NULL
);
CREATE INDEX ws_binding_token_expires ON ws_binding_token (expires);
