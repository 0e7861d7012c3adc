// Package store implements ehr.ResourceStore once, in SQL that SQLite and PostgreSQL
// both accept; the engine packages (store/sqlite, store/postgres) supply a Dialect,
// their migrations and an opened database.
//
// # Tables
//
//	resource_ids       (res_type, res_id) -> compartment: reads by id alone
//	resources          the current version of each resource, deleted ones included
//	resource_versions  every version, deletes included (body NULL)
//	index_*            search index rows of current versions, one table per type
//
// Every patient table row carries compartment ("Patient/<id>", or "<Type>/<id>" for a
// resource outside all Patient compartments), and every primary key starts with it, so
// the schema can be distributed by compartment. Ids (UUIDv7) and timestamps
// (microseconds since the epoch, UTC) are made in Go.
package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// Store is the shared ehr.ResourceStore implementation.
type Store struct {
	write     *sql.DB
	read      *sql.DB
	dialect   Dialect
	now       func() time.Time
	newID     func() string
	registry  *search.Registry
	extractor *extractor
	// limits and searchTimeout bound every search; see limits.go.
	limits        search.Limits
	searchTimeout time.Duration
	// writeLockTimeout bounds the wait for the locks of a write; see writewait.go.
	writeLockTimeout time.Duration
	// group shares write transactions between queued writers on an engine with
	// one writer; nil elsewhere (see groupcommit.go).
	group *groupCommit
	// readStmts and writeStmts keep prepared statements of the two pools on
	// SQLite; nil elsewhere (see statements.go).
	readStmts, writeStmts *statements
	// walks counts the search pages a walk found (walk.go), for tests.
	walks atomic.Int64
}

// Options configure a Store. Now and NewID default to the wall clock and UUIDv7,
// Registry to the R4 search parameters, SearchLimits to search.DefaultLimits and
// SearchTimeout to DefaultSearchTimeout.
type Options struct {
	Now      func() time.Time
	NewID    func() string
	Registry *search.Registry
	// SearchLimits bound what one search may ask for (search.Limits).
	SearchLimits search.Limits
	// SearchTimeout bounds how long one search may run.
	SearchTimeout time.Duration
	// WriteLockWait bounds how long a write waits for the locks it needs;
	// DefaultWriteLockTimeout when zero (see Options.WriteLockTimeout).
	WriteLockWait time.Duration
}

// New returns a Store over write (used for every transaction) and read (used for reads
// outside transactions; it may be the same pool).
func New(write, read *sql.DB, d Dialect, opts Options) *Store {
	s := &Store{write: write, read: read, dialect: d, now: opts.Now, newID: opts.NewID, registry: opts.Registry,
		limits: opts.SearchLimits.WithDefaults(), searchTimeout: opts.SearchTimeout, writeLockTimeout: opts.WriteLockTimeout()}
	if s.searchTimeout <= 0 {
		s.searchTimeout = DefaultSearchTimeout
	}
	if s.registry == nil {
		s.registry = search.NewRegistry()
	}
	s.extractor = newExtractor(s.registry)
	if groupCommits(d) {
		// The engine with one writer is SQLite, whose driver prepares every
		// query anew.
		s.group = newGroupCommit()
		s.writeStmts = newStatements(write)
		s.readStmts = newStatements(read)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	return s
}

// Close closes both pools.
func (s *Store) Close() error {
	for _, c := range []*statements{s.readStmts, s.writeStmts} {
		if c != nil {
			c.close()
		}
	}
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// DB returns the write pool, for engine-specific maintenance and tests.
func (s *Store) DB() *sql.DB { return s.write }

// maxAttempts bounds how often a transaction is retried after a serialization failure.
const maxAttempts = 12

// Transaction runs fn in one database transaction and retries it from the start when
// the engine reports a serialization failure or deadlock.
func (s *Store) Transaction(ctx context.Context, fn func(tx ehr.Tx) error) error {
	return s.runTx(ctx, func(t *tx) error { return fn(t) })
}

// runTx runs fn in one write transaction, retrying it from the start after a
// serialization failure, deadlock or busy database; index rows it buffered are
// written before the commit and onCommit hooks run after it.
func (s *Store) runTx(ctx context.Context, fn func(t *tx) error) error {
	var err error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if attempt > 0 {
			backoff := time.Duration(attempt*attempt) * time.Millisecond
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
		}
		err = s.runOnce(ctx, fn)
		if err == nil || !(s.dialect.Retryable(err) || errors.Is(err, errGroupAborted)) {
			return err
		}
	}
	return ehr.Errorf(ehr.Conflict, "the transaction kept conflicting with concurrent writes; try again")
}

func (s *Store) runOnce(ctx context.Context, fn func(t *tx) error) error {
	if s.group != nil {
		return s.runGrouped(ctx, fn)
	}
	conn, err := s.writeConn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	sqlTx, err := conn.BeginTx(ctx, s.dialect.TxOptions())
	if err != nil {
		if s.dialect.LockWaitExpired(err) {
			return s.writeLockError()
		}
		return fmt.Errorf("begin: %w", err)
	}
	t := &tx{s: s, q: sqlTx, now: s.now().UTC().Truncate(time.Microsecond), writable: true}
	if distributed(s.dialect) {
		// The session's lock_timeout binds the coordinator only; with
		// citus.propagate_set_commands=local a SET LOCAL is sent to every
		// worker the transaction reaches, so that row locks taken on a worker
		// wait no longer than the write lock timeout either.
		err = t.exec(ctx, "SET LOCAL citus.propagate_set_commands = 'local'")
		if err == nil {
			err = t.exec(ctx, fmt.Sprintf("SET LOCAL lock_timeout = %d", s.writeLockTimeout.Milliseconds()))
		}
	}
	if err == nil {
		err = fn(t)
	}
	if err == nil {
		err = t.flushIndexes(ctx)
	}
	if err != nil {
		sqlTx.Rollback()
		if s.dialect.LockWaitExpired(err) {
			return s.writeLockError()
		}
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	for _, f := range t.onCommit {
		f()
	}
	return nil
}

func (s *Store) reader() *tx { return &tx{s: s, q: s.read, now: s.now().UTC()} }

// NewID implements ehr.Tx.
func (s *Store) NewID() string { return s.newID() }

// Create implements ehr.Tx in a transaction of its own.
func (s *Store) Create(ctx context.Context, id string, res map[string]any) (rec *ehr.Record, err error) {
	err = s.Transaction(ctx, func(t ehr.Tx) error {
		rec, err = t.Create(ctx, id, res)
		return err
	})
	return rec, err
}

// Update implements ehr.Tx in a transaction of its own.
func (s *Store) Update(ctx context.Context, typ, id string, res map[string]any, opts ehr.WriteOptions) (rec *ehr.Record, created bool, err error) {
	err = s.Transaction(ctx, func(t ehr.Tx) error {
		rec, created, err = t.Update(ctx, typ, id, res, opts)
		return err
	})
	return rec, created, err
}

// Delete implements ehr.Tx in a transaction of its own.
func (s *Store) Delete(ctx context.Context, typ, id string, ifMatch int64) (rec *ehr.Record, err error) {
	err = s.Transaction(ctx, func(t ehr.Tx) error {
		rec, err = t.Delete(ctx, typ, id, ifMatch)
		return err
	})
	return rec, err
}

// Read implements ehr.Tx.
func (s *Store) Read(ctx context.Context, typ, id string) (*ehr.Record, error) {
	return s.reader().Read(ctx, typ, id)
}

// VRead implements ehr.Tx.
func (s *Store) VRead(ctx context.Context, typ, id string, version int64) (*ehr.Record, error) {
	return s.reader().VRead(ctx, typ, id, version)
}

// Search implements ehr.Tx.
func (s *Store) Search(ctx context.Context, q *search.Query) (*ehr.Page, error) {
	return s.reader().Search(ctx, q)
}

// History implements ehr.Tx.
func (s *Store) History(ctx context.Context, q ehr.HistoryQuery) (*ehr.Page, error) {
	return s.reader().History(ctx, q)
}

// currentVersion joins a resources row r to its current version v, where the JSON is.
const currentVersion = "JOIN resource_versions v ON v.compartment = r.compartment AND v.res_type = r.res_type AND v.res_id = r.res_id AND v.version = r.version"

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// tx is one unit of work: a database transaction with the time it reads once, or a
// read-only view over the read pool.
type tx struct {
	s        *Store
	q        querier
	now      time.Time
	writable bool
	// onCommit runs after a successful commit: registry changes that must not
	// happen for a transaction that rolls back.
	onCommit []func()
	// batches buffer index rows until flushIndexes.
	batches map[string]*rowBatch
	// writes counts the resources written or deleted.
	writes int
	// txStmts are the kept statements (statements.go) made for the database
	// transaction, by query; shared by the writers of a group commit, who
	// take turns. Nil where none are kept.
	txStmts map[string]*sql.Stmt
}

func (t *tx) exec(ctx context.Context, query string, args ...any) error {
	query = rebind(t.s.dialect, query)
	if st := t.stmt(ctx, query); st != nil {
		_, err := st.ExecContext(ctx, args...)
		return err
	}
	_, err := t.q.ExecContext(ctx, query, args...)
	return err
}

func (t *tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query = rebind(t.s.dialect, query)
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.q.QueryContext(ctx, query, args...)
}

func (t *tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	query = rebind(t.s.dialect, query)
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.q.QueryRowContext(ctx, query, args...)
}

// current is the head of one resource.
type current struct {
	compartment string
	source      string
	version     int64
	deleted     bool
}

// head looks up the current version of typ/id; found is false when it never existed.
func (t *tx) head(ctx context.Context, typ, id string) (cur current, found bool, err error) {
	if !fhir.ValidID(id) {
		return cur, false, nil // see noSuchID
	}
	if distributed(t.s.dialect) {
		return t.headByCompartment(ctx, typ, id)
	}
	err = t.queryRow(ctx, `SELECT r.compartment, r.source, r.version, r.deleted FROM resource_ids i
		JOIN resources r ON r.compartment = i.compartment AND r.res_type = i.res_type AND r.res_id = i.res_id
		WHERE i.res_type = ? AND i.res_id = ?`+t.s.dialect.ForUpdate(), typ, id).Scan(&cur.compartment, &cur.source, &cur.version, &cur.deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return cur, false, nil
	}
	if err != nil {
		return cur, false, fmt.Errorf("look up %s/%s: %w", typ, id, err)
	}
	return cur, true, nil
}

// headByCompartment is head in two steps, for a distributed schema: it locks the
// id's row in resource_ids, which a concurrent move to another compartment also
// locks, and then the resources row in the compartment found there. Each step
// names its table's distribution column, so each runs on one shard.
func (t *tx) headByCompartment(ctx context.Context, typ, id string) (cur current, found bool, err error) {
	compartment, found, err := t.compartmentOf(ctx, typ, id, true)
	if err != nil || !found {
		return cur, false, err
	}
	err = t.queryRow(ctx, `SELECT r.compartment, r.source, r.version, r.deleted FROM resources r
		WHERE r.compartment = ? AND r.res_type = ? AND r.res_id = ?`+t.s.dialect.ForUpdate(), compartment, typ, id).Scan(&cur.compartment, &cur.source, &cur.version, &cur.deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return cur, false, fmt.Errorf("look up %s/%s: resource_ids names compartment %s, which does not hold it", typ, id, compartment)
	}
	if err != nil {
		return cur, false, fmt.Errorf("look up %s/%s: %w", typ, id, err)
	}
	return cur, true, nil
}

// compartmentOfSQL reads the compartment of one resource from resource_ids.
const compartmentOfSQL = `SELECT compartment FROM resource_ids WHERE res_type = ? AND res_id = ?`

// compartmentOf reads the compartment of typ/id from resource_ids, locking the row
// when lock is set (a write transaction's head).
func (t *tx) compartmentOf(ctx context.Context, typ, id string, lock bool) (compartment string, found bool, err error) {
	forUpdate := ""
	if lock && t.writable {
		forUpdate = t.s.dialect.ForUpdate()
	}
	err = t.queryRow(ctx, compartmentOfSQL+forUpdate, typ, id).Scan(&compartment)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("look up %s/%s: %w", typ, id, err)
	}
	return compartment, true, nil
}

// NewID implements ehr.Tx.
func (t *tx) NewID() string { return t.s.newID() }

// Lock implements ehr.Tx.
func (t *tx) Lock(ctx context.Context, name string) error {
	if !t.writable {
		return errors.New("lock outside a transaction")
	}
	for _, stmt := range t.s.dialect.Lock() {
		if _, err := t.q.ExecContext(ctx, stmt, lockName(name)); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
	}
	return nil
}

// Lock implements ehr.Tx; outside a transaction there is nothing to lock.
func (s *Store) Lock(context.Context, string) error { return nil }

// Create implements ehr.Tx.
func (t *tx) Create(ctx context.Context, id string, res map[string]any) (*ehr.Record, error) {
	typ, _ := res["resourceType"].(string)
	return t.create(ctx, typ, id, func() (*prepared, error) { return t.s.prepare(ctx, typ, id, res) })
}

// create checks that typ/id is new, then prepares the resource with prep (done
// already, for CreatePrepared) and writes it.
func (t *tx) create(ctx context.Context, typ, id string, prep func() (*prepared, error)) (*ehr.Record, error) {
	if !fhir.ValidID(id) {
		return nil, ehr.Errorf(ehr.Invalid, "%q is not a valid resource id", id)
	}
	if _, found, err := t.head(ctx, typ, id); err != nil {
		return nil, err
	} else if found {
		return nil, ehr.Errorf(ehr.Conflict, "%s/%s already exists", typ, id)
	}
	p, err := prep()
	if err != nil {
		return nil, err
	}
	return t.write(ctx, p, "POST", current{}, false)
}

// Update implements ehr.Tx.
func (t *tx) Update(ctx context.Context, typ, id string, res map[string]any, opts ehr.WriteOptions) (*ehr.Record, bool, error) {
	return t.update(ctx, typ, id, opts, func() (*prepared, error) { return t.s.prepare(ctx, typ, id, res) })
}

// update checks opts against the current version of typ/id, then prepares the
// resource with prep (done already, for UpdatePrepared) and writes it.
func (t *tx) update(ctx context.Context, typ, id string, opts ehr.WriteOptions, prep func() (*prepared, error)) (*ehr.Record, bool, error) {
	ifMatch := opts.IfMatch
	if !fhir.ValidID(id) {
		return nil, false, ehr.Errorf(ehr.Invalid, "%q is not a valid resource id", id)
	}
	cur, found, err := t.head(ctx, typ, id)
	if err != nil {
		return nil, false, err
	}
	if ifMatch != 0 && (!found || cur.version != ifMatch) {
		if !found {
			return nil, false, ehr.Errorf(ehr.PreconditionFailed, "%s/%s does not exist, but If-Match asked for version %d", typ, id, ifMatch)
		}
		return nil, false, ehr.Errorf(ehr.PreconditionFailed, "%s/%s is at version %d, not %d", typ, id, cur.version, ifMatch)
	}
	method := "PUT"
	if opts.Patch {
		method = "PATCH"
	}
	p, err := prep()
	if err != nil {
		return nil, false, err
	}
	rec, err := t.write(ctx, p, method, cur, found)
	return rec, !found || cur.deleted, err
}

// write stores p as the version after cur and replaces its index rows. The
// resource was encoded and indexed before (see prepare); only its version and
// time are filled in here.
func (t *tx) write(ctx context.Context, p *prepared, method string, cur current, found bool) (*ehr.Record, error) {
	if !t.writable {
		return nil, errors.New("write outside a transaction")
	}
	typ, id, compartment, source := p.typ, p.id, p.compartment, p.source
	t.writes++
	version := cur.version + 1
	body := p.body(version, t.now)
	if err := checkWrite(ctx, typ, id, compartment, source, cur, found); err != nil {
		return nil, err
	}
	lu := t.now.UnixMicro()

	var err error
	if found && cur.compartment != compartment {
		if err := t.exec(ctx, `DELETE FROM resources WHERE compartment = ? AND res_type = ? AND res_id = ?`, cur.compartment, typ, id); err != nil {
			return nil, err
		}
		if err := t.deleteIndexes(ctx, cur.compartment, typ, id); err != nil {
			return nil, err
		}
		found = false
	} else if found {
		if err := t.deleteIndexes(ctx, compartment, typ, id); err != nil {
			return nil, err
		}
	}
	if found {
		err = t.exec(ctx, `UPDATE resources SET version = ?, last_updated = ?, deleted = ?, source = ?
			WHERE compartment = ? AND res_type = ? AND res_id = ?`, version, lu, false, source, compartment, typ, id)
	} else {
		err = t.exec(ctx, `INSERT INTO resources (compartment, res_type, res_id, version, last_updated, deleted, source)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, compartment, typ, id, version, lu, false, source)
	}
	if err != nil {
		return nil, fmt.Errorf("write %s/%s: %w", typ, id, err)
	}
	if cur.compartment != compartment {
		if cur.compartment == "" {
			err = t.exec(ctx, `INSERT INTO resource_ids (res_type, res_id, compartment) VALUES (?, ?, ?)`, typ, id, compartment)
		} else {
			err = t.exec(ctx, `UPDATE resource_ids SET compartment = ? WHERE res_type = ? AND res_id = ?`, compartment, typ, id)
		}
		if err != nil {
			return nil, fmt.Errorf("write id of %s/%s: %w", typ, id, err)
		}
	}
	if err := t.exec(ctx, `INSERT INTO resource_versions (compartment, res_type, res_id, version, last_updated, deleted, method, body, source)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, compartment, typ, id, version, lu, false, method, packBody(body), source); err != nil {
		return nil, fmt.Errorf("write version of %s/%s: %w", typ, id, err)
	}
	rows, deferred := p.indexRows(ctx, version, t.now)
	if err := t.insertIndexes(ctx, compartment, typ, id, rows, deferred); err != nil {
		return nil, err
	}
	if typ == "Consent" {
		if err := t.syncConsent(ctx, id, compartment, source, p.res); err != nil {
			return nil, err
		}
	}
	if typ == "Patient" && (!found || cur.deleted || cur.source != source) {
		if err := t.resyncConsents(ctx, id); err != nil {
			return nil, err
		}
	}
	if typ == "SearchParameter" {
		// A SearchParameter that search cannot use (no expression) is stored all
		// the same; it just does not become searchable.
		res := p.resource(version, t.now)
		t.onCommit = append(t.onCommit, func() { t.s.registry.AddResource(res) })
	}
	return &ehr.Record{Type: typ, ID: id, Version: version, LastUpdated: t.now, Method: method, Resource: body,
		Source: source, Compartment: compartment}, nil
}

// checkWrite enforces, for every write, that a record stays with the source that
// owns it and that the caller's scope covers both the record as it is and as it
// will be.
func checkWrite(ctx context.Context, typ, id, compartment, source string, cur current, found bool) error {
	scope := ehr.ScopeFrom(ctx)
	if found && !scope.Allows(typ, cur.compartment, cur.source) {
		return ehr.Errorf(ehr.Forbidden, "%s/%s is outside what this request may change", typ, id)
	}
	if found && cur.source != source {
		return ehr.Errorf(ehr.Forbidden, "%s/%s belongs to another source; a record is changed only by the source that owns it", typ, id)
	}
	if !scope.Allows(typ, compartment, source) {
		return ehr.Errorf(ehr.Forbidden, "the %s would be outside what this request may write", typ)
	}
	return nil
}

// Delete implements ehr.Tx.
func (t *tx) Delete(ctx context.Context, typ, id string, ifMatch int64) (*ehr.Record, error) {
	if !t.writable {
		return nil, errors.New("write outside a transaction")
	}
	cur, found, err := t.head(ctx, typ, id)
	if err != nil {
		return nil, err
	}
	if ifMatch != 0 && (!found || cur.version != ifMatch) {
		return nil, ehr.Errorf(ehr.PreconditionFailed, "%s/%s is not at version %d", typ, id, ifMatch)
	}
	if !found || cur.deleted {
		return nil, nil
	}
	if !ehr.ScopeFrom(ctx).Allows(typ, cur.compartment, cur.source) {
		return nil, ehr.Errorf(ehr.Forbidden, "%s/%s is outside what this request may change", typ, id)
	}
	if owner := ehr.PrincipalFrom(ctx).Source; owner != "" && owner != cur.source {
		return nil, ehr.Errorf(ehr.Forbidden, "%s/%s belongs to another source; a record is deleted only by the source that owns it", typ, id)
	}
	if typ == "SearchParameter" {
		var body []byte
		if err := t.queryRow(ctx, `SELECT body FROM resource_versions WHERE compartment = ? AND res_type = ? AND res_id = ? AND version = ?`, cur.compartment, typ, id, cur.version).Scan(bodyDest(&body)); err == nil {
			if sp, err := fhir.Decode(body); err == nil {
				url := fhir.String(sp, "url")
				t.onCommit = append(t.onCommit, func() { t.s.registry.Remove(url) })
			}
		}
	}
	t.writes++
	version := cur.version + 1
	lu := t.now.UnixMicro()
	if err := t.exec(ctx, `UPDATE resources SET version = ?, last_updated = ?, deleted = ?
		WHERE compartment = ? AND res_type = ? AND res_id = ?`, version, lu, true, cur.compartment, typ, id); err != nil {
		return nil, fmt.Errorf("delete %s/%s: %w", typ, id, err)
	}
	if err := t.exec(ctx, `INSERT INTO resource_versions (compartment, res_type, res_id, version, last_updated, deleted, method, body, source)
		VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)`, cur.compartment, typ, id, version, lu, true, "DELETE", cur.source); err != nil {
		return nil, fmt.Errorf("write deletion of %s/%s: %w", typ, id, err)
	}
	if err := t.deleteIndexes(ctx, cur.compartment, typ, id); err != nil {
		return nil, err
	}
	if typ == "Consent" {
		if err := t.syncConsent(ctx, id, "", "", nil); err != nil {
			return nil, err
		}
	}
	if typ == "Patient" {
		if err := t.resyncConsents(ctx, id); err != nil {
			return nil, err
		}
	}
	return &ehr.Record{Type: typ, ID: id, Version: version, LastUpdated: t.now, Deleted: true, Method: "DELETE",
		Source: cur.source, Compartment: cur.compartment}, nil
}

// Read implements ehr.Tx.
func (t *tx) Read(ctx context.Context, typ, id string) (*ehr.Record, error) {
	if !fhir.ValidID(id) {
		return nil, noSuchID(typ)
	}
	rec := &ehr.Record{Type: typ, ID: id}
	var lu int64
	var err error
	if distributed(t.s.dialect) {
		err = t.readByCompartment(ctx, rec, &lu)
	} else {
		where, args := andScope("i.res_type = ? AND i.res_id = ?", []any{typ, id}, ehr.ScopeFrom(ctx), "r")
		err = t.queryRow(ctx, `SELECT r.version, r.last_updated, r.deleted, v.body, r.source, r.compartment FROM resource_ids i
		JOIN resources r ON r.compartment = i.compartment AND r.res_type = i.res_type AND r.res_id = i.res_id
		`+currentVersion+`
		WHERE `+where, args...).Scan(&rec.Version, &lu, &rec.Deleted, bodyDest(&rec.Resource), &rec.Source, &rec.Compartment)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ehr.Errorf(ehr.NotFound, "%s/%s is not known", typ, id)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s/%s: %w", typ, id, err)
	}
	rec.LastUpdated = time.UnixMicro(lu).UTC()
	if rec.Deleted {
		rec.Method = "DELETE"
		return rec, ehr.Errorf(ehr.Gone, "%s/%s was deleted", typ, id)
	}
	return rec, nil
}

// readByCompartment is Read's query for a distributed schema: the compartment from
// resource_ids first, then the current version in that compartment, on its one
// shard. Outside a transaction a concurrent move to another compartment can fall
// between the two; the lookup is then made again.
func (t *tx) readByCompartment(ctx context.Context, rec *ehr.Record, lu *int64) error {
	for attempt := 0; ; attempt++ {
		compartment, found, err := t.compartmentOf(ctx, rec.Type, rec.ID, false)
		if err != nil {
			return err
		}
		if !found {
			return sql.ErrNoRows
		}
		query, args := readInCompartment(ehr.ScopeFrom(ctx), compartment, rec.Type, rec.ID)
		err = t.queryRow(ctx, query, args...).Scan(&rec.Version, lu, &rec.Deleted, bodyDest(&rec.Resource), &rec.Source, &rec.Compartment)
		if !errors.Is(err, sql.ErrNoRows) || attempt == 2 {
			return err
		}
		if now, found, err := t.compartmentOf(ctx, rec.Type, rec.ID, false); err != nil {
			return err
		} else if !found || now == compartment {
			return sql.ErrNoRows // the scope excludes it
		}
	}
}

// readInCompartment is the query of readByCompartment's second step.
func readInCompartment(scope ehr.Scope, compartment, typ, id string) (string, []any) {
	where, args := andScope("r.compartment = ? AND r.res_type = ? AND r.res_id = ?", []any{compartment, typ, id}, scope, "r")
	return `SELECT r.version, r.last_updated, r.deleted, v.body, r.source, r.compartment FROM resources r
		` + currentVersion + ` WHERE ` + where, args
}

// VRead implements ehr.Tx.
func (t *tx) VRead(ctx context.Context, typ, id string, version int64) (*ehr.Record, error) {
	if !fhir.ValidID(id) {
		return nil, noSuchID(typ)
	}
	rec := &ehr.Record{Type: typ, ID: id, Version: version}
	var lu int64
	vread := func(cond string, condArgs ...any) error {
		where, args := andScope(cond, condArgs, ehr.ScopeFrom(ctx), "v")
		return t.queryRow(ctx, `SELECT v.last_updated, v.deleted, v.method, v.body, v.source, v.compartment FROM resource_versions v
		WHERE `+where, args...).Scan(&lu, &rec.Deleted, &rec.Method, bodyDest(&rec.Resource), &rec.Source, &rec.Compartment)
	}
	err := sql.ErrNoRows
	if distributed(t.s.dialect) {
		// Most versions are in the resource's current compartment: look there,
		// on one shard, first. A version written before the resource moved
		// compartment is found by the query over every shard below.
		if compartment, found, lerr := t.compartmentOf(ctx, typ, id, false); lerr != nil {
			return nil, lerr
		} else if found {
			err = vread("v.compartment = ? AND v.res_type = ? AND v.res_id = ? AND v.version = ?", compartment, typ, id, version)
		}
	}
	if errors.Is(err, sql.ErrNoRows) {
		err = vread("v.res_type = ? AND v.res_id = ? AND v.version = ?", typ, id, version)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ehr.Errorf(ehr.NotFound, "%s/%s has no version %d", typ, id, version)
	}
	if err != nil {
		return nil, fmt.Errorf("vread %s/%s/_history/%d: %w", typ, id, version, err)
	}
	rec.LastUpdated = time.UnixMicro(lu).UTC()
	if rec.Deleted {
		return rec, ehr.Errorf(ehr.Gone, "version %d of %s/%s is a deletion", version, typ, id)
	}
	return rec, nil
}

// History implements ehr.Tx. Pages are ordered newest first by (last_updated, type, id,
// version) and continue from a keyset cursor, so writes made while a client pages
// never shift or repeat entries. Like a search, it runs for at most the search
// timeout and stops when ctx ends.
func (t *tx) History(ctx context.Context, q ehr.HistoryQuery) (*ehr.Page, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, t.s.searchTimeout, errSearchTimeout)
	defer cancel()
	page, err := t.history(ctx, q)
	if err != nil {
		return nil, t.s.searchError(ctx, err)
	}
	return page, nil
}

func (t *tx) history(ctx context.Context, q ehr.HistoryQuery) (*ehr.Page, error) {
	if q.ID != "" && !fhir.ValidID(q.ID) {
		return nil, noSuchID(q.Type)
	}
	var where []string
	var args []any
	if q.Type != "" {
		where = append(where, "v.res_type = ?")
		args = append(args, q.Type)
	}
	if q.ID != "" {
		where = append(where, "v.res_id = ?")
		args = append(args, q.ID)
	}
	if !q.Since.IsZero() {
		where = append(where, "v.last_updated >= ?")
		args = append(args, q.Since.UnixMicro())
	}
	if !q.At.IsZero() {
		at := q.At.UnixMicro()
		if distributed(t.s.dialect) {
			// A resource moved to another compartment has versions in both, on
			// different shards, so the latest version at the time is found by an
			// uncorrelated subquery over every shard rather than a correlated one.
			latest := `SELECT w.res_type, w.res_id, max(w.version) FROM resource_versions w WHERE w.last_updated <= ?`
			args = append(args, at, at)
			if q.Type != "" {
				latest += " AND w.res_type = ?"
				args = append(args, q.Type)
			}
			if q.ID != "" {
				latest += " AND w.res_id = ?"
				args = append(args, q.ID)
			}
			where = append(where, `v.last_updated <= ? AND (v.res_type, v.res_id, v.version) IN (`+latest+` GROUP BY w.res_type, w.res_id)`)
		} else {
			where = append(where, `v.last_updated <= ? AND NOT EXISTS (SELECT 1 FROM resource_versions w
			WHERE w.res_type = v.res_type AND w.res_id = v.res_id AND w.version > v.version AND w.last_updated <= ?)`)
			args = append(args, at, at)
		}
	}
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor)
		if err != nil {
			return nil, err
		}
		where = append(where, `(v.last_updated < ? OR (v.last_updated = ? AND (v.res_type > ? OR (v.res_type = ? AND (v.res_id > ? OR (v.res_id = ? AND v.version < ?))))))`)
		args = append(args, c.lastUpdated, c.lastUpdated, c.typ, c.typ, c.id, c.id, c.version)
	}
	scope := ehr.ScopeFrom(ctx)
	if c, cargs := scopeClause(scope, "v"); c != "" {
		where = append(where, c)
		args = append(args, cargs...)
	}
	count := q.Count
	if count <= 0 {
		count = search.DefaultCount
	}
	query := `SELECT v.res_type, v.res_id, v.version, v.last_updated, v.deleted, v.method, v.body, v.source, v.compartment FROM resource_versions v`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += fmt.Sprintf(" ORDER BY v.last_updated DESC, v.res_type, v.res_id, v.version DESC LIMIT %d", count+1)
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer rows.Close()
	page := &ehr.Page{Total: -1}
	for rows.Next() {
		rec := &ehr.Record{}
		var lu int64
		if err := rows.Scan(&rec.Type, &rec.ID, &rec.Version, &lu, &rec.Deleted, &rec.Method, bodyDest(&rec.Resource), &rec.Source, &rec.Compartment); err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		rec.LastUpdated = time.UnixMicro(lu).UTC()
		page.Records = append(page.Records, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	if len(page.Records) > count {
		last := page.Records[count-1]
		page.Records = page.Records[:count]
		page.Next = encodeCursor(cursor{lastUpdated: last.LastUpdated.UnixMicro(), typ: last.Type, id: last.ID, version: last.Version})
	}
	if q.ID != "" && q.Type != "" && q.Cursor == "" {
		cw, cargs := andScope("v.res_type = ? AND v.res_id = ?", []any{q.Type, q.ID}, scope, "v")
		if err := t.queryRow(ctx, `SELECT count(*) FROM resource_versions v WHERE `+cw, cargs...).Scan(&page.Total); err != nil {
			return nil, fmt.Errorf("history count: %w", err)
		}
		if page.Total == 0 {
			return nil, ehr.Errorf(ehr.NotFound, "%s/%s is not known", q.Type, q.ID)
		}
	}
	return page, nil
}

type cursor struct {
	lastUpdated int64
	typ, id     string
	version     int64
}

func encodeCursor(c cursor) string {
	s := fmt.Sprintf("%d|%s|%s|%d", c.lastUpdated, c.typ, c.id, c.version)
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, ehr.Errorf(ehr.Invalid, "the paging cursor is malformed")
	}
	parts := strings.Split(string(b), "|")
	if len(parts) != 4 {
		return c, ehr.Errorf(ehr.Invalid, "the paging cursor is malformed")
	}
	c.lastUpdated, err = strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return c, ehr.Errorf(ehr.Invalid, "the paging cursor is malformed")
	}
	c.version, err = strconv.ParseInt(parts[3], 10, 64)
	if err != nil {
		return c, ehr.Errorf(ehr.Invalid, "the paging cursor is malformed")
	}
	c.typ, c.id = parts[1], parts[2]
	if !fhir.R4().IsResourceType(c.typ) || !fhir.ValidID(c.id) {
		return c, ehr.Errorf(ehr.Invalid, "the paging cursor is malformed")
	}
	return c, nil
}

// FormatInstant renders t as a FHIR instant with microseconds, in UTC.
func FormatInstant(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

// LoadSearchParameters registers the SearchParameter resources stored on this server
// (custom search parameters), so that they are searchable after a restart. Those that
// search cannot use are skipped.
func (s *Store) LoadSearchParameters(ctx context.Context) error {
	rows, err := s.read.QueryContext(ctx, rebind(s.dialect, `SELECT v.body FROM resources r `+currentVersion+` WHERE r.res_type = ? AND r.deleted = ?`), "SearchParameter", false)
	if err != nil {
		return fmt.Errorf("load search parameters: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var body []byte
		if err := rows.Scan(bodyDest(&body)); err != nil {
			return err
		}
		if sp, err := fhir.Decode(body); err == nil {
			s.registry.AddResource(sp)
		}
	}
	return rows.Err()
}
