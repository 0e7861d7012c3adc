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

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"omnichart/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

type dialect struct{}

func (dialect) Name() string             { return "postgres" }
func (dialect) Placeholder(n int) string { return store.NumberedPlaceholder(n) }
func (dialect) LockMigrations() string   { return "LOCK TABLE schema_migrations IN EXCLUSIVE MODE" }

// TxOptions makes every write transaction SERIALIZABLE: conditional creates and
// version checks read, then write, and only serializable isolation turns two such
// concurrent transactions into one success and one retry (never two creates).
func (dialect) TxOptions() *sql.TxOptions {
	return &sql.TxOptions{Isolation: sql.LevelSerializable}
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

// Open connects to the PostgreSQL server named by dsn (a postgres:// URL or key=value
// string), applies migrations and returns the store.
func Open(ctx context.Context, dsn string, opts store.Options) (*store.Store, error) {
	cfg, err := pgxConfig(dsn)
	if err != nil {
		return nil, err
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
	s := store.New(db, db, dialect{}, opts)
	if err := s.LoadSearchParameters(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}
