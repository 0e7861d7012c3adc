package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// warmConns is how many connections a store on Citus opens and readies at start.
// It covers the requests of a busy server that run at once (a slow search beside
// a few writes and reads); more are opened, cold, when needed.
const warmConns = 8

// warmConnections opens n connections to a Citus coordinator at once and readies
// each for distributed statements, then returns them to the pool, which keeps
// them (MaxIdleConns).
//
// A new coordinator connection is a new server process that has yet to load the
// cluster's metadata and to connect to the workers. Its first distributed
// statements pay for both: a few hundred milliseconds on a busy cluster, against
// a few on plain PostgreSQL. Without warming, a write that arrives while the pool's
// only connections are held (by a search that runs until its timeout) opens one
// and pays that in its answer time; warmed at start, it finds one ready.
func warmConnections(ctx context.Context, db *sql.DB, n int) error {
	conns := make([]*sql.Conn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close() // back to the pool
			}
		}
	}()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			c, err := db.Conn(ctx)
			if err != nil {
				errs[i] = err
				return
			}
			conns[i] = c
			// A read of every shard of the id lookup loads the metadata and leaves
			// a cached connection to every worker that holds one
			// (citus.max_cached_conns_per_worker).
			var one int
			errs[i] = c.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM `+idLookupTable+` LIMIT 1) w`).Scan(&one)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("warm connections to the coordinator: %w", err)
	}
	return nil
}
