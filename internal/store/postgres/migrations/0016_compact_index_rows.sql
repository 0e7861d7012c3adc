-- Index rows that were kept but never read (docs/storage.md, "What the index
-- keeps"). Rows written from now on leave them out; this takes them out of rows
-- written before.
--
-- A reference's url now holds only what ref_type, ref_id and ref_version do not
-- spell out (an absolute URL, a canonical, a urn:), and its index holds only the
-- rows whose url says something.
UPDATE index_reference SET url = ''
  WHERE ref_type <> '' AND url = ref_type || '/' || ref_id ||
    CASE WHEN ref_version <> '' THEN '/_history/' || ref_version ELSE '' END;
DROP INDEX index_reference_url;
CREATE INDEX index_reference_url ON index_reference (res_type, param, url) WHERE url <> '';
-- Component rows of a composite value keep no display text (only :text reads it,
-- and a composite search cannot ask for it).
UPDATE index_token SET text = '' WHERE grp > 0 AND text <> '';
-- A composite value whose first component has a value and no other component
-- does can never match a composite search: its first component's rows go.
-- (grp numbers the composite values of one resource, so rows sharing one are
-- the components of one value.)
DELETE FROM index_token
  WHERE grp > 0 AND param LIKE '%$0'
    AND NOT EXISTS (SELECT 1 FROM index_token o WHERE o.compartment = index_token.compartment AND o.res_type = index_token.res_type AND o.res_id = index_token.res_id AND o.grp = index_token.grp AND o.param <> index_token.param)
    AND NOT EXISTS (SELECT 1 FROM index_string o WHERE o.compartment = index_token.compartment AND o.res_type = index_token.res_type AND o.res_id = index_token.res_id AND o.grp = index_token.grp)
    AND NOT EXISTS (SELECT 1 FROM index_date o WHERE o.compartment = index_token.compartment AND o.res_type = index_token.res_type AND o.res_id = index_token.res_id AND o.grp = index_token.grp)
    AND NOT EXISTS (SELECT 1 FROM index_number o WHERE o.compartment = index_token.compartment AND o.res_type = index_token.res_type AND o.res_id = index_token.res_id AND o.grp = index_token.grp)
    AND NOT EXISTS (SELECT 1 FROM index_quantity o WHERE o.compartment = index_token.compartment AND o.res_type = index_token.res_type AND o.res_id = index_token.res_id AND o.grp = index_token.grp)
    AND NOT EXISTS (SELECT 1 FROM index_reference o WHERE o.compartment = index_token.compartment AND o.res_type = index_token.res_type AND o.res_id = index_token.res_id AND o.grp = index_token.grp)
    AND NOT EXISTS (SELECT 1 FROM index_uri o WHERE o.compartment = index_token.compartment AND o.res_type = index_token.res_type AND o.res_id = index_token.res_id AND o.grp = index_token.grp);
