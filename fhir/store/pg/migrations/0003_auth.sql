-- Security state (fhir/auth): staff accounts, clients, signing keys, and the short-lived
-- records of the OAuth flows. Secrets are stored only as hashes.

CREATE TABLE auth_user (
  username       text PRIMARY KEY,
  password_hash  text NOT NULL,
  fhir_user      text NOT NULL,
  roles          text[] NOT NULL,
  disabled       boolean NOT NULL DEFAULT false,
  failed_logins  integer NOT NULL DEFAULT 0,
  locked_until   timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auth_client (
  client_id      text PRIMARY KEY,
  name           text NOT NULL,
  kind           text NOT NULL CHECK (kind IN ('backend', 'public')),
  jwks           text NOT NULL DEFAULT '',
  jwks_url       text NOT NULL DEFAULT '',   -- or where the client publishes its keys
  roles          text[] NOT NULL,
  redirect_uris  text[] NOT NULL DEFAULT '{}',
  first_party    boolean NOT NULL DEFAULT false,
  disabled       boolean NOT NULL DEFAULT false,
  created_at     timestamptz NOT NULL DEFAULT now()
);

-- The server's token signing keys; the newest active one signs, all verify until removed.
CREATE TABLE auth_signing_key (
  kid          text PRIMARY KEY,
  alg          text NOT NULL,
  private_pem  text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  active       boolean NOT NULL DEFAULT false
);

-- Client assertion ids seen (replay protection), kept until the assertion expires.
CREATE TABLE auth_assertion_jti (
  client_id   text NOT NULL,
  jti         text NOT NULL,
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (client_id, jti)
);
CREATE INDEX auth_assertion_jti_expiry ON auth_assertion_jti (expires_at);

CREATE TABLE auth_refresh_token (
  token_hash  text PRIMARY KEY,
  family      text NOT NULL,
  username    text NOT NULL,
  client_id   text NOT NULL,
  scope       text NOT NULL,
  patient     text NOT NULL DEFAULT '',
  expires_at  timestamptz NOT NULL,
  used        boolean NOT NULL DEFAULT false,
  revoked     boolean NOT NULL DEFAULT false
);
CREATE INDEX auth_refresh_token_family ON auth_refresh_token (family);

CREATE TABLE auth_code (
  code_hash       text PRIMARY KEY,
  client_id       text NOT NULL,
  username        text NOT NULL,
  redirect_uri    text NOT NULL,
  code_challenge  text NOT NULL,
  scope           text NOT NULL,
  patient         text NOT NULL DEFAULT '',
  expires_at      timestamptz NOT NULL
);

CREATE TABLE auth_revoked_token (
  jti         text PRIMARY KEY,
  expires_at  timestamptz NOT NULL
);
