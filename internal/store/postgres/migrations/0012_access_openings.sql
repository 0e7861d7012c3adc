-- Openings: patient compartments opened for reading beyond the caller's own
-- sources (docs/security.md, "Consent and break-the-glass"). A Consent of the
-- patient's custodian writes one row per organization it permits ('permit') or
-- denies ('deny') by name, grantee 'org:<name>', or '*' for every organization;
-- the rows of a Consent are replaced in the transaction that writes it. A
-- break-the-glass access writes one 'break-glass' row per opened compartment for
-- 'user:<name>', with its reason; those rows are never deleted, so that they stay
-- the report of every emergency access. Times are microseconds since the epoch,
-- UTC; closes is the first instant the row no longer opens anything.
CREATE TABLE access_openings (
  id TEXT PRIMARY KEY,
  compartment TEXT NOT NULL,
  grantee TEXT NOT NULL,
  kind TEXT NOT NULL,
  opens BIGINT NOT NULL,
  closes BIGINT NOT NULL,
  origin TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  granted_by TEXT NOT NULL DEFAULT '',
  granted_at BIGINT NOT NULL
);
CREATE INDEX access_openings_grantee ON access_openings (grantee, kind, compartment);
CREATE INDEX access_openings_origin ON access_openings (origin);
-- Users who may break the glass (docs/security.md).
ALTER TABLE auth_users ADD COLUMN break_glass INTEGER NOT NULL DEFAULT 0;
