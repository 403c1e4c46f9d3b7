-- Current versions: one row per resource, read by id.
CREATE TABLE resource (
  type         text        NOT NULL,
  id           text        NOT NULL,
  version      integer     NOT NULL,
  last_updated timestamptz NOT NULL,
  deleted      boolean     NOT NULL,
  content      text,                      -- canonical JSON; NULL once deleted
  PRIMARY KEY (type, id)
);

-- Every version ever written, including deletions. seq is the change-log position.
CREATE TABLE resource_history (
  seq          bigint      NOT NULL,
  type         text        NOT NULL,
  id           text        NOT NULL,
  version      integer     NOT NULL,
  last_updated timestamptz NOT NULL,
  deleted      boolean     NOT NULL,
  method       text        NOT NULL,
  content      text,
  PRIMARY KEY (type, id, version)
);
CREATE INDEX resource_history_seq ON resource_history (seq);
CREATE INDEX resource_history_type_seq ON resource_history (type, seq);

-- The change log (outbox) that Subscriptions deliver from; appended by every write.
CREATE TABLE event (
  seq          bigserial   PRIMARY KEY,
  type         text        NOT NULL,
  id           text        NOT NULL,
  version      integer     NOT NULL,
  interaction  text        NOT NULL,
  at           timestamptz NOT NULL
);
