package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"omnichart/internal/fhir"
)

// ReindexOptions control a re-index.
type ReindexOptions struct {
	// PendingOnly indexes only what a bulk load with deferred indexing left
	// pending; otherwise every current resource is re-indexed.
	PendingOnly bool
	// Restart ignores the saved position of an interrupted full re-index.
	Restart bool
	// Batch is how many resources one transaction re-indexes (default 200).
	Batch int
	// Progress, if set, is called after each batch with the resources done so far
	// and the total to do.
	Progress func(done, total int64)
}

const fullReindexJob = "full"

// Reindex rebuilds search index rows from the stored resources with the current
// registry, in batches of one transaction each. A full re-index records its position
// after every batch and resumes from it when run again after an interruption.
// Once it is done the planner's statistics are refreshed, since it may have
// written every index row there is.
func (s *Store) Reindex(ctx context.Context, opts ReindexOptions) error {
	if opts.Batch <= 0 {
		opts.Batch = 200
	}
	var err error
	if opts.PendingOnly {
		err = s.reindexPending(ctx, opts)
	} else {
		err = s.reindexAll(ctx, opts)
	}
	if err != nil {
		return err
	}
	return s.RefreshStatistics(ctx)
}

// reindexAll re-indexes every resource, resuming where an interrupted run stopped.
func (s *Store) reindexAll(ctx context.Context, opts ReindexOptions) error {
	var total int64
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM resources WHERE deleted = `+s.boolLiteral(false)).Scan(&total); err != nil {
		return fmt.Errorf("reindex: %w", err)
	}
	afterType, afterID, done := "", "", int64(0)
	if opts.Restart {
		if _, err := s.write.ExecContext(ctx, rebind(s.dialect, `DELETE FROM reindex_progress WHERE job = ?`), fullReindexJob); err != nil {
			return fmt.Errorf("reindex: %w", err)
		}
	} else {
		err := s.read.QueryRowContext(ctx, rebind(s.dialect, `SELECT after_type, after_id, done FROM reindex_progress WHERE job = ?`), fullReindexJob).Scan(&afterType, &afterID, &done)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("reindex: %w", err)
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var n int
		nextType, nextID := afterType, afterID
		err := s.runTx(ctx, func(t *tx) error {
			refs, err := t.batchAfter(ctx, afterType, afterID, opts.Batch)
			if err != nil {
				return err
			}
			n = len(refs)
			if err := t.reindexRefs(ctx, refs); err != nil {
				return err
			}
			if n == 0 {
				return t.exec(ctx, `DELETE FROM reindex_progress WHERE job = ?`, fullReindexJob)
			}
			last := refs[n-1]
			nextType, nextID = last.typ, last.id
			if err := t.exec(ctx, `DELETE FROM reindex_progress WHERE job = ?`, fullReindexJob); err != nil {
				return err
			}
			return t.exec(ctx, `INSERT INTO reindex_progress (job, after_type, after_id, done) VALUES (?, ?, ?, ?)`,
				fullReindexJob, nextType, nextID, done+int64(n))
		})
		if err != nil {
			return fmt.Errorf("reindex: %w", err)
		}
		afterType, afterID = nextType, nextID
		done += int64(n)
		if opts.Progress != nil {
			opts.Progress(min(done, total), total)
		}
		if n == 0 {
			return nil
		}
	}
}

func (s *Store) reindexPending(ctx context.Context, opts ReindexOptions) error {
	var total int64
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM index_pending`).Scan(&total); err != nil {
		return fmt.Errorf("reindex: %w", err)
	}
	var done int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var n int
		err := s.runTx(ctx, func(t *tx) error {
			rows, err := t.query(ctx, fmt.Sprintf(`SELECT p.compartment, p.res_type, p.res_id, v.body FROM index_pending p
				JOIN resources r ON r.compartment = p.compartment AND r.res_type = p.res_type AND r.res_id = p.res_id
				`+currentVersion+`
				ORDER BY p.compartment, p.res_type, p.res_id LIMIT %d`, opts.Batch))
			if err != nil {
				return err
			}
			refs, err := scanRefs(rows)
			if err != nil {
				return err
			}
			n = len(refs)
			return t.reindexRefs(ctx, refs)
		})
		if err != nil {
			return fmt.Errorf("reindex: %w", err)
		}
		done += int64(n)
		if opts.Progress != nil {
			opts.Progress(min(done, total), total)
		}
		if n == 0 {
			return nil
		}
	}
}

type storedRef struct {
	compartment, typ, id string
	body                 []byte
}

// reindexBatchBytes bounds the bodies one re-index batch holds at once. A
// batch is counted in resources (ReindexOptions.Batch), but resources differ
// in size by a factor of thousands: the Binaries that keep imported originals
// hold megabytes each, and a batch of 500 of them once took the re-index of the
// Synthea set to 715 MiB resident. A batch now ends at the resource that
// brings its bodies past this many bytes (at least one resource, whatever its
// size), and the next batch starts after it.
var reindexBatchBytes = 16 << 20

// scanRefs reads a batch of stored resources, up to reindexBatchBytes of
// bodies (see there).
func scanRefs(rows *sql.Rows) ([]storedRef, error) {
	defer rows.Close()
	var out []storedRef
	held := 0
	for held < reindexBatchBytes && rows.Next() {
		var r storedRef
		if err := rows.Scan(&r.compartment, &r.typ, &r.id, bodyDest(&r.body)); err != nil {
			return nil, err
		}
		out = append(out, r)
		held += len(r.body)
	}
	return out, rows.Err()
}

func (t *tx) batchAfter(ctx context.Context, afterType, afterID string, n int) ([]storedRef, error) {
	rows, err := t.query(ctx, fmt.Sprintf(`SELECT r.compartment, r.res_type, r.res_id, v.body FROM resources r `+currentVersion+`
		WHERE r.deleted = ? AND (r.res_type > ? OR (r.res_type = ? AND r.res_id > ?)) ORDER BY r.res_type, r.res_id LIMIT %d`, n),
		false, afterType, afterType, afterID)
	if err != nil {
		return nil, err
	}
	return scanRefs(rows)
}

// reindexRefs re-indexes a batch, letting each body go once it is indexed.
func (t *tx) reindexRefs(ctx context.Context, refs []storedRef) error {
	for i := range refs {
		r := &refs[i]
		if err := t.reindexOne(ctx, r.compartment, r.typ, r.id, r.body); err != nil {
			return err
		}
		r.body = nil
	}
	return nil
}

func (t *tx) reindexOne(ctx context.Context, compartment, typ, id string, body []byte) error {
	res, err := fhir.Decode(body)
	if err != nil {
		return fmt.Errorf("decode %s/%s: %w", typ, id, err)
	}
	if err := t.deleteIndexes(ctx, compartment, typ, id); err != nil {
		return err
	}
	// The compartment rules may have changed since the resource was written (a
	// corrected reading of the CompartmentDefinition): a re-index moves it to the
	// compartment it belongs in, with every version, so that reads by id, history,
	// compartment searches and access scopes see it where it is.
	if want := Compartment(typ, id, res); want != compartment {
		if err := t.moveCompartment(ctx, compartment, want, typ, id); err != nil {
			return err
		}
		// Rows of the resource already in that compartment (left by a layout
		// that put its index rows and its versions apart) are stale too: the
		// rows written below replace them, and a token row written again
		// would meet itself as its own key (migration 0020).
		if err := t.deleteIndexes(ctx, want, typ, id); err != nil {
			return err
		}
		compartment = want
	}
	if typ == "Consent" {
		// Consents stored before the openings table existed take effect here.
		var source string
		if err := t.queryRow(ctx, `SELECT source FROM resources WHERE compartment = ? AND res_type = ? AND res_id = ?`, compartment, typ, id).Scan(&source); err != nil {
			return fmt.Errorf("look up the source of %s/%s: %w", typ, id, err)
		}
		if err := t.syncConsent(ctx, id, compartment, source, res); err != nil {
			return err
		}
	}
	return t.writeRows(ctx, compartment, typ, id, t.s.extractor.extract(typ, res))
}

// moveCompartment moves typ/id, its versions and its pending-index mark from one
// compartment to another. Index rows are the caller's to rewrite.
func (t *tx) moveCompartment(ctx context.Context, from, to, typ, id string) error {
	for _, table := range []string{"resources", "resource_versions", "index_pending"} {
		var err error
		if distributed(t.s.dialect) {
			// The compartment is the distribution column there, which an UPDATE
			// may not change: the rows are copied to the new compartment's shard
			// and deleted from the old one.
			cols := movedColumns[table]
			err = t.exec(ctx, `INSERT INTO `+table+` (compartment, `+cols+`) SELECT ?, `+cols+` FROM `+table+`
				WHERE compartment = ? AND res_type = ? AND res_id = ?`, to, from, typ, id)
			if err == nil {
				err = t.exec(ctx, `DELETE FROM `+table+` WHERE compartment = ? AND res_type = ? AND res_id = ?`, from, typ, id)
			}
		} else {
			err = t.exec(ctx, `UPDATE `+table+` SET compartment = ? WHERE compartment = ? AND res_type = ? AND res_id = ?`, to, from, typ, id)
		}
		if err != nil {
			return fmt.Errorf("move %s/%s to %s: %w", typ, id, to, err)
		}
	}
	if err := t.exec(ctx, `UPDATE resource_ids SET compartment = ? WHERE res_type = ? AND res_id = ?`, to, typ, id); err != nil {
		return fmt.Errorf("move %s/%s to %s: %w", typ, id, to, err)
	}
	return nil
}

// movedColumns are the columns besides compartment of the tables moveCompartment
// copies on a distributed schema; a migration that adds a column to one of these
// tables adds it here (TestReindexMovesResourcesToTheirCompartment reads it back).
var movedColumns = map[string]string{
	"resources":         "res_type, res_id, version, last_updated, deleted, source",
	"resource_versions": "res_type, res_id, version, last_updated, deleted, method, body, source",
	"index_pending":     "res_type, res_id",
}

// boolLiteral renders a boolean for the dialect's SQL.
func (s *Store) boolLiteral(b bool) string {
	if s.dialect.Name() == "postgres" {
		return map[bool]string{true: "TRUE", false: "FALSE"}[b]
	}
	return map[bool]string{true: "1", false: "0"}[b]
}
