package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir/search"
	"omnichart/internal/store"
	"omnichart/internal/store/postgres"
	"omnichart/internal/store/sqlite"
)

// compactFixture is written to each store of the tests below: Observations whose
// composite code-value-* parameters are complete (o1, o3) or not (o2 has a code
// and no value), and whose subjects are relative references, a versioned one (o4)
// and an absolute URL (o2).
var compactFixture = []struct {
	typ, id string
	res     map[string]any
}{
	{"Patient", "a0", map[string]any{"resourceType": "Patient"}},
	{"Patient", "p1", map[string]any{"resourceType": "Patient"}},
	{"Observation", "o1", observation("Patient/p1", map[string]any{"valueQuantity": map[string]any{"value": json.Number("7.2"), "system": "http://unitsofmeasure.org", "code": "mmol/L"}})},
	{"Observation", "o2", observation("http://other.example/fhir/Patient/x9", nil)},
	{"Observation", "o3", observation("Patient/a0", map[string]any{"valueCodeableConcept": map[string]any{"coding": []any{map[string]any{"system": "http://snomed.info/sct", "code": "260385009", "display": "Negative"}}}})},
	{"Observation", "o4", observation("Patient/p1/_history/1", nil)},
}

func observation(subject string, value map[string]any) map[string]any {
	o := map[string]any{"resourceType": "Observation", "status": "final",
		"code":    map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "2339-0", "display": "Glucose"}}},
		"subject": map[string]any{"reference": subject}}
	for k, v := range value {
		o[k] = v
	}
	return o
}

// compactSearches and the ids each must find, in order where the search sorts.
// A search marked compact answers otherwise on the previous schema's rows:
// there :missing on a composite read its first component's rows, which every
// Observation with a code had.
var compactSearches = []struct {
	query   string
	want    []string
	order   bool
	compact bool
}{
	{"code-value-quantity=http://loinc.org|2339-0$gt7", []string{"o1"}, false, false},
	{"code-value-concept=2339-0$http://snomed.info/sct|260385009", []string{"o3"}, false, false},
	{"code-value-quantity:missing=true", []string{"o2", "o3", "o4"}, false, true},
	{"code-value-quantity:missing=false", []string{"o1"}, false, true},
	{"subject=http://other.example/fhir/Patient/x9", []string{"o2"}, false, false},
	{"subject=Patient/p1", []string{"o1", "o4"}, false, false},
	// o2's absolute URL is left out of the sorts, where a collation that
	// ignores case would put it before the relative ones.
	{"_id=o1,o3,o4&_sort=subject", []string{"o3", "o1", "o4"}, true, false},
	{"_id=o1,o3,o4&_sort=-subject", []string{"o4", "o1", "o3"}, true, false},
	{"code:text=glucose", []string{"o1", "o2", "o3", "o4"}, false, false},
}

const previousSchema = "before the migration"

func writeCompactFixture(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	err := st.Transaction(ctx, func(tx ehr.Tx) error {
		for _, f := range compactFixture {
			if _, err := tx.Create(ctx, f.id, f.res); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func checkCompactSearches(t *testing.T, st *store.Store, when string) {
	t.Helper()
	for _, c := range compactSearches {
		if c.compact && when == previousSchema {
			continue
		}
		q, err := search.ParseString("Observation", c.query)
		if err != nil {
			t.Fatal(err)
		}
		page, err := st.Search(context.Background(), q)
		if err != nil {
			t.Errorf("%s: Observation?%s: %v", when, c.query, err)
			continue
		}
		var got []string
		for _, r := range page.Records {
			got = append(got, r.ID)
		}
		if !c.order {
			slices.Sort(got)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: Observation?%s found %v, want %v", when, c.query, got, c.want)
		}
	}
}

func count(t *testing.T, db *sql.DB, query string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// rowCount is a count of rows that query must find.
type rowCount struct {
	what, query string
	want        int
}

func checkRows(t *testing.T, db *sql.DB, when string, checks []rowCount) {
	t.Helper()
	for _, c := range checks {
		if got := count(t, db, c.query); got != c.want {
			t.Errorf("%s, %s: %d rows, want %d", when, c.what, got, c.want)
		}
	}
}

// TestIndexKeepsOnlyRowsASearchCanRead writes the fixture and reads its index rows
// back from the tables: a composite value is indexed only when every component has
// a value, its component rows keep no display text, and a reference's url column
// is empty where ref_type, ref_id and ref_version spell the reference out. The
// searches that read those rows must still find what the fixture says.
func TestIndexKeepsOnlyRowsASearchCanRead(t *testing.T) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{})
			writeCompactFixture(t, st)
			db := st.DB()
			checkRows(t, db, "written", []rowCount{
				{"composite rows of o2, which has no value", `SELECT count(*) FROM index_token WHERE res_id = 'o2' AND grp > 0`, 0},
				{"composite token rows (o1's code twice, o3's code and value twice)", `SELECT count(*) FROM index_token WHERE grp > 0`, 6},
				{"code-value-quantity rows of o1 (its code and its quantity)", `SELECT (SELECT count(*) FROM index_token WHERE res_id = 'o1' AND param = 'code-value-quantity$0') + (SELECT count(*) FROM index_quantity WHERE res_id = 'o1' AND param = 'code-value-quantity$1')`, 2},
				{"code-value-date, -string and -concept rows of o1", `SELECT count(*) FROM index_token WHERE res_id = 'o1' AND param IN ('code-value-date$0', 'code-value-string$0', 'code-value-concept$0')`, 0},
				{"composite token rows with a display text", `SELECT count(*) FROM index_token WHERE grp > 0 AND text <> ''`, 0},
				{"code rows with their display text, for :text", `SELECT count(*) FROM index_token WHERE param = 'code' AND text = 'glucose'`, 4},
				{"relative references with a url", `SELECT count(*) FROM index_reference WHERE url <> '' AND url NOT LIKE 'http%'`, 0},
				{"the absolute reference's url", `SELECT count(*) FROM index_reference WHERE param = 'subject' AND url = 'http://other.example/fhir/Patient/x9' AND ref_type = 'Patient' AND ref_id = 'x9'`, 1},
				{"the versioned reference", `SELECT count(*) FROM index_reference WHERE res_id = 'o4' AND param = 'subject' AND ref_id = 'p1' AND ref_version = '1' AND url = ''`, 1},
			})
			if got := count(t, db, `SELECT count(*) FROM index_token WHERE param = 'code'`); got != 4 {
				t.Fatalf("%d code rows, want 4: the fixture did not index as expected", got)
			}
			checkCompactSearches(t, st, "written")
		})
	}
}

// TestCompactIndexMigrationConvertsRowsOfThePreviousSchema makes a store of the
// schema before migration 0016: rows with a url where a relative reference spelled
// it out, incomplete composite values, composite rows with display text, and the
// full url index. Opening it again applies the migration, which must leave the rows
// as a new write makes them and the searches' results as they were.
func TestCompactIndexMigrationConvertsRowsOfThePreviousSchema(t *testing.T) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			var addr string
			open := func() *store.Store {
				t.Helper()
				var st *store.Store
				var err error
				switch engine {
				case "sqlite":
					st, err = sqlite.Open(ctx, addr, store.Options{})
				default:
					st, err = postgres.Open(ctx, addr, store.Options{})
				}
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				return st
			}
			switch engine {
			case "sqlite":
				addr = ehrtest.SQLitePath(t)
			case "postgres":
				addr = ehrtest.PostgresSchemaURL(t)
			case "citus":
				addr = ehrtest.CitusSchemaURL(t)
			}
			st := open()
			writeCompactFixture(t, st)
			db := st.DB()
			for _, stmt := range []string{
				`UPDATE index_reference SET url = ref_type || '/' || ref_id || CASE WHEN ref_version <> '' THEN '/_history/' || ref_version ELSE '' END WHERE url = '' AND ref_type <> ''`,
				// o2 has a code and no value: the previous schema indexed its
				// code as the first component of every code-value-* composite.
				`INSERT INTO index_token (compartment, res_type, res_id, param, grp, system, code, text)
				   SELECT compartment, res_type, res_id, 'code-value-' || p.kind || '$0', p.grp, system, code, text
				   FROM index_token, (SELECT 'quantity' AS kind, 11 AS grp UNION ALL SELECT 'date', 12 UNION ALL SELECT 'string', 13 UNION ALL SELECT 'concept', 14) p
				   WHERE res_id = 'o2' AND param = 'code'`,
				`UPDATE index_token SET text = 'glucose' WHERE grp > 0`,
				`DROP INDEX index_reference_url`,
				`CREATE INDEX index_reference_url ON index_reference (res_type, param, url)`,
				`DELETE FROM schema_migrations WHERE name = '0016_compact_index_rows.sql'`,
			} {
				if _, err := db.Exec(stmt); err != nil {
					t.Fatalf("making the previous schema's rows: %v\n%s", err, stmt)
				}
			}
			if n := count(t, db, `SELECT count(*) FROM index_reference WHERE param = 'subject' AND url = 'Patient/p1/_history/1'`); n != 1 {
				t.Fatalf("%d rows of the previous schema's versioned reference, want 1", n)
			}
			if n := count(t, db, `SELECT count(*) FROM index_token WHERE res_id = 'o2' AND grp > 0`); n != 4 {
				t.Fatalf("%d incomplete composite rows made, want 4", n)
			}
			checkCompactSearches(t, st, previousSchema)
			st.Close()

			st = open()
			defer st.Close()
			db = st.DB()
			checkRows(t, db, "after the migration", []rowCount{
				{"relative references with a url", `SELECT count(*) FROM index_reference WHERE url <> '' AND url NOT LIKE 'http%'`, 0},
				{"the absolute reference's url", `SELECT count(*) FROM index_reference WHERE param = 'subject' AND url = 'http://other.example/fhir/Patient/x9'`, 1},
				{"incomplete composite rows", `SELECT count(*) FROM index_token WHERE res_id = 'o2' AND grp > 0`, 0},
				{"complete composite token rows (o1's code twice, o3's code and value twice)", `SELECT count(*) FROM index_token WHERE res_id IN ('o1', 'o3') AND grp > 0`, 6},
				{"composite token rows with a display text", `SELECT count(*) FROM index_token WHERE grp > 0 AND text <> ''`, 0},
				{"the migration's record", `SELECT count(*) FROM schema_migrations WHERE name = '0016_compact_index_rows.sql'`, 1},
			})
			indexDef := `SELECT sql FROM sqlite_schema WHERE name = 'index_reference_url'`
			if engine != "sqlite" {
				indexDef = `SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'index_reference_url'`
			}
			var def string
			if err := db.QueryRow(indexDef).Scan(&def); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(def, "WHERE") || !strings.Contains(def, "url") {
				t.Errorf("after the migration the url index is %q, want a partial index on url", def)
			}
			checkCompactSearches(t, st, "after the migration")
		})
	}
}

// TestStorageReportMeasuresEveryTable writes a few hundred Observations and holds
// the report to the engine's own accounting: on SQLite the pages in use
// (page_count less the free list, less sqlite_schema's own pages), on PostgreSQL
// pg_total_relation_size (citus_total_relation_size on Citus) of each index table.
func TestStorageReportMeasuresEveryTable(t *testing.T) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{})
			writeCompactFixture(t, st)
			ctx := context.Background()
			err := st.Transaction(ctx, func(tx ehr.Tx) error {
				for i := range 300 {
					if _, err := tx.Create(ctx, "obs"+strconv.Itoa(i), observation("Patient/p1", nil)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			r, err := st.Storage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if r.Resources != int64(len(compactFixture)+300) || r.Binaries != 0 || r.BinaryBytes != 0 {
				t.Errorf("report counts %d resources, %d Binary of %d bytes; want %d, 0, 0", r.Resources, r.Binaries, r.BinaryBytes, len(compactFixture)+300)
			}
			byName := map[string]store.TableBytes{}
			for i, tb := range r.Tables {
				byName[tb.Name] = tb
				if i > 0 && tb.Total() > r.Tables[i-1].Total() {
					t.Errorf("table %s (%d bytes) listed after %s (%d bytes)", tb.Name, tb.Total(), r.Tables[i-1].Name, r.Tables[i-1].Total())
				}
			}
			for _, name := range []string{"resources", "resource_versions", "index_token", "index_reference", "audit_events"} {
				if _, ok := byName[name]; !ok {
					t.Errorf("table %s missing from the report", name)
				}
			}
			if tok := byName["index_token"]; tok.Table == 0 || tok.Indexes == 0 {
				t.Errorf("index_token measured at %d bytes of rows and %d of indexes", tok.Table, tok.Indexes)
			}
			db := st.DB()
			switch engine {
			case "sqlite":
				var pages, free, pageSize, schemaPages int64
				for q, v := range map[string]*int64{"PRAGMA page_count": &pages, "PRAGMA freelist_count": &free, "PRAGMA page_size": &pageSize,
					"SELECT count(*) FROM dbstat WHERE name = 'sqlite_schema'": &schemaPages} {
					if err := db.QueryRow(q).Scan(v); err != nil {
						t.Fatal(err)
					}
				}
				if want := (pages - free - schemaPages) * pageSize; r.Total() != want {
					t.Errorf("report totals %d bytes, the file uses %d in pages of the store's tables", r.Total(), want)
				}
			default:
				size := "pg_total_relation_size"
				if engine == "citus" {
					size = "citus_total_relation_size"
				}
				for _, name := range []string{"index_token", "index_reference", "resources"} {
					var want int64
					if err := db.QueryRow(`SELECT ` + size + `('` + name + `'::regclass)`).Scan(&want); err != nil {
						t.Fatal(err)
					}
					if got := byName[name].Total(); got != want {
						t.Errorf("report measures %s at %d bytes, %s says %d", name, got, size, want)
					}
				}
			}
			if per := r.PerResource(); per <= 0 || per > float64(r.Total()) {
				t.Errorf("%f bytes per resource of %d in all", per, r.Total())
			}
		})
	}
}
