-- Token rows are kept in owner order, as their own primary key (WITHOUT ROWID):
-- the table is its owner index, so each row is stored once rather than twice,
-- a write adds to two B-trees rather than three, a check of one resource's
-- codes reads one B-tree, and the value index, which then ends with the rest of
-- the key, lists its matches' ids by itself (docs/storage.md, "Token rows kept
-- by owner"). Rows that repeat another of the same resource in every column
-- are one row: a search reads them the same.
CREATE TABLE index_token_by_owner (
  compartment TEXT NOT NULL,
  res_type    TEXT NOT NULL,
  res_id      TEXT NOT NULL,
  param       TEXT NOT NULL,
  grp         INTEGER NOT NULL,
  system      TEXT NOT NULL,
  code        TEXT NOT NULL,
  text        TEXT NOT NULL,
  PRIMARY KEY (compartment, res_type, res_id, param, grp, system, code, text)
) WITHOUT ROWID;
INSERT OR IGNORE INTO index_token_by_owner (compartment, res_type, res_id, param, grp, system, code, text)
  SELECT compartment, res_type, res_id, param, grp, system, code, text FROM index_token
  ORDER BY compartment, res_type, res_id, param, grp, system, code, text;
DROP TABLE index_token;
ALTER TABLE index_token_by_owner RENAME TO index_token;
CREATE INDEX index_token_value ON index_token (res_type, param, code, system, compartment);
