-- The models of the patient matcher that the master patient index scores with
-- (docs/matching.md, "The model of the index"): the m and u of every field's
-- agreement levels, estimated by EM from the stored Patients by
-- `omnichart admin mpi estimate --save`. Rows are only inserted; the newest
-- (estimated, then id) is the model in use, the older ones say which model was
-- in use when. body is the model as internal/match encodes it (JSON of levels
-- and numbers, no value of any record). Times are microseconds since the epoch,
-- UTC. On Citus a reference table: small, and read by every server at start.
CREATE TABLE match_models (
  id           TEXT PRIMARY KEY,
  estimated    BIGINT NOT NULL,
  estimated_by TEXT NOT NULL,
  records      BIGINT NOT NULL,
  pairs        BIGINT NOT NULL,
  body         TEXT NOT NULL
);
CREATE INDEX match_models_estimated ON match_models (estimated, id);
