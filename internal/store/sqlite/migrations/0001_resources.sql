-- Resources, their versions and the id -> compartment lookup. See package store.
CREATE TABLE resource_ids (
  res_type    TEXT NOT NULL,
  res_id      TEXT NOT NULL,
  compartment TEXT NOT NULL,
  PRIMARY KEY (res_type, res_id)
) WITHOUT ROWID;

CREATE TABLE resources (
  compartment  TEXT NOT NULL,
  res_type     TEXT NOT NULL,
  res_id       TEXT NOT NULL,
  version      INTEGER NOT NULL,
  last_updated INTEGER NOT NULL,
  deleted      BOOLEAN NOT NULL,
  source       TEXT NOT NULL DEFAULT '',
  body         BLOB,
  PRIMARY KEY (compartment, res_type, res_id)
);
CREATE INDEX resources_type_id ON resources (res_type, res_id);
CREATE INDEX resources_type_updated ON resources (res_type, last_updated);

CREATE TABLE resource_versions (
  compartment  TEXT NOT NULL,
  res_type     TEXT NOT NULL,
  res_id       TEXT NOT NULL,
  version      INTEGER NOT NULL,
  last_updated INTEGER NOT NULL,
  deleted      BOOLEAN NOT NULL,
  method       TEXT NOT NULL,
  body         BLOB,
  PRIMARY KEY (compartment, res_type, res_id, version)
);
CREATE INDEX resource_versions_instance ON resource_versions (res_type, res_id, version);
CREATE INDEX resource_versions_updated ON resource_versions (last_updated, res_type, res_id, version);
CREATE INDEX resource_versions_type_updated ON resource_versions (res_type, last_updated);

CREATE TABLE index_token (
  compartment TEXT NOT NULL,
  res_type    TEXT NOT NULL,
  res_id      TEXT NOT NULL,
  param       TEXT NOT NULL,
  system      TEXT NOT NULL DEFAULT '',
  code        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX index_token_value ON index_token (res_type, param, code, system);
CREATE INDEX index_token_owner ON index_token (compartment, res_type, res_id);
