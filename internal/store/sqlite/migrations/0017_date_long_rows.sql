-- The date index rows that cover more than 30 days (open-ended periods,
-- episodes of years), which a search of a date range on a single-valued
-- parameter reads apart from the others (docs/storage.md, "Date ranges"). The
-- expression must match the one in the store's queries character for character
-- (store.shortDateRow) for the planner to use the index.
CREATE INDEX index_date_long ON index_date (res_type, param, low) WHERE high > low + 2592000000000;
