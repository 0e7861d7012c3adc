package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"omnichart/internal/ehr"
)

// DefaultWriteLockTimeout is how long a write waits for the locks it needs when
// Options.WriteLockTimeout is zero. It is long enough for a write queued behind a
// large import transaction (a Bundle at the entry limit takes about 20 s on
// SQLite), and short enough that a client learns the server is overloaded.
const DefaultWriteLockTimeout = 30 * time.Second

// LimitWriteLockTimeout is the name of the write lock wait limit, as its setting
// and docs/limits.md call it.
const LimitWriteLockTimeout = "write-lock-timeout"

// errWriteLockTimeout is the cause of a wait for the writer that ran out of time.
var errWriteLockTimeout = errors.New("write lock timeout")

// WriteLockTimeout returns the wait limit the options give, with its default.
func (o Options) WriteLockTimeout() time.Duration {
	if o.WriteLockWait > 0 {
		return o.WriteLockWait
	}
	return DefaultWriteLockTimeout
}

// writeConn takes a connection of the write pool for one transaction, waiting at
// most the write lock timeout. On SQLite the pool is the one writer, so this is
// the wait for the database's write lock; on PostgreSQL it is the wait for a free
// connection, and the row and named locks a transaction waits for are bounded by
// the same time through lock_timeout (see postgres.Open).
func (s *Store) writeConn(ctx context.Context) (*sql.Conn, error) {
	wait, cancel := context.WithTimeoutCause(ctx, s.writeLockTimeout, errWriteLockTimeout)
	defer cancel()
	conn, err := s.write.Conn(wait)
	if err != nil {
		if ctx.Err() == nil && context.Cause(wait) == errWriteLockTimeout {
			return nil, s.writeLockError()
		}
		return nil, fmt.Errorf("begin: %w", err)
	}
	return conn, nil
}

// writeLockError is the error of a write that waited too long for a lock: the
// server is busy with other writes, and the client may try again.
func (s *Store) writeLockError() error {
	return ehr.Errorf(ehr.Unavailable, "the write waited longer than %s for other writes to finish (%s); try again", s.writeLockTimeout, LimitWriteLockTimeout)
}
