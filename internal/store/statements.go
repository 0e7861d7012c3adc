package store

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// Prepared statements kept across requests, on SQLite.
//
// database/sql prepares a query given as text again every time it runs it. On
// SQLite preparing a statement costs about as much CPU as running the small
// statements of a write (a seventh of a single create over HTTP, measured in
// BENCHMARKS.md), so the store keeps the prepared statements of the queries it
// runs repeatedly, per pool. A query is prepared once it has been seen twice,
// so that a query text made once (a search of a rare shape) does not take a
// place. PostgreSQL's driver keeps its own statement cache, so there the store
// keeps none.

// maxStatements bounds the prepared statements kept per pool, and maxSeen the
// query texts counted on their way there.
const (
	maxStatements = 256
	maxSeen       = 4096
)

// statements keeps prepared statements of one pool.
type statements struct {
	db *sql.DB

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
	seen  map[string]int
	// pending holds queries of write transactions waiting to be prepared: they
	// can be prepared only while the write pool's one connection is free.
	pending []string
}

func newStatements(db *sql.DB) *statements {
	return &statements{db: db, stmts: map[string]*sql.Stmt{}, seen: map[string]int{}}
}

// lookup returns the prepared statement of query, or nil. A miss counts the
// query; it reports true the time the query becomes worth preparing.
func (c *statements) lookup(query string) (st *sql.Stmt, prepare bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.stmts[query]; st != nil {
		return st, false
	}
	if len(c.stmts) >= maxStatements {
		return nil, false
	}
	if len(c.seen) >= maxSeen {
		clear(c.seen)
	}
	c.seen[query]++
	return nil, c.seen[query] == 2
}

// prepare prepares query on the pool and keeps it. A statement that cannot be
// prepared is simply not kept: the query runs unprepared as before.
func (c *statements) prepare(ctx context.Context, query string) {
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stmts[query] != nil || len(c.stmts) >= maxStatements {
		st.Close()
		return
	}
	c.stmts[query] = st
	delete(c.seen, query)
}

// defer queues query to be prepared by preparePending.
func (c *statements) deferPrepare(query string) {
	c.mu.Lock()
	c.pending = append(c.pending, query)
	c.mu.Unlock()
}

// preparePending prepares the queued queries. The caller makes sure the
// pool's connection is not held by the goroutine calling it.
func (c *statements) preparePending() {
	c.mu.Lock()
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	if len(pending) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, q := range pending {
		c.prepare(ctx, q)
	}
}

// close closes every kept statement.
func (c *statements) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
}

// stmt returns a prepared statement of query to run in t, or nil when none is
// kept. Reads outside a transaction prepare a query on the read pool as soon
// as it is worth it; write transactions hold the write pool's one connection,
// so their queries wait for preparePending.
func (t *tx) stmt(ctx context.Context, query string) *sql.Stmt {
	c := t.s.readStmts
	if t.writable {
		c = t.s.writeStmts
	}
	if c == nil {
		return nil
	}
	st, prepare := c.lookup(query)
	switch q := t.q.(type) {
	case *sql.DB:
		if prepare {
			c.prepare(ctx, query)
			st, _ = c.lookup(query)
		}
		return st
	case *sql.Tx:
		if prepare && t.writable {
			c.deferPrepare(query)
		}
		if st == nil {
			return nil
		}
		// The transaction's own form of the statement is made once per
		// transaction: database/sql makes (and keeps until the end of the
		// transaction) a new one on each call.
		if ts := t.txStmts[query]; ts != nil {
			return ts
		}
		ts := q.StmtContext(ctx, st)
		if t.txStmts != nil {
			t.txStmts[query] = ts
		}
		return ts
	}
	return nil
}
