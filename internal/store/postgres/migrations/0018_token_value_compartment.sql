-- The token value index ends with the compartment, so that a search that knows
-- the patients it looks in (a chain to Patient through subject, one patient's
-- chart) reads only those patients' rows of a code, not every resource's that
-- has it (docs/storage.md, "Searches within known compartments").
DROP INDEX index_token_value;
CREATE INDEX index_token_value ON index_token (res_type, param, code, system, compartment);
