package gen_test

import (
	"context"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
	"omnichart/internal/gen"
	"omnichart/internal/ingest"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

// TestPopulationImportsThroughThePipeline imports a small population, source by
// source, through the real import pipeline into a fresh SQLite store, and checks
// that nothing fails or conflicts and that each source ends up with exactly the
// Patients the truth gives it.
func TestPopulationImportsThroughThePipeline(t *testing.T) {
	p := mustGenerate(t, options(t, 20, 3, 2024))
	st := ehrtest.MustOpen(t, "sqlite", store.Options{})
	svc := service.New(st, service.Options{})
	im := ingest.New(ingest.ServiceTarget{Service: svc}, ingest.Options{})
	ctx := ehr.WithPrincipal(context.Background(), ehr.SystemPrincipal)

	units := 0
	for _, src := range p.res.Sources {
		s := ingest.Source{Slug: src.Slug, URI: src.URI, Name: src.Name}
		for _, name := range p.sourceFiles(src.Slug) {
			rep, err := im.Import(ctx, s, ingest.Input{Name: path.Base(name), Data: p.files[name]})
			if err != nil {
				t.Fatalf("Import(%s) = %v", name, err)
			}
			for _, u := range rep.Units {
				units++
				if u.Err != nil {
					t.Errorf("Import(%s) unit %s failed: %v %v", name, u.Name, u.Err, u.Issues)
				}
				if u.Duplicate || len(u.Conflicts) > 0 {
					t.Errorf("Import(%s) unit %s: duplicate %v (%s), identity conflicts %v", name, u.Name, u.Duplicate, u.Reason, u.Conflicts)
				}
			}
		}
	}
	if units < 40 {
		t.Errorf("imported %d units, want at least 40", units)
	}

	want := map[string][]string{} // source URI -> MRNs
	systems := map[string]string{}
	for _, src := range p.res.Sources {
		systems[src.URI] = src.MRNSystem
	}
	uri := map[string]string{}
	for _, src := range p.res.Sources {
		uri[src.Slug] = src.URI
	}
	for _, tp := range p.res.Truth.Persons {
		for _, r := range tp.Records {
			want[uri[r.Source]] = append(want[uri[r.Source]], r.MRN)
		}
	}
	got := map[string][]string{}
	q := &search.Query{Type: "Patient", Count: search.MaxCount}
	for {
		page, err := svc.Search(ctx, q)
		if err != nil {
			t.Fatalf("Search(Patient) = %v", err)
		}
		for _, rec := range page.Records {
			res, err := fhir.Decode(rec.Resource)
			if err != nil {
				t.Fatal(err)
			}
			mrn := ""
			for _, id := range fhir.Array(res, "identifier") {
				if m := id.(map[string]any); m["system"] == systems[rec.Source] {
					mrn = m["value"].(string)
				}
			}
			if mrn == "" {
				t.Errorf("Patient/%s of %s has no MRN of its source", rec.ID, rec.Source)
			}
			got[rec.Source] = append(got[rec.Source], mrn)
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	for _, m := range []map[string][]string{want, got} {
		for _, v := range m {
			sort.Strings(v)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Patients per source: truth (-) and store (+):\n%s", diff)
	}
	for src, mrns := range got {
		if !strings.HasPrefix(src, gen.SourceURIPrefix) || len(mrns) == 0 {
			t.Errorf("source %s has %d Patients", src, len(mrns))
		}
	}
}
