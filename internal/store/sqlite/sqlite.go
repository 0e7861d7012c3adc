// Package sqlite is the embedded, zero set-up ResourceStore: one SQLite file.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	// modernc.org/sqlite is a pure-Go translation of SQLite: the binary stays static
	// and cross-compiles without cgo, and on this workload it is as fast as the cgo
	// driver for inserts and faster for lookups.
	_ "modernc.org/sqlite"

	"omnichart/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

type dialect struct{}

func (dialect) Name() string              { return "sqlite" }
func (dialect) Placeholder(int) string    { return "?" }
func (dialect) TxOptions() *sql.TxOptions { return nil }
func (dialect) LockMigrations() string    { return "" }
func (dialect) Analyze() string           { return "" }

// TableSizes sums the pages dbstat counts for each table and for its indexes
// (free pages, which the file keeps for later writes, are nobody's).
func (dialect) TableSizes() string {
	return `SELECT m.tbl_name,
  COALESCE(SUM(CASE WHEN m.type = 'table' THEN d.pgsize END), 0),
  COALESCE(SUM(CASE WHEN m.type = 'index' THEN d.pgsize END), 0)
FROM sqlite_schema m JOIN (SELECT name, pgsize FROM dbstat WHERE aggregate = TRUE) d ON d.name = m.name
WHERE m.tbl_name NOT LIKE 'sqlite_%'
GROUP BY m.tbl_name`
}

// IndexedBy names the index SQLite must use. index_token keeps its rows in
// owner order as its primary key (WITHOUT ROWID, migration 0020), so it has no
// owner index to name: a check of one resource's codes finds its row with one
// seek either by that key or, when code and system are both given, by the value
// index, which then ends with the compartment and id; SQLite picks one of the
// two unaided.
func (dialect) IndexedBy(index string) string {
	if index == "index_token_owner" {
		return ""
	}
	return " INDEXED BY " + index
}

func (dialect) ForUpdate() string { return "" }
func (dialect) Lock() []string    { return nil }

// InsertRows is "INSERT OR FAIL". SQLite gives a statement that writes several
// rows and may stop half-way (a NOT NULL or UNIQUE check, "ABORT" by default) a
// journal of its own, so that a failure undoes the statement alone: a copy of
// every page the statement changes that existed before it, made on each of the
// store's multi-row INSERTs, and inside a savepoint (a writer sharing a group
// commit) a walk of the whole savepoint's journal at the end of each statement.
// That was a fifth of the CPU of a large load. With FAIL a failing statement
// keeps the rows it wrote before the failure and no such journal is kept; the
// store never carries on after a failed write, whose transaction or savepoint
// is rolled back whole.
func (dialect) InsertRows() string { return "INSERT OR FAIL" }

// SingleWriter is true: SQLite has one writer, so writers that queue up share a
// transaction and its commit (see store/groupcommit.go).
func (dialect) SingleWriter() bool { return true }
func (dialect) Retryable(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

// Open opens (creating if needed) the SQLite database at path, applies migrations and
// returns the store. The file runs in WAL mode with synchronous=FULL, so a write is
// acknowledged only once it is durable, even across power loss; readers never block
// the writer. All writes go through one connection (SQLite has one writer anyway),
// with BEGIN IMMEDIATE so a transaction never fails half-way on a lock upgrade.
func Open(ctx context.Context, path string, opts store.Options) (*store.Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create data folder: %w", err)
		}
	}
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(ON)&_pragma=cache_size(-65536)&_pragma=temp_store(MEMORY)"
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + pragmas
	write, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	write.SetMaxOpenConns(1)
	read, err := sql.Open("sqlite", dsn+"&_pragma=query_only(ON)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	readers := max(4, runtime.NumCPU()*2)
	read.SetMaxOpenConns(readers)
	// Every reader stays open between uses. database/sql keeps two idle by
	// default, and closed the others after each read once more than two ran
	// at once: the next read opened a connection again, set its pragmas,
	// prepared its statements anew and started with an empty page cache.
	read.SetMaxIdleConns(readers)
	if err := store.Migrate(ctx, write, dialect{}, mustSub(migrations, "migrations")); err != nil {
		write.Close()
		read.Close()
		return nil, errors.Join(errors.New("migrate sqlite"), err)
	}
	s := store.New(write, read, dialect{}, opts)
	if err := s.LoadSearchParameters(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// LockWaitExpired is false: SQLite's one writer is waited for in the connection
// pool (store.writeConn), and another process's lock through busy_timeout, after
// which the transaction is retried.
func (dialect) LockWaitExpired(error) bool { return false }

// VersionOrder numbers resource_versions rows in commit order (see
// store.SearchMarked): one writer, and a new row's rowid is one more than the
// largest, as rows are never deleted from that table.
func (dialect) VersionOrder() string { return "rowid" }

// TooCostly recognises SQLite's errors for a query past one of its own limits.
// See https://www.sqlite.org/limits.html.
func (dialect) TooCostly(err error) bool {
	msg := err.Error()
	for _, s := range []string{"Expression tree is too large", "too many SQL variables", "LIKE or GLOB pattern too complex",
		"string or blob too big", "parser stack overflow", "too many terms in compound SELECT", "too many FROM clause terms",
		"at most 64 tables in a join", "too many arguments on function", "too many columns"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
