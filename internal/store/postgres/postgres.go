// Package postgres is the production ResourceStore on PostgreSQL 15 or later, through
// jackc/pgx v5.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"omnichart/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// dialect is PostgreSQL's; distributed is set when the database is a Citus cluster
// and the schema distributed by compartment (see Distribute).
type dialect struct{ distributed bool }

// Distributed implements store's distributedDialect.
func (d dialect) Distributed() bool { return d.distributed }

func (dialect) Name() string             { return "postgres" }
func (dialect) Placeholder(n int) string { return store.NumberedPlaceholder(n) }
func (dialect) LockMigrations() string   { return "LOCK TABLE schema_migrations IN EXCLUSIVE MODE" }

// TxOptions keeps PostgreSQL's READ COMMITTED: the reads that precede a write lock
// what they read (ForUpdate, Lock), which serializes exactly the transactions that
// touch the same resource or the same conditional criteria and leaves unrelated
// writers (two imports of different patients) to run side by side. Serializable
// isolation gave the same guarantees but aborted unrelated writers on false
// conflicts under load.
func (dialect) TxOptions() *sql.TxOptions { return nil }

func (dialect) ForUpdate() string { return " FOR UPDATE" }

// InsertRows is a plain INSERT: a failed statement leaves nothing on PostgreSQL.
func (dialect) InsertRows() string { return "INSERT" }

func (dialect) IndexedBy(string) string { return "" }

// TableSizes measures each table of the store's schema: rows with their TOAST,
// and indexes. On Citus the coordinator's table of a distributed or reference
// table is an empty shell, and citus_table_size and citus_total_relation_size
// sum its shards on the workers.
func (d dialect) TableSizes() string {
	if d.distributed {
		return `SELECT c.relname,
  CASE WHEN p.logicalrelid IS NULL THEN pg_table_size(c.oid) ELSE citus_table_size(c.oid::regclass) END,
  CASE WHEN p.logicalrelid IS NULL THEN pg_indexes_size(c.oid)
    ELSE citus_total_relation_size(c.oid::regclass) - citus_table_size(c.oid::regclass) END
FROM pg_class c LEFT JOIN pg_dist_partition p ON p.logicalrelid = c.oid
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')`
	}
	return `SELECT c.relname, pg_table_size(c.oid), pg_indexes_size(c.oid)
FROM pg_class c
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')`
}

// Analyze analyzes every table of the store's schema (the connection's
// search_path, which a test's schema or a deployment's own names), and only
// those: ANALYZE with no table would go through every schema of the database.
func (dialect) Analyze() string {
	return `DO $$
DECLARE t text;
BEGIN
	FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename LOOP
		EXECUTE format('ANALYZE %I', t);
	END LOOP;
END $$`
}

// Lock inserts the lock's row if needed (a concurrent inserter waits on the unique
// index until the first commits) and then locks it until the transaction ends.
func (dialect) Lock() []string {
	return []string{
		"INSERT INTO locks (name) VALUES ($1) ON CONFLICT DO NOTHING",
		"SELECT name FROM locks WHERE name = $1 FOR UPDATE",
	}
}

func (dialect) Retryable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return true
		case "23505": // unique_violation: a concurrent insert of the same key won
			return true
		}
	}
	return false
}

// LockWaitExpired recognises lock_not_available, what a statement that waited
// longer than lock_timeout fails with.
func (dialect) LockWaitExpired(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "55P03"
}

// Open connects to the PostgreSQL server named by dsn (a postgres:// URL or key=value
// string), applies migrations and returns the store.
func Open(ctx context.Context, dsn string, opts store.Options) (*store.Store, error) {
	cfg, err := pgxConfig(dsn)
	if err != nil {
		return nil, err
	}
	// Row and named locks wait no longer than a write may wait for them; past it
	// the statement fails with lock_not_available (see store.writeConn). A
	// lock_timeout in the address takes precedence.
	if _, set := cfg.RuntimeParams["lock_timeout"]; !set {
		cfg.RuntimeParams["lock_timeout"] = strconv.FormatInt(opts.WriteLockTimeout().Milliseconds(), 10)
	}
	// A search's cost estimate can pass jit_above_cost when the planner
	// misjudges how many rows a condition keeps (a correlated probe per
	// candidate), and compiling the query then costs hundreds of milliseconds
	// more than running it: the store's statements are short, so JIT is off
	// unless the address turns it on.
	if _, set := cfg.RuntimeParams["jit"]; !set {
		cfg.RuntimeParams["jit"] = "off"
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := store.Migrate(ctx, db, dialect{}, sub); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate postgres: %w", err)
	}
	citus, err := hasCitus(ctx, db)
	if err == nil && citus {
		err = Distribute(ctx, db)
	}
	if err == nil && citus {
		err = warmConnections(ctx, db, warmConns)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	s := store.New(db, db, dialect{distributed: citus}, opts)
	if err := s.LoadSearchParameters(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// TooCostly recognises PostgreSQL's errors for a query past one of its own limits
// (SQLSTATE class 54, program limit exceeded, such as stack depth) and pgx's for
// one with more bind parameters than the protocol carries.
func (dialect) TooCostly(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return strings.HasPrefix(pg.Code, "54")
	}
	return strings.Contains(err.Error(), "extended protocol limited to")
}
