package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Group commit on an engine with one writer (SQLite).
//
// A durable commit costs a flush of the log to disk, and one writer means the
// writes of concurrent requests run one after another anyway. So when writers
// queue up behind the one running, each runs its work in the same database
// transaction, inside a savepoint of its own, and the last of them commits for
// all: several requests' writes become durable with one flush. A writer is
// answered only once the commit that holds its work has succeeded; a writer
// whose work fails rolls back to its savepoint and is answered at once, having
// written nothing. The first writer of a transaction needs no savepoint: when
// it fails, the transaction is rolled back whole and the next writer begins
// another. One writer alone commits at once, as before.
//
// A writer that fails after others' work went into the transaction may have
// failed because of that work, which it saw uncommitted (a conditional create
// that found another writer's new record): it is answered once the transaction
// has ended, so that what it was told is committed when it hears it; and when
// the transaction rolled back, it runs again.

// singleWriterDialect is a Dialect whose engine has one writer, whose write
// transactions the store may share between requests (see groupCommit).
type singleWriterDialect interface {
	SingleWriter() bool
}

// maxGroupMembers bounds how many writers share one commit, so that the first
// of them does not wait for an unbounded stream of others.
const maxGroupMembers = 64

// maxGroupWrites is the number of resources written in a transaction past
// which it commits rather than take another writer. Sharing a commit saves a
// flush of the log, which is worth the wait for writes of a few resources; a
// transaction of thousands (a load) spends far longer on its writes than on
// its flush, and a writer of such a transaction that had to wait for the next
// writer's work as well would be answered late for nothing (and a loader
// that prepares its next transaction while one is written would find the
// writer busy with work it has not handed over yet).
const maxGroupWrites = 1000

// errGroupAborted is the error of a writer whose work was lost because the
// shared transaction was rolled back for another writer's sake; nothing of it
// was committed, and runTx runs it again.
var errGroupAborted = errors.New("the shared write transaction was rolled back; run again")

// groupCommit shares write transactions between writers that queue up.
type groupCommit struct {
	// turn is held by the writer running statements on the write connection.
	turn chan struct{}

	mu sync.Mutex
	// waiting counts writers waiting for the turn.
	waiting int
	// open is the transaction that the next writer joins; nil when none is open.
	open *writeGroup
	// commits counts the transactions committed, for tests.
	commits atomic.Int64
}

// writeGroup is one database transaction shared by writers.
type writeGroup struct {
	conn *sql.Conn
	tx   *sql.Tx
	// members counts the writers whose work is in the transaction, and writes
	// the resources their work (and that of writers rolled back to their
	// savepoint) wrote or deleted.
	members, writes int
	// lost is why the transaction can no longer commit: its first writer
	// failed, or a rollback to a savepoint failed, so the engine may have
	// rolled back all of it.
	lost error
	// stmts are the transaction's forms of kept statements (tx.txStmts).
	stmts map[string]*sql.Stmt
	// done is closed once the transaction has committed or rolled back, err
	// being the outcome for every member.
	done chan struct{}
	err  error
}

func newGroupCommit() *groupCommit {
	return &groupCommit{turn: make(chan struct{}, 1)}
}

// groupCommits reports whether the store's engine has one writer whose
// transactions writers may share.
func groupCommits(d Dialect) bool {
	sw, ok := d.(singleWriterDialect)
	return ok && sw.SingleWriter()
}

// runGrouped runs fn as one writer of a shared transaction and returns once the
// transaction holding its work has committed (or fn failed, having written
// nothing). It waits for its turn at most the write lock timeout.
func (s *Store) runGrouped(ctx context.Context, fn func(t *tx) error) error {
	g := s.group
	if err := s.takeTurn(ctx); err != nil {
		return err
	}
	g.mu.Lock()
	wg := g.open
	g.open = nil
	g.mu.Unlock()
	if wg == nil {
		var err error
		if wg, err = s.beginGroup(ctx); err != nil {
			<-g.turn
			return err
		}
	}
	t := &tx{s: s, q: wg.tx, now: s.now().UTC().Truncate(time.Microsecond), writable: true, txStmts: wg.stmts}
	sawOthers := wg.members > 0
	err := s.runMember(ctx, wg, t, fn)
	if err == nil {
		wg.members++
	}

	g.mu.Lock()
	wg.writes += t.writes
	keepOpen := g.waiting > 0 && wg.members < maxGroupMembers && wg.writes < maxGroupWrites && wg.lost == nil
	if keepOpen {
		g.open = wg
	}
	g.mu.Unlock()
	if !keepOpen {
		if wg.finish() {
			g.commits.Add(1)
		}
		// With the connection returned and the turn still held, statements
		// the transaction ran often can be prepared for the next ones.
		s.writeStmts.preparePending()
	}
	// The next writer may start once the transaction is handed over or ended:
	// ending it returned the connection, which a new transaction takes.
	<-g.turn
	if err != nil {
		if sawOthers && !errors.Is(err, errGroupAborted) {
			<-wg.done
			if wg.err != nil {
				return errGroupAborted
			}
		}
		return err
	}
	<-wg.done
	if wg.err != nil {
		return wg.err
	}
	for _, f := range t.onCommit {
		f()
	}
	return nil
}

// takeTurn waits for the turn to write, at most the write lock timeout.
func (s *Store) takeTurn(ctx context.Context) error {
	g := s.group
	g.mu.Lock()
	g.waiting++
	g.mu.Unlock()
	took := func() {
		g.mu.Lock()
		g.waiting--
		g.mu.Unlock()
	}
	select {
	case g.turn <- struct{}{}:
		took()
		return nil
	default:
	}
	timer := time.NewTimer(s.writeLockTimeout)
	defer timer.Stop()
	select {
	case g.turn <- struct{}{}:
		took()
		return nil
	case <-timer.C:
		s.giveUpTurn()
		return s.writeLockError()
	case <-ctx.Done():
		s.giveUpTurn()
		return fmt.Errorf("begin: %w", ctx.Err())
	}
}

// giveUpTurn is what a writer does that stops waiting for its turn. A writer
// that saw it waiting may have left the transaction open for it; when no other
// writer waits, nobody would end that transaction, and the writers whose work
// is in it would wait for ever: then this one takes the turn, whatever its
// context, and commits it.
func (s *Store) giveUpTurn() {
	g := s.group
	g.mu.Lock()
	g.waiting--
	orphan := g.waiting == 0 && g.open != nil
	g.mu.Unlock()
	if !orphan {
		return
	}
	g.turn <- struct{}{}
	g.mu.Lock()
	wg := g.open
	if g.waiting > 0 {
		wg = nil // a writer that came meanwhile ends it
	}
	if wg != nil {
		g.open = nil
	}
	g.mu.Unlock()
	if wg != nil && wg.finish() {
		g.commits.Add(1)
	}
	<-g.turn
}

// beginGroup opens a transaction for writers to share. It does not end with
// the context of the writer that opened it: other writers' work is in it.
func (s *Store) beginGroup(ctx context.Context) (*writeGroup, error) {
	conn, err := s.writeConn(ctx)
	if err != nil {
		return nil, err
	}
	sqlTx, err := conn.BeginTx(context.WithoutCancel(ctx), s.dialect.TxOptions())
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("begin: %w", err)
	}
	return &writeGroup{conn: conn, tx: sqlTx, done: make(chan struct{}), stmts: map[string]*sql.Stmt{}}, nil
}

// runMember runs fn inside a savepoint of the shared transaction and rolls back
// to it when fn fails. The first writer of a transaction runs without one: a
// savepoint makes SQLite copy every page it changes that existed before it, and
// when the first writer fails there is nothing else in the transaction to keep,
// so the transaction is rolled back whole instead (and not handed on).
func (s *Store) runMember(ctx context.Context, wg *writeGroup, t *tx, fn func(t *tx) error) error {
	if wg.members == 0 {
		// No writer ran in it before: one that failed would have ended it.
		err := fn(t)
		if err == nil {
			err = t.flushIndexes(ctx)
		}
		if err != nil {
			wg.lost = err
		}
		return err
	}
	// Savepoint statements must run whatever becomes of ctx: a writer whose
	// request ends must still leave the shared transaction as it found it.
	bg := context.WithoutCancel(ctx)
	if err := t.exec(bg, "SAVEPOINT member"); err != nil {
		wg.lost = err
		return errGroupAborted
	}
	err := fn(t)
	if err == nil {
		err = t.flushIndexes(ctx)
	}
	if err != nil {
		// An interrupted statement may have rolled back the whole transaction,
		// and with it the savepoint: then the other members' work is lost too.
		if rerr := t.exec(bg, "ROLLBACK TO member"); rerr != nil {
			wg.lost = rerr
		}
	}
	if rerr := t.exec(bg, "RELEASE member"); rerr != nil && wg.lost == nil {
		wg.lost = rerr
	}
	if err == nil && wg.lost != nil {
		return errGroupAborted
	}
	return err
}

// finish commits the shared transaction (or rolls it back when it holds no
// work or was lost), returns its connection and tells the members. It reports
// whether it committed.
func (wg *writeGroup) finish() bool {
	switch {
	case wg.lost != nil:
		wg.tx.Rollback()
		wg.err = errGroupAborted
	case wg.members == 0:
		wg.err = wg.tx.Rollback()
	default:
		if err := wg.tx.Commit(); err != nil {
			wg.err = fmt.Errorf("commit: %w", err)
		}
	}
	wg.conn.Close()
	close(wg.done)
	return wg.lost == nil && wg.members > 0 && wg.err == nil
}
