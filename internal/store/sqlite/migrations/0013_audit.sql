-- The audit log (internal/audit, docs/security.md#audit). Records are only ever
-- inserted: no statement of the server updates or deletes a row of audit_events or
-- audit_patients. seq numbers the records 1, 2, 3, ... in one global order; mac
-- (hex HMAC-SHA-256, keyed by a secret kept outside the database) chains each
-- record to the one before it, so that an edited, removed, inserted or reordered
-- row is found by `omnichart admin audit verify`. audit_head holds the end of the
-- chain (its one row is the lock every append takes); on Citus these tables stay
-- local to the coordinator, which keeps the one order. Times are microseconds
-- since the epoch, UTC.
CREATE TABLE audit_events (
  seq      BIGINT PRIMARY KEY,
  recorded BIGINT NOT NULL,
  agent    TEXT NOT NULL,
  body     TEXT NOT NULL,
  mac      TEXT NOT NULL
);
CREATE INDEX audit_events_recorded ON audit_events (recorded);
CREATE INDEX audit_events_agent ON audit_events (agent, seq);
-- The patients each record concerns, for searches by patient.
CREATE TABLE audit_patients (
  patient TEXT NOT NULL,
  seq     BIGINT NOT NULL,
  PRIMARY KEY (patient, seq)
);
-- key_id names the key of the chain (set by the first append), so that a
-- server started with another key refuses to append instead of breaking it.
CREATE TABLE audit_head (
  id     INTEGER PRIMARY KEY,
  seq    BIGINT NOT NULL,
  mac    TEXT NOT NULL,
  key_id TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, mac, key_id) VALUES (1, 0, '', '');
