package store

import (
	"database/sql"
	"strconv"
	"strings"
)

// Dialect is what differs between the SQL engines. Everything else in this package is
// written once, in the SQL both engines accept.
type Dialect interface {
	// Name is "sqlite" or "postgres".
	Name() string
	// Placeholder returns the n-th (1-based) bind parameter: "?" or "$n".
	Placeholder(n int) string
	// Retryable reports errors after which the whole transaction may be run again:
	// serialization failures, deadlocks, a busy database.
	Retryable(err error) bool
	// TxOptions are the options write transactions begin with.
	TxOptions() *sql.TxOptions
	// ForUpdate is appended to the reads that precede a write of the same rows:
	// " FOR UPDATE" where rows are locked (PostgreSQL), "" where the engine has a
	// single writer anyway (SQLite).
	ForUpdate() string
	// Lock takes a transaction-scoped named lock, or is empty where a single
	// writer makes locks unnecessary. Its one parameter is the name.
	Lock() []string
	// IndexedBy is what follows a table's alias in FROM to make the planner
	// read it through the named index (SQLite's INDEXED BY), where the engine
	// would not know to pick it without statistics (see ownerIndex); "" where
	// it plans well.
	IndexedBy(index string) string
	// LockWaitExpired reports an error of a statement that waited for a lock
	// longer than the engine was told to (PostgreSQL's lock_timeout).
	LockWaitExpired(err error) bool
	// LockMigrations is run inside the migration transaction to keep two starting
	// servers from applying the same migration; empty when the engine needs none.
	LockMigrations() string
	// InsertRows is what begins a multi-row INSERT of the rows a write adds
	// (index rows, audit records): "INSERT", or on SQLite "INSERT OR FAIL",
	// which spares each statement a journal of its own (see store/sqlite).
	// A failed statement may then leave some of its rows, which the rollback
	// of the failed transaction or writer (groupcommit.go) takes away.
	InsertRows() string
	// Analyze brings the planner's statistics of the store's tables up to date
	// (Store.RefreshStatistics); empty where the planner keeps none (SQLite's
	// here, which plans by its index heuristics; see IndexedBy).
	Analyze() string
	// TableSizes is a query of one row per table of the store: its name, the
	// bytes of its rows and the bytes of all its indexes (Store.Storage).
	TableSizes() string
}

// ownerIndex is appended to "FROM index_x alias" in subqueries that look up the
// index rows of one resource, to name the index_x_owner index where the
// engine's planner may otherwise pick a value index and scan it (SQLite without
// statistics does, for min/max and range terms).
func ownerIndex(d Dialect, table string) string { return d.IndexedBy(table + "_owner") }

// rebind rewrites "?" placeholders for the dialect. Queries in this package never hold
// a literal "?" inside strings, so a plain scan is enough.
func rebind(d Dialect, query string) string {
	if d.Placeholder(1) == "?" {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteString(d.Placeholder(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// NumberedPlaceholder is the Placeholder of engines that number parameters ($1, $2).
func NumberedPlaceholder(n int) string { return "$" + strconv.Itoa(n) }

// distributedDialect is a Dialect whose engine may spread the patient tables over
// nodes by compartment (PostgreSQL with Citus; see docs/scale-out.md). There a join
// of resource_ids (distributed by id) with resources (by compartment) cannot run,
// and a row lock needs the compartment, so a lookup by id alone first reads the
// compartment from resource_ids and then names it.
type distributedDialect interface {
	Distributed() bool
}

// distributed reports whether d's schema is distributed by compartment.
// plansByShape reports an engine whose planner keeps no statistics (SQLite's
// here): it follows the query's shape, so the store chooses the access path by
// how it writes the query (walk.go, sqlBuilder.idKeyed).
func plansByShape(d Dialect) bool { return d.Analyze() == "" }

func distributed(d Dialect) bool {
	dd, ok := d.(distributedDialect)
	return ok && dd.Distributed()
}
