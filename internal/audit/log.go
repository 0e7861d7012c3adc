package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"omnichart/internal/ehr"
)

// Options configure a Log.
type Options struct {
	// Store keeps the records; Key (KeySize bytes) seals them.
	Store ehr.AuditStore
	Key   []byte
	// Now is the clock of records whose event has no time; time.Now by default.
	Now func() time.Time
	// WriteTimeout bounds one group commit; 10 s by default.
	WriteTimeout time.Duration
	// SpoolDir, when set, makes Record write its record to a spool file in
	// this folder and return, and commits the spooled records into the chain
	// within FlushDelay (200 ms when zero). See the package documentation,
	// "Durability". Unset, every Record waits for its durable commit.
	SpoolDir   string
	FlushDelay time.Duration
	// MaxSpooled bounds the records waiting in the spool: past it Record fails
	// (the requests with it) until the log's store takes them. 100,000 when zero.
	MaxSpooled int
	// OnMoveError is told when committing spooled records fails; they stay in
	// the spool and the next attempt, FlushDelay later, retries them.
	OnMoveError func(error)
}

// Log is the audit log. It implements ehr.Auditor and is safe for concurrent use.
type Log struct {
	store   ehr.AuditStore
	key     []byte
	seal    ehr.AuditSealer
	now     func() time.Time
	timeout time.Duration

	mu       sync.Mutex
	queue    []*waiter
	flushing bool

	spool spoolState
}

// spoolState is the spool of a Log with Options.SpoolDir.
type spoolState struct {
	dir         string
	delay       time.Duration
	max         int
	onMoveError func(error)

	moving sync.Mutex // one move at a time, in spool order

	mu      sync.Mutex
	cur     *segment   // the file Record writes to; nil until the next Record
	full    []*segment // written and closed, waiting for their commit
	waiting int        // entries in cur and full
	armed   bool       // a move is scheduled and has not started
}

// waiter is one Record call waiting for the group commit that takes its entry.
type waiter struct {
	entry *ehr.AuditEntry
	done  chan error
}

// New returns a Log over opts.Store.
func New(opts Options) (*Log, error) {
	if opts.Store == nil {
		return nil, errors.New("audit: no store")
	}
	if len(opts.Key) != KeySize {
		return nil, fmt.Errorf("audit: the key must be %d bytes", KeySize)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	l := &Log{store: opts.Store, key: opts.Key, seal: Seal(opts.Key), now: opts.Now, timeout: opts.WriteTimeout}
	if opts.SpoolDir != "" {
		if err := os.MkdirAll(opts.SpoolDir, 0o700); err != nil {
			return nil, fmt.Errorf("audit spool: %w", err)
		}
		l.spool = spoolState{dir: opts.SpoolDir, delay: opts.FlushDelay, max: opts.MaxSpooled, onMoveError: opts.OnMoveError}
		if l.spool.delay <= 0 {
			l.spool.delay = 200 * time.Millisecond
		}
		if l.spool.max <= 0 {
			l.spool.max = 100_000
		}
	}
	return l, nil
}

// Entry turns ev into an unsealed entry (see ehr.NewAuditEntry).
func (l *Log) Entry(ev ehr.AccessEvent) (*ehr.AuditEntry, error) {
	return ehr.NewAuditEntry(ev, l.now)
}

// Event decodes the event of a stored entry (see ehr.AuditEvent).
func Event(e *ehr.AuditEntry) (ehr.AccessEvent, error) { return ehr.AuditEvent(e) }

// Seal is the ehr.AuditSealer of key: the MAC of e chained to prev.
func Seal(key []byte) ehr.AuditSealer {
	return ehr.AuditSealer{KeyID: KeyID(key), MAC: func(prev []byte, e *ehr.AuditEntry) []byte { return mac(key, prev, e) }}
}

// KeyID names key without revealing it: the first 8 bytes, in hex, of its
// HMAC over a fixed label.
func KeyID(key []byte) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("omnichart audit key id"))
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func mac(key, prev []byte, e *ehr.AuditEntry) []byte {
	h := hmac.New(sha256.New, key)
	var n [8]byte
	// Every part is length-prefixed or fixed-size, so no two records encode alike.
	binary.BigEndian.PutUint64(n[:], uint64(len(prev)))
	h.Write(n[:])
	h.Write(prev)
	binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(e.Recorded.UnixMicro()))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(len(e.Agent)))
	h.Write(n[:])
	h.Write([]byte(e.Agent))
	h.Write(e.Body)
	return h.Sum(nil)
}

// RecordTx implements ehr.Auditor: it appends ev inside tx, which must be a write
// transaction of the store that keeps the log.
func (l *Log) RecordTx(ctx context.Context, tx ehr.Tx, ev ehr.AccessEvent) error {
	app, ok := tx.(ehr.AuditAppender)
	if !ok {
		return errors.New("audit: the transaction cannot append to the audit log")
	}
	e, err := l.Entry(ev)
	if err != nil {
		return err
	}
	return app.AppendAudit(ctx, []*ehr.AuditEntry{e}, l.seal)
}

// Record implements ehr.Auditor: it appends ev and returns once it is committed,
// or, with a spool, once it is written to the spool file.
// Calls that arrive while a commit is running wait and are committed together by
// the next one (group commit). The caller that finds no commit running commits
// the queue; when more has queued up meanwhile, a goroutine carries on with it,
// so no caller waits for more than two commits.
func (l *Log) Record(ctx context.Context, ev ehr.AccessEvent) error {
	e, err := l.Entry(ev)
	if err != nil {
		return err
	}
	if l.spool.dir != "" {
		return l.spoolEntry(e)
	}
	w := &waiter{entry: e, done: make(chan error, 1)}
	l.mu.Lock()
	l.queue = append(l.queue, w)
	if !l.flushing {
		l.flushing = true
		l.mu.Unlock()
		l.flush()
	} else {
		l.mu.Unlock()
	}
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		// The record may still be written; the request fails either way.
		return ctx.Err()
	}
}

// flush commits what is queued, then hands the rest to a goroutine or ends the
// flushing state.
func (l *Log) flush() {
	l.mu.Lock()
	batch := l.queue
	l.queue = nil
	l.mu.Unlock()
	entries := make([]*ehr.AuditEntry, len(batch))
	for i, w := range batch {
		entries[i] = w.entry
	}
	// The commit serves many requests: none of their cancellations may stop it.
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	err := l.store.AppendAudit(ctx, entries, l.seal)
	cancel()
	if err != nil {
		err = fmt.Errorf("audit: %w", err)
	}
	for _, w := range batch {
		w.done <- err
	}
	l.mu.Lock()
	if len(l.queue) == 0 {
		l.flushing = false
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	go l.flush()
}
