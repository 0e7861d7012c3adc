package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"omnichart/internal/ehr"
)

// The audit log's tables (migration 0013_audit.sql):
//
//	audit_events    seq, recorded, agent, body, mac: one row per record, only inserted
//	audit_patients  (patient, seq): the patients of each record, for searches
//	audit_head      the one row (seq, mac) of the end of the chain
//
// Every append, in a transaction of its own or inside the write transaction of
// the data change it records, first updates the head row: that row lock is what
// orders appends from every connection and every server process into one chain.
// It is taken last in a write transaction, so it is held only from there to the
// commit.

// AppendAudit implements ehr.AuditStore: it appends entries in one transaction
// of their own.
func (s *Store) AppendAudit(ctx context.Context, entries []*ehr.AuditEntry, seal ehr.AuditSealer) error {
	return s.runTx(ctx, func(t *tx) error { return t.AppendAudit(ctx, entries, seal) })
}

// AppendAudit implements ehr.AuditAppender: it appends entries inside t, so they
// commit or roll back with what t wrote. A retried transaction appends them again
// from the head it then finds.
func (t *tx) AppendAudit(ctx context.Context, entries []*ehr.AuditEntry, seal ehr.AuditSealer) error {
	if !t.writable {
		return errors.New("audit append outside a write transaction")
	}
	if len(entries) == 0 {
		return nil
	}
	// Lock the head and read it in one statement: an UPDATE takes the row lock
	// (PostgreSQL) or the write lock (SQLite) on every engine alike.
	var seq int64
	var macHex, keyID string
	if err := t.queryRow(ctx, `UPDATE audit_head SET id = id WHERE id = 1 RETURNING seq, mac, key_id`).Scan(&seq, &macHex, &keyID); err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	if keyID != "" && keyID != seal.KeyID {
		return errors.New("the audit key is not the key of this database's audit log (key id " + keyID + "); start with the log's key file")
	}
	prev, err := hex.DecodeString(macHex)
	if err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	// Few INSERTs of many rows each: a group commit costs a few statements,
	// however many requests it serves.
	insert := t.s.dialect.InsertRows()
	events := &rowInsert{t: t, head: insert + ` INTO audit_events (seq, recorded, agent, body, mac) VALUES `, row: "(?, ?, ?, ?, ?)"}
	patients := &rowInsert{t: t, head: insert + ` INTO audit_patients (patient, seq) VALUES `, row: "(?, ?)"}
	for _, e := range entries {
		seq++
		e.Seq = seq
		if e.Recorded.IsZero() {
			e.Recorded = t.now
		}
		e.Recorded = e.Recorded.UTC().Truncate(time.Microsecond)
		e.MAC = seal.MAC(prev, e)
		prev = e.MAC
		if err := events.add(ctx, e.Seq, e.Recorded.UnixMicro(), e.Agent, string(e.Body), hex.EncodeToString(e.MAC)); err != nil {
			return err
		}
		for _, p := range e.Patients {
			if err := patients.add(ctx, p, e.Seq); err != nil {
				return err
			}
		}
	}
	if err := events.flush(ctx); err != nil {
		return err
	}
	if err := patients.flush(ctx); err != nil {
		return err
	}
	if err := t.exec(ctx, `UPDATE audit_head SET seq = ?, mac = ?, key_id = ? WHERE id = 1`, seq, hex.EncodeToString(prev), seal.KeyID); err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	return nil
}

// rowInsert gathers rows into multi-row INSERTs of at most maxInsertArgs
// arguments, below the bind-parameter limits of both engines.
type rowInsert struct {
	t         *tx
	head, row string
	b         strings.Builder
	args      []any
}

const maxInsertArgs = 5000

func (r *rowInsert) add(ctx context.Context, args ...any) error {
	if len(r.args) > 0 {
		r.b.WriteString(", ")
	}
	r.b.WriteString(r.row)
	r.args = append(r.args, args...)
	if len(r.args) >= maxInsertArgs {
		return r.flush(ctx)
	}
	return nil
}

func (r *rowInsert) flush(ctx context.Context) error {
	if len(r.args) == 0 {
		return nil
	}
	err := r.t.exec(ctx, r.head+r.b.String(), r.args...)
	r.b.Reset()
	r.args = r.args[:0]
	if err != nil {
		return fmt.Errorf("audit append: %w", err)
	}
	return nil
}

// AuditEntries implements ehr.AuditStore. The entries carry no Patients (their
// bodies name them).
func (s *Store) AuditEntries(ctx context.Context, q ehr.AuditQuery) ([]*ehr.AuditEntry, error) {
	var where []string
	var args []any
	if q.Patient != "" {
		where = append(where, `e.seq IN (SELECT p.seq FROM audit_patients p WHERE p.patient = ?)`)
		args = append(args, q.Patient)
	}
	if q.Agent != "" {
		where = append(where, `e.agent = ?`)
		args = append(args, q.Agent)
	}
	if !q.Since.IsZero() {
		where = append(where, `e.recorded >= ?`)
		args = append(args, q.Since.UnixMicro())
	}
	if !q.Until.IsZero() {
		where = append(where, `e.recorded < ?`)
		args = append(args, q.Until.UnixMicro())
	}
	if q.Before > 0 {
		where = append(where, `e.seq < ?`)
		args = append(args, q.Before)
	}
	query := `SELECT e.seq, e.recorded, e.agent, e.body, e.mac FROM audit_events e`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY e.seq DESC`
	if q.Count > 0 {
		query += fmt.Sprintf(` LIMIT %d`, q.Count)
	}
	t := s.reader()
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("audit search: %w", err)
	}
	defer rows.Close()
	var out []*ehr.AuditEntry
	for rows.Next() {
		e, err := scanAuditEntry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit search: %w", err)
	}
	return out, nil
}

type rowScanner interface{ Scan(dest ...any) error }

func scanAuditEntry(r rowScanner) (*ehr.AuditEntry, error) {
	var e ehr.AuditEntry
	var recorded int64
	var body, macHex string
	if err := r.Scan(&e.Seq, &recorded, &e.Agent, &body, &macHex); err != nil {
		return nil, fmt.Errorf("audit read: %w", err)
	}
	e.Recorded = time.UnixMicro(recorded).UTC()
	e.Body = []byte(body)
	// A MAC that is not hex (a tampered row) is kept as no MAC: it fails the check.
	e.MAC, _ = hex.DecodeString(macHex)
	return &e, nil
}

// ScanAudit implements ehr.AuditStore. It reads the head first and then the
// records up to it: every record at or below a committed head is committed, so
// the scan is consistent without a snapshot while appends go on. Rows beyond the
// current head, which no append makes, are passed to fn last.
func (s *Store) ScanAudit(ctx context.Context, fn func(*ehr.AuditEntry) error) (int64, []byte, error) {
	t := s.reader()
	var headSeq int64
	var headHex string
	if err := t.queryRow(ctx, `SELECT seq, mac FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHex); err != nil {
		return 0, nil, fmt.Errorf("audit head: %w", err)
	}
	headMAC, _ := hex.DecodeString(headHex)
	// The patients of every record, in seq order, are merged with the records.
	prow, err := t.query(ctx, `SELECT seq, patient FROM audit_patients WHERE seq <= ? ORDER BY seq, patient`, headSeq)
	if err != nil {
		return 0, nil, fmt.Errorf("audit scan: %w", err)
	}
	defer prow.Close()
	var pSeq int64
	var pName string
	pOK := false
	nextPatient := func() error {
		pOK = prow.Next()
		if !pOK {
			return prow.Err()
		}
		return prow.Scan(&pSeq, &pName)
	}
	if err := nextPatient(); err != nil {
		return 0, nil, fmt.Errorf("audit scan: %w", err)
	}
	// Rows above the head (appended after it was read) are left out; rows
	// without a place in the chain (seq <= 0) are not.
	rows, err := t.query(ctx, `SELECT seq, recorded, agent, body, mac FROM audit_events WHERE seq <= ? ORDER BY seq`, headSeq)
	if err != nil {
		return 0, nil, fmt.Errorf("audit scan: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanAuditEntry(rows)
		if err != nil {
			return 0, nil, err
		}
		// Patient rows of a seq with no record are skipped: the record is
		// missing, and that is found by its seq.
		for pOK && pSeq < e.Seq {
			if err := nextPatient(); err != nil {
				return 0, nil, fmt.Errorf("audit scan: %w", err)
			}
		}
		for pOK && pSeq == e.Seq {
			e.Patients = append(e.Patients, pName)
			if err := nextPatient(); err != nil {
				return 0, nil, fmt.Errorf("audit scan: %w", err)
			}
		}
		if err := fn(e); err != nil {
			return 0, nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return 0, nil, fmt.Errorf("audit scan: %w", err)
	}
	rows.Close()
	// Rows beyond the head as it is now have no place in the chain (the head and
	// the rows of an append commit together). One statement reads both, so a
	// concurrent append is never mistaken for one.
	extra, err := t.query(ctx, `SELECT seq, recorded, agent, body, mac FROM audit_events
		WHERE seq > (SELECT h.seq FROM audit_head h WHERE h.id = 1) ORDER BY seq`)
	if err != nil {
		return 0, nil, fmt.Errorf("audit scan: %w", err)
	}
	defer extra.Close()
	for extra.Next() {
		e, err := scanAuditEntry(extra)
		if err != nil {
			return 0, nil, err
		}
		if err := fn(e); err != nil {
			return 0, nil, err
		}
	}
	if err := extra.Err(); err != nil {
		return 0, nil, fmt.Errorf("audit scan: %w", err)
	}
	return headSeq, headMAC, nil
}
