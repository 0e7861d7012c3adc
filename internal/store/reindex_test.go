package store_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir/search"
	"omnichart/internal/store"
)

func searchIDs(t *testing.T, s ehr.ResourceStore, typ, query string) []string {
	t.Helper()
	q, err := search.ParseString(typ, query)
	if err != nil {
		t.Fatal(err)
	}
	q.Strict = true
	page, err := s.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("Search(%s?%s): %v", typ, query, err)
	}
	var out []string
	for _, r := range page.Records {
		out = append(out, r.ID)
	}
	slices.Sort(out)
	return out
}

func TestCustomSearchParameterBecomesSearchableAfterReindex(t *testing.T) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				ehrtest.PostgresURL(t)
			}
			ctx := context.Background()
			s := ehrtest.MustOpen(t, engine, store.Options{})
			pat := map[string]any{"resourceType": "Patient", "id": "bird", "extension": []any{
				map[string]any{"url": "http://example.org/fav-bird", "valueString": "Kestrel"}}}
			if _, _, err := s.Update(ctx, "Patient", "bird", pat, ehr.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			sp := map[string]any{"resourceType": "SearchParameter", "id": "fav-bird", "url": "http://example.org/SearchParameter/fav-bird",
				"name": "favbird", "status": "active", "description": "favourite bird", "code": "fav-bird", "base": []any{"Patient"},
				"type": "string", "expression": "Patient.extension('http://example.org/fav-bird').value"}
			if _, _, err := s.Update(ctx, "SearchParameter", "fav-bird", sp, ehr.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			// Known now, but the existing patient is not indexed for it yet.
			if got := searchIDs(t, s, "Patient", "fav-bird=kes"); len(got) != 0 {
				t.Fatalf("before reindex fav-bird=kes = %v, want nothing indexed yet", got)
			}
			var last int64
			if err := s.Reindex(ctx, store.ReindexOptions{Batch: 1, Progress: func(done, total int64) { last = done }}); err != nil {
				t.Fatal(err)
			}
			if got := searchIDs(t, s, "Patient", "fav-bird=kes"); strings.Join(got, ",") != "bird" {
				t.Errorf("after reindex fav-bird=kes = %v, want [bird]", got)
			}
			if last != 2 {
				t.Errorf("reindex progress ended at %d, want 2", last)
			}
			// New writes are indexed at once.
			pat2 := map[string]any{"resourceType": "Patient", "id": "bird2", "extension": []any{
				map[string]any{"url": "http://example.org/fav-bird", "valueString": "Kea"}}}
			if _, _, err := s.Update(ctx, "Patient", "bird2", pat2, ehr.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			if got := searchIDs(t, s, "Patient", "fav-bird=ke"); strings.Join(got, ",") != "bird,bird2" {
				t.Errorf("fav-bird=ke = %v, want [bird bird2]", got)
			}
		})
	}
}

func TestDeferredIndexingGivesTheSameResultsAfterReindex(t *testing.T) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			inline := ehrtest.MustOpen(t, engine, store.Options{})
			deferred := ehrtest.MustOpen(t, engine, store.Options{})
			// Each Patient and its two Observations share a compartment, so
			// that a batch of the re-index holds several resources of one.
			load := func(s *store.Store, ctx context.Context) {
				for i, name := range []string{"Ada", "Grace", "Alan"} {
					p := map[string]any{"resourceType": "Patient", "id": name, "name": []any{map[string]any{"family": name}},
						"identifier": []any{map[string]any{"system": "http://x", "value": name}}, "birthDate": []string{"1815", "1906-12-09", "1912-06-23"}[i]}
					if _, _, err := s.Update(ctx, "Patient", name, p, ehr.WriteOptions{}); err != nil {
						t.Fatal(err)
					}
					for k, code := range []string{"2339-0", "718-7"} {
						o := map[string]any{"resourceType": "Observation", "id": name + "-" + code, "status": "final",
							"identifier": []any{map[string]any{"system": "http://x/obs", "value": name + strconv.Itoa(k)}},
							"code":       map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": code}}},
							"subject":    map[string]any{"reference": "Patient/" + name}}
						if _, _, err := s.Update(ctx, "Observation", o["id"].(string), o, ehr.WriteOptions{}); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			load(inline, ctx)
			load(deferred, ehr.WithDeferredIndexing(ctx))
			if got := searchIDs(t, deferred, "Patient", "identifier=http://x|Ada"); strings.Join(got, ",") != "Ada" {
				t.Errorf("identifiers must be searchable during a deferred load: got %v", got)
			}
			if got := searchIDs(t, deferred, "Patient", "name=a"); len(got) != 0 {
				t.Errorf("name=a before reindex = %v, want nothing (deferred)", got)
			}
			if err := deferred.Reindex(ctx, store.ReindexOptions{PendingOnly: true, Batch: 4}); err != nil {
				t.Fatal(err)
			}
			for _, q := range []struct{ typ, query string }{{"Patient", "name=a"}, {"Patient", "birthdate=lt1900"}, {"Patient", "birthdate=1906"},
				{"Patient", "identifier=Alan"}, {"Patient", "_sort=birthdate"}, {"Observation", "identifier=http://x/obs|Ada1"},
				{"Observation", "code=http://loinc.org|2339-0"}, {"Observation", "subject=Patient/Grace"}} {
				a, b := searchIDs(t, inline, q.typ, q.query), searchIDs(t, deferred, q.typ, q.query)
				if len(a) == 0 || strings.Join(a, ",") != strings.Join(b, ",") {
					t.Errorf("%s?%s: inline %v, deferred then reindexed %v", q.typ, q.query, a, b)
				}
			}
			// The same index rows, none twice, and no mark left.
			for _, table := range []string{"index_token", "index_string", "index_reference", "index_pending"} {
				var a, b int
				if err := inline.DB().QueryRow(`SELECT count(*) FROM ` + table).Scan(&a); err != nil {
					t.Fatal(err)
				}
				if err := deferred.DB().QueryRow(`SELECT count(*) FROM ` + table).Scan(&b); err != nil {
					t.Fatal(err)
				}
				if a != b {
					t.Errorf("%s: %d rows inline, %d deferred then reindexed", table, a, b)
				}
			}
		})
	}
}

func TestInterruptedReindexResumes(t *testing.T) {
	s := ehrtest.MustOpen(t, "sqlite", store.Options{})
	bg := context.Background()
	for i := 0; i < 10; i++ {
		if _, err := s.Create(bg, s.NewID(), map[string]any{"resourceType": "Patient", "gender": "other"}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(bg)
	err := s.Reindex(ctx, store.ReindexOptions{Batch: 3, Progress: func(done, total int64) {
		if done >= 3 {
			cancel()
		}
	}})
	if err == nil {
		t.Fatal("Reindex with a cancelled context succeeded, want it interrupted")
	}
	var first int64 = -1
	if err := s.Reindex(bg, store.ReindexOptions{Batch: 3, Progress: func(done, total int64) {
		if first < 0 {
			first = done
		}
	}}); err != nil {
		t.Fatal(err)
	}
	if first != 6 {
		t.Errorf("resumed reindex reported %d done after its first batch, want 6 (3 before the interruption + 3)", first)
	}
	if got := searchIDs(t, s, "Patient", "gender=other"); len(got) != 10 {
		t.Errorf("gender=other after resumed reindex = %d, want 10", len(got))
	}
}

// TestReindexMovesResourcesToTheirCompartment simulates a database written under
// older compartment rules (an Encounter stored outside its patient's compartment)
// and checks that a full re-index moves it, with its versions, where it belongs.
func TestReindexMovesResourcesToTheirCompartment(t *testing.T) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				ehrtest.PostgresURL(t)
			}
			ctx := context.Background()
			s := ehrtest.MustOpen(t, engine, store.Options{})
			enc := map[string]any{"resourceType": "Encounter", "status": "finished",
				"class":   map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
				"subject": map[string]any{"reference": "Patient/p1"}}
			rec, err := s.Create(ctx, "e1", enc)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Compartment != "Patient/p1" {
				t.Fatalf("Create(Encounter of Patient/p1).Compartment = %q, want Patient/p1", rec.Compartment)
			}
			// The layout an older reading of the compartment rules left behind,
			// written as a copy and a delete, which a distributed schema allows
			// for its distribution column where an UPDATE is refused.
			for _, stmt := range []string{
				`INSERT INTO resources (compartment, res_type, res_id, version, last_updated, deleted, source)
					SELECT 'Encounter/e1', res_type, res_id, version, last_updated, deleted, source FROM resources WHERE res_id = 'e1'`,
				"DELETE FROM resources WHERE res_id = 'e1' AND compartment <> 'Encounter/e1'",
				`INSERT INTO resource_versions (compartment, res_type, res_id, version, last_updated, deleted, method, body, source)
					SELECT 'Encounter/e1', res_type, res_id, version, last_updated, deleted, method, body, source FROM resource_versions WHERE res_id = 'e1'`,
				"DELETE FROM resource_versions WHERE res_id = 'e1' AND compartment <> 'Encounter/e1'",
				"UPDATE resource_ids SET compartment = 'Encounter/e1' WHERE res_id = 'e1'",
				"DELETE FROM index_reference WHERE res_id = 'e1'",
			} {
				if _, err := s.DB().ExecContext(ctx, stmt); err != nil {
					t.Fatal(err)
				}
			}
			inPatient := func() bool {
				q := &search.Query{Type: "Encounter", Compartment: "Patient/p1"}
				page, err := s.Search(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				return len(page.Records) == 1
			}
			if inPatient() {
				t.Fatal("the simulated old layout still finds the Encounter in Patient/p1's compartment")
			}
			if err := s.Reindex(ctx, store.ReindexOptions{Restart: true}); err != nil {
				t.Fatal(err)
			}
			got, err := s.Read(ctx, "Encounter", "e1")
			if err != nil || got.Compartment != "Patient/p1" {
				t.Fatalf("Read after reindex = %+v, %v; want compartment Patient/p1", got, err)
			}
			if !inPatient() {
				t.Error("after reindex the Encounter is not found in Patient/p1's compartment")
			}
			if _, err := s.VRead(ctx, "Encounter", "e1", 1); err != nil {
				t.Errorf("VRead(version 1) after the move = %v", err)
			}
		})
	}
}
