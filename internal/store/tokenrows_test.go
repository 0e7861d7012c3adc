package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/store"
	"omnichart/internal/store/sqlite"
)

// repeatedTokens is an Observation whose identifier and code coding each appear
// twice, as EMRs send them, and whose category has a second coding of its own.
func repeatedTokens(subject string) map[string]any {
	coding := map[string]any{"system": "http://loinc.org", "code": "2339-0", "display": "Glucose"}
	ident := map[string]any{"system": "urn:oid:1.2.3", "value": "lab-77"}
	return map[string]any{"resourceType": "Observation", "status": "final",
		"identifier": []any{ident, ident},
		"category": []any{map[string]any{"coding": []any{
			map[string]any{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"},
			map[string]any{"system": "urn:local", "code": "chem"}}}},
		"code":    map[string]any{"coding": []any{coding, coding}},
		"subject": map[string]any{"reference": subject}}
}

// TestRepeatedTokensAreOneRow writes Observations whose identifier and coding
// repeat: on every engine each value is one index row, and searches by it find
// each Observation once.
func TestRepeatedTokensAreOneRow(t *testing.T) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{})
			ctx := context.Background()
			if _, err := st.Create(ctx, "p1", map[string]any{"resourceType": "Patient"}); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"o1", "o2"} {
				if _, err := st.Create(ctx, id, repeatedTokens("Patient/p1")); err != nil {
					t.Fatal(err)
				}
			}
			checkRows(t, st.DB(), "written", []rowCount{
				{"identifier rows of o1", `SELECT count(*) FROM index_token WHERE res_id = 'o1' AND param = 'identifier'`, 1},
				{"code rows of o1", `SELECT count(*) FROM index_token WHERE res_id = 'o1' AND param = 'code'`, 1},
				{"category rows of o1 (two codings)", `SELECT count(*) FROM index_token WHERE res_id = 'o1' AND param = 'category'`, 2},
			})
			for _, q := range []string{"identifier=urn:oid:1.2.3|lab-77", "code=http://loinc.org|2339-0", "category=chem", "subject=Patient/p1&code=2339-0", "code:text=glucose"} {
				page, err := st.Search(ctx, mustParse(t, "Observation", q))
				if err != nil {
					t.Fatalf("Observation?%s: %v", q, err)
				}
				var ids []string
				for _, r := range page.Records {
					ids = append(ids, r.ID)
				}
				slices.Sort(ids)
				if !slices.Equal(ids, []string{"o1", "o2"}) {
					t.Errorf("Observation?%s found %v, want [o1 o2]", q, ids)
				}
			}
		})
	}
}

// TestTokenRowsAreKeptByOwner holds SQLite's plans of token searches to what the
// table kept in owner order gives (migration 0020): a check of one resource's
// codes reads the table's primary key, and a population search by code lists
// its matches' ids from the value index alone.
func TestTokenRowsAreKeptByOwner(t *testing.T) {
	st := ehrtest.MustOpen(t, "sqlite", store.Options{})
	loadGrowth(t, st, 30)
	ctx := ehr.WithScope(context.Background(), ehr.Scope{Sources: []string{benchSource}})
	var def string
	if err := st.DB().QueryRow(`SELECT sql FROM sqlite_schema WHERE name = 'index_token'`).Scan(&def); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(def, "WITHOUT ROWID") {
		t.Errorf("index_token is %q, want a WITHOUT ROWID table", def)
	}
	// A check of one candidate's codes is one seek: by the primary key, or by
	// the value index down to the candidate's id.
	seek := []string{"SEARCH i USING PRIMARY KEY (compartment=? AND res_type=? AND res_id=? AND param=?",
		"SEARCH i USING COVERING INDEX index_token_value (res_type=? AND param=? AND code=? AND system=? AND compartment=? AND res_id=?)"}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"subject=Patient/g00007&code=http://loinc.org|2339-0", seek},
		{"subject=Patient/g00007&code=2339-0", seek},
		{"subject=Patient/g00007&code:text=glucose", seek[:1]},
		{"code=http://loinc.org|718-7", []string{"COVERING INDEX index_token_value (res_type=? AND param=? AND code=? AND system=?)"}},
	} {
		plan, err := st.ExplainSearch(ctx, mustParse(t, "Observation", c.query))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(c.want, func(w string) bool { return strings.Contains(plan, w) }) {
			t.Errorf("Observation?%s: the plan reads none of %q:\n%s", c.query, c.want, plan)
		}
		if strings.Contains(plan, "index_token_owner") {
			t.Errorf("Observation?%s reads an owner index of index_token:\n%s", c.query, plan)
		}
	}
}

// TestTokenRowsMigrationConvertsThePreviousTable opens a SQLite store made by
// the previous schema (index_token a rowid table with an owner index, holding a
// row twice) and holds the migration to its result: the table kept by owner,
// the repeated row once, and searches finding what they found before.
func TestTokenRowsMigrationConvertsThePreviousTable(t *testing.T) {
	ctx := context.Background()
	path := ehrtest.SQLitePath(t)
	open := func() *store.Store {
		t.Helper()
		st, err := sqlite.Open(ctx, path, store.Options{})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return st
	}
	queries := []string{"code=http://loinc.org|2339-0&_count=7", "subject=Patient/g00003&code=http://loinc.org|2339-0", "category=laboratory&date=lt2012-01-01", "identifier=urn:oid:1.2.3|lab-77"}
	found := func(st *store.Store) [][]string {
		t.Helper()
		var all [][]string
		for _, q := range queries {
			ids, _ := pageForward(t, st, ehr.WithScope(ctx, ehr.Scope{Sources: []string{benchSource}}), "Observation", q, 1000)
			all = append(all, ids)
		}
		return all
	}
	st := open()
	loadGrowth(t, st, 40)
	if _, err := st.Create(ctx, "rt", repeatedTokens("Patient/g00003")); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`CREATE TABLE index_token_rowid (compartment TEXT NOT NULL, res_type TEXT NOT NULL, res_id TEXT NOT NULL, param TEXT NOT NULL, grp INTEGER NOT NULL, system TEXT NOT NULL, code TEXT NOT NULL, text TEXT NOT NULL)`,
		`INSERT INTO index_token_rowid SELECT compartment, res_type, res_id, param, grp, system, code, text FROM index_token`,
		// The previous schema wrote a repeated identifier twice.
		`INSERT INTO index_token_rowid SELECT compartment, res_type, res_id, param, grp, system, code, text FROM index_token WHERE res_id = 'rt' AND param = 'identifier'`,
		`DROP TABLE index_token`,
		`ALTER TABLE index_token_rowid RENAME TO index_token`,
		`CREATE INDEX index_token_value ON index_token (res_type, param, code, system, compartment)`,
		`CREATE INDEX index_token_owner ON index_token (compartment, res_type, res_id, param)`,
		`DELETE FROM schema_migrations WHERE name = '0020_token_rows_by_owner.sql'`,
	} {
		if _, err := st.DB().Exec(stmt); err != nil {
			t.Fatalf("making the previous schema: %v\n%s", err, stmt)
		}
	}
	total := count(t, st.DB(), `SELECT count(*) FROM index_token`)
	if n := count(t, st.DB(), `SELECT count(*) FROM index_token WHERE res_id = 'rt' AND param = 'identifier'`); n != 2 {
		t.Fatalf("the previous schema's table holds rt's identifier %d times, want 2", n)
	}
	before := found(st)
	if len(before[0]) < 50 || len(before[1]) < 2 || len(before[2]) < 10 || len(before[3]) != 1 {
		t.Fatalf("the previous schema's searches find too little to compare: %d, %d, %d, %d ids", len(before[0]), len(before[1]), len(before[2]), len(before[3]))
	}
	st.Close()

	st = open()
	defer st.Close()
	var def string
	if err := st.DB().QueryRow(`SELECT sql FROM sqlite_schema WHERE name = 'index_token'`).Scan(&def); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(def, "WITHOUT ROWID") {
		t.Errorf("after the migration index_token is %q, want a WITHOUT ROWID table", def)
	}
	checkRows(t, st.DB(), "after the migration", []rowCount{
		{"token rows (the repeated identifier once)", `SELECT count(*) FROM index_token`, total - 1},
		{"rt's identifier rows", `SELECT count(*) FROM index_token WHERE res_id = 'rt' AND param = 'identifier'`, 1},
		{"owner indexes of index_token", `SELECT count(*) FROM sqlite_schema WHERE name = 'index_token_owner'`, 0},
		{"the value index", `SELECT count(*) FROM sqlite_schema WHERE name = 'index_token_value'`, 1},
	})
	if after := found(st); !slices.EqualFunc(after, before, slices.Equal) {
		t.Errorf("after the migration the searches find %v, want %v", after, before)
	}
}
