-- Presence (docs/WORKFLOW.md, "Presence"): which staff have a WebSocket bound to a screening
-- session right now, one row per (node, socket, session). Rows belong to the node that holds
-- the socket: it deletes them when the socket unbinds or closes, and refreshes `seen_at` while
-- it runs; rows of a node that stopped refreshing (killed, cut off) are expired by any node.
-- Not history: presence is live state, kept out of the resource tables on purpose.
CREATE TABLE session_presence (
  node       text        NOT NULL,  -- a random id per running server
  connection bigint      NOT NULL,  -- the socket on that node
  session    text        NOT NULL,  -- "Encounter/<id>"
  staff      text        NOT NULL,  -- "Practitioner/<id>"
  user_name  text        NOT NULL,
  roles      text[]      NOT NULL DEFAULT '{}',
  joined_at  timestamptz NOT NULL DEFAULT now(),
  seen_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (node, connection, session)
);
CREATE INDEX session_presence_session ON session_presence (session, staff);
CREATE INDEX session_presence_seen ON session_presence (seen_at);
