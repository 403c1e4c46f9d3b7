-- Who a WebSocket binding token was issued to (docs/SUBSCRIPTIONS.md, "The WebSocket channel"):
-- the principal of the $get-ws-binding-token call (kind, subject, scopes, launch patient, as
-- JSON), so that whichever node redeems the token can check, event by event, that the reader may
-- read a resource before sending it in full. NULL (tokens saved before this migration): the
-- socket gets ids only.
ALTER TABLE ws_binding_token ADD COLUMN reader jsonb;
