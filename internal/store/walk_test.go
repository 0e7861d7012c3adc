package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir"
	"omnichart/internal/store"
	"omnichart/internal/store/sqlite"
)

// TestPopulationSearchesPageLikeAnyOther pages forward and back through
// population searches of the growth data (300 patients, 3,000 Observations):
// broad conditions, which SQLite answers by walking the resources in page order
// (walk.go), a condition that is broad alone and rare together with another
// (the walk comes up short and the usual query answers), and a selective one.
// Every page sequence must be exactly the matches worked out from the generated
// resources, in id order, with no repeats; on SQLite the broad ones must have
// been walked.
func TestPopulationSearchesPageLikeAnyOther(t *testing.T) {
	const patients = 300
	all := growthData(patients)
	matches := func(typ string, keep func(res map[string]any) bool) []string {
		var ids []string
		for _, res := range all {
			if res["resourceType"] == typ && keep(res) {
				ids = append(ids, res["id"].(string))
			}
		}
		slices.Sort(ids)
		return ids
	}
	code := func(res map[string]any) string {
		return fhir.String(fhir.Array(fhir.Object(res, "code"), "coding")[0].(map[string]any), "code")
	}
	day := func(res map[string]any) string { return fhir.String(res, "effectiveDateTime")[:10] }
	cases := []struct {
		name, typ, query string
		want             []string
		walked           bool
	}{
		{"a common code", "Observation", "code=http://loinc.org|2339-0&_count=40",
			matches("Observation", func(r map[string]any) bool { return code(r) == "2339-0" }), true},
		{"a common code since a date", "Observation", "code=http://loinc.org|2339-0&date=ge2015-01-01&_count=40",
			matches("Observation", func(r map[string]any) bool { return code(r) == "2339-0" && day(r) >= "2015-01-01" }), true},
		{"a family name", "Patient", "family=smith&_count=7",
			matches("Patient", func(r map[string]any) bool {
				return fhir.String(fhir.Array(r, "name")[0].(map[string]any), "family") == "Smith"
			}), false},
		{"two broad conditions rarely met together", "Observation", "code=http://loinc.org|718-7&date=lt2011-06-01&_count=50",
			matches("Observation", func(r map[string]any) bool { return code(r) == "718-7" && day(r) < "2011-06-01" }), false},
	}
	// The rare case must be broad in each condition alone, so that the walk is
	// tried and comes up short.
	if a, b := len(matches("Observation", func(r map[string]any) bool { return code(r) == "718-7" })),
		len(matches("Observation", func(r map[string]any) bool { return day(r) < "2011-06-01" })); a < store.WalkProbeCap || b < store.WalkProbeCap {
		t.Fatalf("the rare case's conditions match %d and %d Observations alone, want each at least %d", a, b, store.WalkProbeCap)
	}
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{})
			loadGrowth(t, st, patients)
			ctx := ehr.WithScope(context.Background(), ehr.Scope{Sources: []string{benchSource}})
			for _, c := range cases {
				if len(c.want) < 3 {
					t.Fatalf("%s: only %d matches in the generated data; the case tests nothing", c.name, len(c.want))
				}
				before := st.Walks()
				forward, pages := pageForward(t, st, ctx, c.typ, c.query, len(c.want))
				if !slices.Equal(forward, c.want) {
					t.Errorf("%s, forward: %d ids %s, want %d %s", c.name, len(forward), clip(forward), len(c.want), clip(c.want))
				}
				// Back from the last page with the previous links.
				backward := pageBackward(t, st, ctx, c.typ, c.query, pages[len(pages)-1], len(c.want))
				if !slices.Equal(backward, c.want) {
					t.Errorf("%s, backward: %d ids %s, want %d %s", c.name, len(backward), clip(backward), len(c.want), clip(c.want))
				}
				walks := st.Walks() - before
				if engine == "sqlite" && c.walked && walks < int64(len(pages)-1) {
					t.Errorf("%s: %d of %d pages walked on SQLite, want all but perhaps the last", c.name, walks, len(pages))
				}
				if (engine != "sqlite" || !c.walked) && walks != 0 {
					t.Errorf("%s: %d pages walked on %s, want none", c.name, walks, engine)
				}
			}
		})
	}
}

// pageForward runs typ?query and follows its next links, at most limit+1
// pages, returning the ids in order and the pages.
func pageForward(t *testing.T, st *store.Store, ctx context.Context, typ, query string, limit int) ([]string, []*ehr.Page) {
	t.Helper()
	var ids []string
	var pages []*ehr.Page
	q := mustParse(t, typ, query)
	for {
		page, err := st.Search(ctx, q)
		if err != nil {
			t.Fatalf("%s?%s: %v", typ, query, err)
		}
		pages = append(pages, page)
		for _, r := range page.Records {
			ids = append(ids, r.ID)
		}
		if page.Next == "" || len(pages) > limit {
			return ids, pages
		}
		q = mustParse(t, typ, query)
		q.Cursor = page.Next
	}
}

// pageBackward follows the previous links of typ?query from its page last, at
// most limit+1 pages, returning the ids of last and the pages before it in the
// search's order.
func pageBackward(t *testing.T, st *store.Store, ctx context.Context, typ, query string, last *ehr.Page, limit int) []string {
	t.Helper()
	var ids []string
	for _, r := range slices.Backward(last.Records) {
		ids = append(ids, r.ID)
	}
	for prev, n := last.Prev, 0; prev != "" && n <= limit; n++ {
		q := mustParse(t, typ, query)
		q.Cursor = prev
		page, err := st.Search(ctx, q)
		if err != nil {
			t.Fatalf("%s?%s, backward: %v", typ, query, err)
		}
		for _, r := range slices.Backward(page.Records) {
			ids = append(ids, r.ID)
		}
		prev = page.Prev
	}
	slices.Reverse(ids)
	return ids
}

// clip shows the first and last few ids of a long list.
func clip(ids []string) string {
	if len(ids) <= 6 {
		return "[" + strings.Join(ids, " ") + "]"
	}
	return "[" + strings.Join(ids[:3], " ") + " ... " + strings.Join(ids[len(ids)-3:], " ") + "]"
}

// TestNameSearchesListTheirMatchesByID holds SQLite's plan of a population
// search by name to what keeps its first page flat as the data grows: the
// matches' ids come from the string value index alone (migration 0019), in the
// page's order, so that resources are read for the page only and the page
// query sorts nothing; only the outer query orders the page's own rows.
func TestNameSearchesListTheirMatchesByID(t *testing.T) {
	st := ehrtest.MustOpen(t, "sqlite", store.Options{})
	loadGrowth(t, st, 300)
	ctx := ehr.WithScope(context.Background(), ehr.Scope{Sources: []string{benchSource}})
	for _, query := range []string{"family=smith", "name=smi&gender=female", "family:exact=Smith"} {
		plan, err := st.ExplainSearch(ctx, mustParse(t, "Patient", query))
		if err != nil {
			t.Fatal(err)
		}
		page, _, _ := strings.Cut(plan, "SCAN page")
		if strings.Contains(page, "TEMP B-TREE") {
			t.Errorf("Patient?%s sorts its matches before the page:\n%s", query, plan)
		}
		if strings.Count(page, "SEARCH r USING INDEX resources_type_id (res_type=? AND res_id=?)") != 1 {
			t.Errorf("Patient?%s does not look up resources by the listed ids:\n%s", query, plan)
		}
		if !strings.Contains(page, "COVERING INDEX index_string_value") && !strings.HasPrefix(query, "family:exact") {
			t.Errorf("Patient?%s reads the index rows of its matches, not only the value index:\n%s", query, plan)
		}
	}
}

// TestStringValueMigrationConvertsThePreviousIndex opens a SQLite store made by
// the previous schema (the string value index without the id, migration 0019
// not recorded): the migration rebuilds the index with the id, and a name
// search finds the same patients before and after.
func TestStringValueMigrationConvertsThePreviousIndex(t *testing.T) {
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
	indexDef := func(st *store.Store) string {
		t.Helper()
		var def string
		if err := st.DB().QueryRow(`SELECT sql FROM sqlite_schema WHERE name = 'index_string_value'`).Scan(&def); err != nil {
			t.Fatal(err)
		}
		return def
	}
	smiths := func(st *store.Store) []string {
		t.Helper()
		ids, _ := pageForward(t, st, ehr.WithScope(ctx, ehr.Scope{Sources: []string{benchSource}}), "Patient", "family=smi&_count=4", 100)
		return ids
	}
	st := open()
	loadGrowth(t, st, 100)
	for _, stmt := range []string{
		`DROP INDEX index_string_value`,
		`CREATE INDEX index_string_value ON index_string (res_type, param, value_norm)`,
		`DELETE FROM schema_migrations WHERE name = '0019_string_value_ids.sql'`,
	} {
		if _, err := st.DB().Exec(stmt); err != nil {
			t.Fatalf("making the previous schema: %v\n%s", err, stmt)
		}
	}
	before := smiths(st)
	if len(before) != 10 {
		t.Fatalf("the previous schema finds %d Smiths of 100 patients, want 10: %v", len(before), before)
	}
	st.Close()

	st = open()
	defer st.Close()
	if def := indexDef(st); !strings.Contains(def, "value_norm, res_id)") {
		t.Errorf("after the migration the string value index is %q, want it to end with the id", def)
	}
	if after := smiths(st); !slices.Equal(after, before) {
		t.Errorf("after the migration family=smi finds %v, want %v", after, before)
	}
}
