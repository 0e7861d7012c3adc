// Package ehrtest holds test helpers: stores on both engines, in throwaway
// locations. It is imported only from _test.go files.
package ehrtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"omnichart/internal/store"
	"omnichart/internal/store/postgres"
	"omnichart/internal/store/sqlite"
)

// Engines names the store engines every store test runs against: SQLite and
// PostgreSQL.
var Engines = []string{"sqlite", "postgres"}

// AllEngines is Engines and PostgreSQL distributed on Citus, when OMNICHART_TEST_CITUS
// names a coordinator or OMNICHART_REQUIRE_CITUS=1 (as in CI) forbids leaving it
// out. Every test that opens a store loops over it; benchmarks loop over Engines.
// A test that writes a lot runs a representative part of itself on Citus and says
// so (docs/scale-out.md).
var AllEngines = allEngines()

func allEngines() []string {
	if os.Getenv("OMNICHART_TEST_CITUS") != "" || os.Getenv("OMNICHART_REQUIRE_CITUS") == "1" {
		return append(append([]string{}, Engines...), "citus")
	}
	return Engines
}

// CitusURL returns the Citus coordinator named by OMNICHART_TEST_CITUS. When it is
// unset the test is skipped with instructions, or fails when OMNICHART_REQUIRE_CITUS=1
// (as in CI).
func CitusURL(tb testing.TB) string {
	tb.Helper()
	return serverURL(tb, "OMNICHART_TEST_CITUS", "OMNICHART_REQUIRE_CITUS",
		"Citus half skipped: start ../shared/citus/cluster.sh up and set OMNICHART_TEST_CITUS=postgres://postgres@127.0.0.1:9700/omnichart?sslmode=disable to run it")
}

// serverURL returns the database server named by the variable env. When it is
// unset the test is skipped with msg, or fails when the variable require is 1.
func serverURL(tb testing.TB, env, require, msg string) string {
	tb.Helper()
	u := os.Getenv(env)
	if u == "" {
		if os.Getenv(require) == "1" {
			tb.Fatal(msg + " (" + require + "=1 forbids skipping)")
		}
		tb.Skip(msg)
	}
	return u
}

// citusTestShards is the shard count of each distributed table of a test schema:
// enough to spread a test's compartments over both workers, few enough that
// creating a schema per test stays quick.
const citusTestShards = "4"

// CitusSchemaURL creates a fresh schema on the Citus coordinator and returns a URL
// whose connections use it; the store distributes its tables there when it opens.
// The schema, shards included, is dropped when the test ends.
func CitusSchemaURL(tb testing.TB) string {
	tb.Helper()
	u := schemaURL(tb, CitusURL(tb))
	parsed, err := url.Parse(u)
	if err != nil {
		tb.Fatal(err)
	}
	q := parsed.Query()
	q.Set("citus.shard_count", citusTestShards)
	parsed.RawQuery = q.Encode()
	return parsed.String()
}

// PostgresURL returns the server named by OMNICHART_TEST_POSTGRES. When it is unset
// the test is skipped with instructions, or fails when OMNICHART_REQUIRE_POSTGRES=1
// (as in CI), so PostgreSQL is never silently left untested there.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	return serverURL(tb, "OMNICHART_TEST_POSTGRES", "OMNICHART_REQUIRE_POSTGRES",
		"PostgreSQL half skipped: set OMNICHART_TEST_POSTGRES=postgres://user:pass@127.0.0.1:5432/db to run it")
}

// PostgresSchemaURL creates a fresh schema on the test server and returns a URL whose
// connections use it; the schema is dropped when the test ends.
func PostgresSchemaURL(tb testing.TB) string {
	tb.Helper()
	return schemaURL(tb, PostgresURL(tb))
}

func schemaURL(tb testing.TB, base string) string {
	tb.Helper()
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err == nil {
			db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		}
	})
	return WithSearchPath(tb, base, schema)
}

// WithSearchPath returns the PostgreSQL address base with its connections set to use
// schema.
func WithSearchPath(tb testing.TB, base, schema string) string {
	if strings.Contains(base, "://") {
		u, err := url.Parse(base)
		if err != nil {
			tb.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return base + " search_path=" + schema
}

// SQLitePath returns a database path in a temp folder of the test.
func SQLitePath(tb testing.TB) string {
	return filepath.Join(tb.TempDir(), "omnichart.db")
}

// MustOpen opens a fresh, empty store of engine for the test and closes it at the end.
func MustOpen(tb testing.TB, engine string, opts store.Options) *store.Store {
	tb.Helper()
	var s *store.Store
	var err error
	switch engine {
	case "sqlite":
		s, err = sqlite.Open(context.Background(), SQLitePath(tb), opts)
	case "postgres":
		s, err = postgres.Open(context.Background(), PostgresSchemaURL(tb), opts)
	case "citus":
		s, err = postgres.Open(context.Background(), CitusSchemaURL(tb), opts)
	default:
		tb.Fatalf("unknown engine %q", engine)
	}
	if err != nil {
		tb.Fatalf("open %s store: %v", engine, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// SharedTestdata returns ../shared/testdata (joined with elem) beside the module
// root, where the third-party samples live. When it is absent the test is skipped,
// or fails when OMNICHART_REQUIRE_TESTDATA=1 (as in CI), so the tests over real
// data are never silently left out there.
func SharedTestdata(tb testing.TB, elem ...string) string {
	tb.Helper()
	root, ok := moduleRoot()
	if !ok {
		MissingTestdata(tb, "no go.mod above the package directory; cannot find ../shared/testdata")
	}
	path := filepath.Join(append([]string{filepath.Dir(root), "shared", "testdata"}, elem...)...)
	if _, err := os.Stat(path); err != nil {
		MissingTestdata(tb, path+" is absent; the shared test data belongs next to the module")
	}
	return path
}

// MissingTestdata skips the test because shared test data it needs is missing, or
// fails it when OMNICHART_REQUIRE_TESTDATA=1 forbids skipping.
func MissingTestdata(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("OMNICHART_REQUIRE_TESTDATA") == "1" {
		tb.Fatal(msg + " (OMNICHART_REQUIRE_TESTDATA=1 forbids skipping)")
	}
	tb.Skip(msg)
}

// moduleRoot returns the directory of go.mod above the working directory.
func moduleRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}
