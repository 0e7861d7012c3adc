package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"omnichart/internal/store"
	"omnichart/internal/store/postgres"
	"omnichart/internal/store/sqlite"
)

// defaultDB is the embedded store used when no --db is given.
var defaultDB = "sqlite:" + filepath.Join("omnichart-data", "omnichart.db")

// parseFlags parses args into fs, then fills every flag not given on the command line
// from its OMNICHART_* environment variable.
//
// Asked for help (-h, --help), it prints the usage to stdout and returns
// flag.ErrHelp, which run treats as success. On a usage error the usage goes to the
// FlagSet's output (stderr). A Usage function must print to fs.Output().
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	stderr := fs.Output()
	var usage bytes.Buffer
	fs.SetOutput(&usage)
	err := fs.Parse(args)
	fs.SetOutput(stderr)
	if errors.Is(err, flag.ErrHelp) {
		stdout.Write(usage.Bytes())
		return err
	}
	if err != nil {
		stderr.Write(usage.Bytes())
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		env := "OMNICHART_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s: %w", env, e)
			}
		}
	})
	return err
}

// openStore opens the store a --db value names: "sqlite:PATH" (or a bare path) or a
// postgres:// URL.
func openStore(ctx context.Context, db string) (*store.Store, error) {
	return openStoreWith(ctx, db, store.Options{})
}

// openStoreWith is openStore with options.
func openStoreWith(ctx context.Context, db string, opts store.Options) (*store.Store, error) {
	switch {
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		return postgres.Open(ctx, db, opts)
	case strings.HasPrefix(db, "sqlite:"):
		return sqlite.Open(ctx, strings.TrimPrefix(db, "sqlite:"), opts)
	case strings.Contains(db, "://"):
		return nil, fmt.Errorf("--db %q: use sqlite:PATH or postgres://", strings.SplitN(db, "://", 2)[0]+"://…")
	default:
		return sqlite.Open(ctx, db, opts)
	}
}

// isPostgres reports whether a --db value names a PostgreSQL database.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}
