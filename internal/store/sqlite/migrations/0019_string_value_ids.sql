-- The string value index ends with the resource's id, so that a search by name
-- (Patient?family=) lists its matches' ids from the index alone, in the page's
-- order, and reads the rows of the page's resources only (docs/storage.md,
-- "Matches listed by id").
DROP INDEX index_string_value;
CREATE INDEX index_string_value ON index_string (res_type, param, value_norm, res_id);
