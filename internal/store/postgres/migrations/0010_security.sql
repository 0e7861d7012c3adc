-- The authorization server's own tables (internal/smart). They are small, keyed by
-- short values (names, ids, SHA-256 hashes in hex) and carry no triggers, so that a
-- distributed PostgreSQL can keep them as reference tables. Times are microseconds
-- since the epoch, UTC; flags are 0/1.
CREATE TABLE auth_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE auth_org_sources (org TEXT NOT NULL, source TEXT NOT NULL, PRIMARY KEY (org, source));
CREATE TABLE auth_users (
  username TEXT PRIMARY KEY,
  org TEXT NOT NULL,
  fhir_user TEXT NOT NULL DEFAULT '',
  pw_hash TEXT NOT NULL,
  pw_salt TEXT NOT NULL,
  pw_iter INTEGER NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  locked_until BIGINT NOT NULL DEFAULT 0,
  totp_secret TEXT NOT NULL DEFAULT '',
  totp_last_step BIGINT NOT NULL DEFAULT 0,
  created BIGINT NOT NULL
);
CREATE TABLE auth_clients (
  client_id TEXT PRIMARY KEY,
  name TEXT NOT NULL DEFAULT '',
  kind TEXT NOT NULL,
  secret_hash TEXT NOT NULL DEFAULT '',
  redirect_uris TEXT NOT NULL DEFAULT '',
  jwks TEXT NOT NULL DEFAULT '',
  jwks_url TEXT NOT NULL DEFAULT '',
  scopes TEXT NOT NULL DEFAULT '',
  sources TEXT NOT NULL DEFAULT '',
  disabled INTEGER NOT NULL DEFAULT 0,
  created BIGINT NOT NULL
);
CREATE TABLE auth_codes (
  code_hash TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  challenge TEXT NOT NULL,
  scope TEXT NOT NULL,
  username TEXT NOT NULL,
  patient TEXT NOT NULL DEFAULT '',
  encounter TEXT NOT NULL DEFAULT '',
  nonce TEXT NOT NULL DEFAULT '',
  family TEXT NOT NULL,
  expires BIGINT NOT NULL,
  used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE auth_refresh_tokens (
  token_hash TEXT PRIMARY KEY,
  family TEXT NOT NULL,
  client_id TEXT NOT NULL,
  username TEXT NOT NULL,
  scope TEXT NOT NULL,
  patient TEXT NOT NULL DEFAULT '',
  encounter TEXT NOT NULL DEFAULT '',
  expires BIGINT NOT NULL,
  rotated INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX auth_refresh_tokens_family ON auth_refresh_tokens (family);
CREATE TABLE auth_revoked (id TEXT PRIMARY KEY, expires BIGINT NOT NULL);
CREATE TABLE auth_assertions (jti_hash TEXT PRIMARY KEY, expires BIGINT NOT NULL);
CREATE TABLE auth_keys (
  kid TEXT PRIMARY KEY,
  alg TEXT NOT NULL,
  private_jwk TEXT NOT NULL,
  created BIGINT NOT NULL
);
CREATE TABLE auth_launches (
  launch_hash TEXT PRIMARY KEY,
  patient TEXT NOT NULL DEFAULT '',
  encounter TEXT NOT NULL DEFAULT '',
  expires BIGINT NOT NULL
);
