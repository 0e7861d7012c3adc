package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"testing"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir/search"
	"omnichart/internal/store"
	"omnichart/internal/store/postgres"
)

// wantDistribution is the distribution plan of docs/scale-out.md, table by table:
// "compartment" (hash-distributed by compartment, co-located with resources),
// "res_id" (hash-distributed by res_id, apart), "reference" or "local".
var wantDistribution = map[string]string{
	"resources": "compartment", "resource_versions": "compartment", "index_pending": "compartment",
	"index_string": "compartment", "index_token": "compartment", "index_date": "compartment",
	"index_number": "compartment", "index_quantity": "compartment", "index_reference": "compartment",
	"index_uri":        "compartment",
	"resource_ids":     "res_id",
	"reindex_progress": "reference", "access_openings": "reference",
	"auth_settings": "reference", "auth_org_sources": "reference", "auth_users": "reference", "auth_clients": "reference",
	"auth_codes": "reference", "auth_refresh_tokens": "reference", "auth_revoked": "reference", "auth_assertions": "reference",
	"auth_keys": "reference", "auth_launches": "reference", "match_models": "reference",
	"locks": "local", "schema_migrations": "local",
	"audit_events": "local", "audit_patients": "local", "audit_head": "local",
}

// distribution reads how each table of the connection's schema is distributed.
func distribution(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	rows, err := db.Query(`SELECT c.relname, COALESCE(p.partmethod::text, ''),
			COALESCE(column_to_column_name(p.logicalrelid, p.partkey), ''), COALESCE(p.colocationid, 0)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_dist_partition p ON p.logicalrelid = c.oid
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	colocation := map[string]int{}
	for rows.Next() {
		var table, method, column string
		var group int
		if err := rows.Scan(&table, &method, &column, &group); err != nil {
			t.Fatal(err)
		}
		colocation[table] = group
		switch method {
		case "h":
			got[table] = column
		case "n":
			got[table] = "reference"
		case "":
			got[table] = "local"
		default:
			got[table] = "method " + method
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for table, kind := range got {
		if kind == "compartment" && colocation[table] != colocation["resources"] {
			got[table] = "compartment, not co-located with resources"
		}
	}
	if colocation["resource_ids"] != 0 && colocation["resource_ids"] == colocation["resources"] {
		got["resource_ids"] += ", co-located with resources"
	}
	return got
}

func checkDistribution(t *testing.T, db *sql.DB) {
	t.Helper()
	got := distribution(t, db)
	for table, kind := range got {
		if want, ok := wantDistribution[table]; !ok {
			t.Errorf("table %s is %s: it is not in the distribution plan (internal/store/postgres/distribute.go)", table, kind)
		} else if kind != want {
			t.Errorf("table %s is %s, want %s", table, kind, want)
		}
	}
	for table := range wantDistribution {
		if _, ok := got[table]; !ok {
			t.Errorf("table %s is missing from the schema", table)
		}
	}
}

// TestCitusDistributesEveryTable opens a store on a Citus coordinator and checks
// that every table of the schema is distributed as the plan says, and that
// distributing again (as every start does) changes nothing.
func TestCitusDistributesEveryTable(t *testing.T) {
	u := ehrtest.CitusSchemaURL(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, u, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkDistribution(t, s.DB())
	if err := postgres.Distribute(ctx, s.DB()); err != nil {
		t.Fatalf("Distribute on a distributed schema = %v, want nothing to do", err)
	}
	again, err := postgres.Open(ctx, u, store.Options{})
	if err != nil {
		t.Fatalf("Open a second time = %v", err)
	}
	again.Close()
	checkDistribution(t, s.DB())
}

// TestCitusMovesAPopulatedDatabaseToACluster follows docs/scale-out.md, "From one
// node to a cluster", on a small data set: a database written by a plain
// PostgreSQL server gets the citus extension, is distributed in place on its one
// node when the server starts again, then grows by a worker and is rebalanced onto
// it. Every resource, version and search answer is the same at each step.
func TestCitusMovesAPopulatedDatabaseToACluster(t *testing.T) {
	coordinator := ehrtest.CitusURL(t)
	ctx := context.Background()
	admin, err := sql.Open("pgx", coordinator)
	if err != nil {
		t.Fatal(err)
	}
	// Closed by a cleanup, which runs after the one below that drops the databases.
	t.Cleanup(func() { admin.Close() })
	var worker string
	if err := admin.QueryRowContext(ctx, `SELECT nodename || ':' || nodeport FROM pg_dist_node WHERE groupid <> 0 ORDER BY nodeport LIMIT 1`).Scan(&worker); err != nil {
		t.Fatalf("find a worker of the test cluster: %v", err)
	}
	var b [4]byte
	rand.Read(b[:])
	dbName := "t_move_" + hex.EncodeToString(b[:])
	onNode := func(hostPort, db string) string {
		p, err := url.Parse(coordinator)
		if err != nil {
			t.Fatal(err)
		}
		p.Host, p.Path = hostPort, "/"+db
		return p.String()
	}
	coordHost := func() string { p, _ := url.Parse(coordinator); return p.Host }()
	workerAdmin, err := sql.Open("pgx", onNode(worker, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { workerAdmin.Close() })
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+dbName); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + dbName + " WITH (FORCE)"); err != nil {
			t.Errorf("drop the test database on the coordinator: %v", err)
		}
		if _, err := workerAdmin.Exec("DROP DATABASE IF EXISTS " + dbName + " WITH (FORCE)"); err != nil {
			t.Errorf("drop the test database on the worker: %v", err)
		}
	})
	// Two shards a table rather than Citus's 32 keep the moves few (one per
	// co-location group); the procedure is the same.
	dbURL := func() string {
		p, _ := url.Parse(onNode(coordHost, dbName))
		q := p.Query()
		q.Set("citus.shard_count", "2")
		p.RawQuery = q.Encode()
		return p.String()
	}()
	start := time.Now()

	// 1. One plain PostgreSQL node, written to.
	s, err := postgres.Open(ctx, dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const patients = 12
	for p := range patients {
		pid := "p" + strconv.Itoa(p)
		err := s.Transaction(ctx, func(tx ehr.Tx) error {
			if _, _, err := tx.Update(ctx, "Patient", pid, map[string]any{"resourceType": "Patient", "id": pid,
				"name": []any{map[string]any{"family": "Moved"}}}, ehr.WriteOptions{}); err != nil {
				return err
			}
			for o := range 3 {
				obs := map[string]any{"resourceType": "Observation", "status": "final",
					"subject": map[string]any{"reference": "Patient/" + pid},
					"code":    map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "718-7"}}},
					"valueQuantity": map[string]any{"value": float64(10 + o), "unit": "g/dL",
						"system": "http://unitsofmeasure.org", "code": "g/dL"}}
				if _, _, err := tx.Update(ctx, "Observation", fmt.Sprintf("%s-o%d", pid, o), obs, ehr.WriteOptions{}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// A second version of each patient, for history.
		if _, _, err := s.Update(ctx, "Patient", pid, map[string]any{"resourceType": "Patient", "id": pid,
			"gender": "unknown", "name": []any{map[string]any{"family": "Moved"}}}, ehr.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshot(t, s)
	s.Close()
	t.Logf("written on one plain node after %s", time.Since(start).Round(time.Millisecond))
	if before.observations != 3*patients || before.versions != 5*patients {
		t.Fatalf("the data set has %d observations and %d versions, want %d and %d", before.observations, before.versions, 3*patients, 5*patients)
	}

	// 2. CREATE EXTENSION citus; the coordinator holds the shards until a worker joins.
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range []string{
		"SET client_min_messages = warning",
		"CREATE EXTENSION citus",
		"SELECT citus_set_coordinator_host('" + hostOf(coordHost) + "', " + portOf(coordHost) + ")",
		"SELECT citus_set_node_property('" + hostOf(coordHost) + "', " + portOf(coordHost) + ", 'shouldhaveshards', true)",
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	s, err = postgres.Open(ctx, dbURL, store.Options{})
	if err != nil {
		t.Fatalf("Open after CREATE EXTENSION citus (distributes in place) = %v", err)
	}
	t.Logf("distributed in place after %s", time.Since(start).Round(time.Millisecond))
	checkDistribution(t, s.DB())
	if got := snapshot(t, s); got != before {
		t.Errorf("after distributing in place: %+v, want %+v", got, before)
	}
	s.Close()

	// 3. A worker joins and the shards are rebalanced onto it.
	if _, err := workerAdmin.ExecContext(ctx, "CREATE DATABASE "+dbName); err != nil {
		t.Fatal(err)
	}
	wdb, err := sql.Open("pgx", onNode(worker, dbName))
	if err != nil {
		t.Fatal(err)
	}
	_, err = wdb.ExecContext(ctx, "CREATE EXTENSION citus")
	wdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		"SELECT citus_add_node('" + hostOf(worker) + "', " + portOf(worker) + ")",
		"SELECT rebalance_table_shards(shard_transfer_mode => 'block_writes')",
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	t.Logf("rebalanced after %s", time.Since(start).Round(time.Millisecond))
	var onWorker int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM citus_shards WHERE nodeport = `+portOf(worker)).Scan(&onWorker); err != nil {
		t.Fatal(err)
	}
	if onWorker == 0 {
		t.Errorf("no shard moved to the new worker")
	}
	s, err = postgres.Open(ctx, dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := snapshot(t, s); got != before {
		t.Errorf("after adding a worker and rebalancing: %+v, want %+v", got, before)
	}
}

func hostOf(hostPort string) string { h, _, _ := cutLast(hostPort); return h }
func portOf(hostPort string) string { _, p, _ := cutLast(hostPort); return p }

func cutLast(s string) (string, string, bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// dataSet is what a store answers about the moved data set.
type dataSet struct {
	observations, versions, patientHistory, highValues int
	read                                               string
}

func snapshot(t *testing.T, s *store.Store) dataSet {
	t.Helper()
	ctx := context.Background()
	var d dataSet
	if err := s.DB().QueryRowContext(ctx, `SELECT count(*) FROM resource_versions`).Scan(&d.versions); err != nil {
		t.Fatal(err)
	}
	count := func(typ, query string) int {
		values, err := url.ParseQuery(query)
		if err != nil {
			t.Fatal(err)
		}
		q, err := search.Parse(typ, values)
		if err != nil {
			t.Fatal(err)
		}
		page, err := s.Search(ctx, q)
		if err != nil {
			t.Fatalf("%s?%s: %v", typ, query, err)
		}
		return page.Total
	}
	d.observations = count("Observation", "code=http://loinc.org|718-7&_total=accurate")
	d.highValues = count("Observation", "value-quantity=ge11|http://unitsofmeasure.org|g/dL&_total=accurate")
	h, err := s.History(ctx, ehr.HistoryQuery{Type: "Patient", ID: "p7"})
	if err != nil {
		t.Fatal(err)
	}
	d.patientHistory = len(h.Records)
	rec, err := s.Read(ctx, "Observation", "p7-o2")
	if err != nil {
		t.Fatal(err)
	}
	d.read = rec.Compartment + " " + strconv.FormatInt(rec.Version, 10)
	return d
}
