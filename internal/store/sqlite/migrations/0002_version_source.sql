-- Every version carries the source that owns it, so that version reads and history
-- can be limited to what a caller may see (see ehr.Scope) without a join.
ALTER TABLE resource_versions ADD COLUMN source TEXT NOT NULL DEFAULT '';
UPDATE resource_versions SET source = (SELECT r.source FROM resources r
  WHERE r.compartment = resource_versions.compartment AND r.res_type = resource_versions.res_type
    AND r.res_id = resource_versions.res_id);
