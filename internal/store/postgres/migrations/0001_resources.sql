-- Resources, their versions and the id -> compartment lookup. See package store.
-- A resource's JSON is kept once, in resource_versions; resources points at the
-- current version.
CREATE TABLE resource_ids (
  res_type    TEXT NOT NULL,
  res_id      TEXT NOT NULL,
  compartment TEXT NOT NULL,
  PRIMARY KEY (res_type, res_id)
);

CREATE TABLE resources (
  compartment  TEXT NOT NULL,
  res_type     TEXT NOT NULL,
  res_id       TEXT NOT NULL,
  version      BIGINT NOT NULL,
  last_updated BIGINT NOT NULL,
  deleted      BOOLEAN NOT NULL,
  source       TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (compartment, res_type, res_id)
);
CREATE INDEX resources_type_id ON resources (res_type, res_id);
CREATE INDEX resources_type_updated ON resources (res_type, last_updated);

CREATE TABLE resource_versions (
  compartment  TEXT NOT NULL,
  res_type     TEXT NOT NULL,
  res_id       TEXT NOT NULL,
  version      BIGINT NOT NULL,
  last_updated BIGINT NOT NULL,
  deleted      BOOLEAN NOT NULL,
  method       TEXT NOT NULL,
  body         BYTEA,
  PRIMARY KEY (compartment, res_type, res_id, version)
);
CREATE INDEX resource_versions_instance ON resource_versions (res_type, res_id, version);
CREATE INDEX resource_versions_updated ON resource_versions (last_updated, res_type, res_id, version);
CREATE INDEX resource_versions_type_updated ON resource_versions (res_type, last_updated);

-- Search index tables, one per search parameter type. grp ties together the
-- component rows of one value of a composite parameter (0 otherwise).
CREATE TABLE index_string (
  compartment TEXT NOT NULL,
  res_type    TEXT NOT NULL,
  res_id      TEXT NOT NULL,
  param       TEXT NOT NULL,
  grp         INTEGER NOT NULL,
  value_norm  TEXT NOT NULL,
  value_exact TEXT NOT NULL
);
CREATE INDEX index_string_value ON index_string (res_type, param, value_norm);
CREATE INDEX index_string_owner ON index_string (compartment, res_type, res_id, param);

CREATE TABLE index_token (
  compartment TEXT NOT NULL,
  res_type    TEXT NOT NULL,
  res_id      TEXT NOT NULL,
  param       TEXT NOT NULL,
  grp         INTEGER NOT NULL,
  system      TEXT NOT NULL,
  code        TEXT NOT NULL,
  text        TEXT NOT NULL
);
CREATE INDEX index_token_value ON index_token (res_type, param, code, system);
CREATE INDEX index_token_owner ON index_token (compartment, res_type, res_id, param);

CREATE TABLE index_date (
  compartment TEXT NOT NULL,
  res_type    TEXT NOT NULL,
  res_id      TEXT NOT NULL,
  param       TEXT NOT NULL,
  grp         INTEGER NOT NULL,
  low         BIGINT NOT NULL,
  high        BIGINT NOT NULL
);
CREATE INDEX index_date_low ON index_date (res_type, param, low);
CREATE INDEX index_date_high ON index_date (res_type, param, high);
CREATE INDEX index_date_owner ON index_date (compartment, res_type, res_id, param);

CREATE TABLE index_number (
  compartment TEXT NOT NULL,
  res_type    TEXT NOT NULL,
  res_id      TEXT NOT NULL,
  param       TEXT NOT NULL,
  grp         INTEGER NOT NULL,
  value       DOUBLE PRECISION NOT NULL
);
CREATE INDEX index_number_value ON index_number (res_type, param, value);
CREATE INDEX index_number_owner ON index_number (compartment, res_type, res_id, param);

CREATE TABLE index_quantity (
  compartment TEXT NOT NULL,
  res_type    TEXT NOT NULL,
  res_id      TEXT NOT NULL,
  param       TEXT NOT NULL,
  grp         INTEGER NOT NULL,
  value       DOUBLE PRECISION NOT NULL,
  system      TEXT NOT NULL,
  code        TEXT NOT NULL,
  unit        TEXT NOT NULL,
  canon_value DOUBLE PRECISION,
  canon_code  TEXT NOT NULL
);
CREATE INDEX index_quantity_value ON index_quantity (res_type, param, value);
CREATE INDEX index_quantity_canon ON index_quantity (res_type, param, canon_code, canon_value);
CREATE INDEX index_quantity_owner ON index_quantity (compartment, res_type, res_id, param);

CREATE TABLE index_reference (
  compartment TEXT NOT NULL,
  res_type    TEXT NOT NULL,
  res_id      TEXT NOT NULL,
  param       TEXT NOT NULL,
  grp         INTEGER NOT NULL,
  ref_type    TEXT NOT NULL,
  ref_id      TEXT NOT NULL,
  ref_version TEXT NOT NULL,
  url         TEXT NOT NULL,
  id_system   TEXT NOT NULL,
  id_value    TEXT NOT NULL
);
CREATE INDEX index_reference_target ON index_reference (res_type, param, ref_id, ref_type);
CREATE INDEX index_reference_reverse ON index_reference (ref_type, ref_id, param);
CREATE INDEX index_reference_url ON index_reference (res_type, param, url);
CREATE INDEX index_reference_owner ON index_reference (compartment, res_type, res_id, param);

CREATE TABLE index_uri (
  compartment TEXT NOT NULL,
  res_type    TEXT NOT NULL,
  res_id      TEXT NOT NULL,
  param       TEXT NOT NULL,
  grp         INTEGER NOT NULL,
  value       TEXT NOT NULL
);
CREATE INDEX index_uri_value ON index_uri (res_type, param, value);
CREATE INDEX index_uri_owner ON index_uri (compartment, res_type, res_id, param);

-- Resources written during a bulk load whose search indexes are still to be built.
CREATE TABLE index_pending (
  compartment TEXT NOT NULL,
  res_type    TEXT NOT NULL,
  res_id      TEXT NOT NULL,
  PRIMARY KEY (compartment, res_type, res_id)
);

-- Progress of a running re-index, so an interrupted one resumes where it stopped.
CREATE TABLE reindex_progress (
  job        TEXT PRIMARY KEY,
  after_type TEXT NOT NULL,
  after_id   TEXT NOT NULL,
  done       BIGINT NOT NULL
);

-- Named locks: conditional interactions lock their criteria so that two concurrent
-- ones with the same criteria run one after the other. A shared table.
CREATE TABLE locks (
  name TEXT PRIMARY KEY
);
