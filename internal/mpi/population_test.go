package mpi_test

import (
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
	"omnichart/internal/gen"
	"omnichart/internal/ingest"
)

// generated is a population written by internal/gen, in memory.
type generated struct {
	res   *gen.Result
	files map[string][]byte
	names []string
}

func generate(t *testing.T, difficulty string, people int, seed int64) *generated {
	t.Helper()
	o, err := gen.Preset(difficulty)
	if err != nil {
		t.Fatal(err)
	}
	o.People, o.Seed, o.Years = people, seed, 1
	g := &generated{files: map[string][]byte{}}
	g.res, err = gen.Generate(o, func(name string, data []byte) error {
		g.files[name] = data
		g.names = append(g.names, name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// recordKey names a source record by its source and MRN, which the truth
// uses and which do not depend on the ids the store gives.
type recordKey struct{ source, mrn string }

// importAll imports every source's files in the order given (sources, and
// files within each source, reversed when reverse is set).
func (g *generated) importAll(t *testing.T, f *fixture, reverse bool) {
	t.Helper()
	im := ingest.New(ingest.ServiceTarget{Service: f.svc}, ingest.Options{})
	srcs := append([]*gen.Source(nil), g.res.Sources...)
	names := append([]string(nil), g.names...)
	if reverse {
		for i, j := 0, len(srcs)-1; i < j; i, j = i+1, j-1 {
			srcs[i], srcs[j] = srcs[j], srcs[i]
		}
		for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
			names[i], names[j] = names[j], names[i]
		}
	}
	files := 0
	for _, s := range srcs {
		src := ingest.Source{Slug: s.Slug, URI: s.URI, Name: s.Name}
		for _, name := range names {
			if !strings.HasPrefix(name, "sources/"+s.Slug+"/") {
				continue
			}
			rep, err := im.Import(system, src, ingest.Input{Name: path.Base(name), Data: g.files[name]})
			if err != nil {
				t.Fatalf("import %s: %v", name, err)
			}
			for _, u := range rep.Units {
				if u.Err != nil {
					t.Fatalf("import %s: unit %s: %v", name, u.Name, u.Err)
				}
			}
			files++
		}
	}
	if files < 20 {
		t.Fatalf("imported %d files, want at least 20", files)
	}
}

// persons returns the stored persons as sets of records named by source and
// MRN, sorted, so that two stores' persons compare.
func (g *generated) persons(t *testing.T, f *fixture) [][]recordKey {
	t.Helper()
	systems := map[string]string{}
	for _, s := range g.res.Sources {
		systems[s.URI] = s.MRNSystem
	}
	key := map[string]recordKey{}
	q := &search.Query{Type: "Patient", Count: search.MaxCount}
	for {
		page, err := f.svc.Search(system, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Records {
			res, _ := fhir.Decode(r.Resource)
			for _, id := range fhir.Array(res, "identifier") {
				if m := id.(map[string]any); m["system"] == systems[r.Source] {
					key[r.ID] = recordKey{r.Source, m["value"].(string)}
				}
			}
			if _, ok := key[r.ID]; !ok {
				t.Fatalf("Patient/%s of %s has no MRN of its source", r.ID, r.Source)
			}
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	var out [][]recordKey
	for _, ids := range groups(f.links(t)) {
		var p []recordKey
		for _, id := range ids {
			k, ok := key[id]
			if !ok {
				t.Fatalf("Person links Patient/%s, which is no current Patient", id)
			}
			p = append(p, k)
		}
		sort.Slice(p, func(i, j int) bool { return less(p[i], p[j]) })
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return less(out[i][0], out[j][0]) })
	if n := countRecords(out); n != len(key) {
		t.Fatalf("persons hold %d records, the store %d Patients", n, len(key))
	}
	return out
}

func less(a, b recordKey) bool {
	if a.source != b.source {
		return a.source < b.source
	}
	return a.mrn < b.mrn
}

func countRecords(ps [][]recordKey) int {
	n := 0
	for _, p := range ps {
		n += len(p)
	}
	return n
}

// quality measures pairwise precision and recall of persons against the truth.
func (g *generated) quality(ps [][]recordKey) (precision, recall float64, linked int) {
	uri := map[string]string{}
	for _, s := range g.res.Sources {
		uri[s.Slug] = s.URI
	}
	truth := map[recordKey]string{}
	truePairs := 0
	for _, p := range g.res.Truth.Persons {
		for _, r := range p.Records {
			truth[recordKey{uri[r.Source], r.MRN}] = p.ID
		}
		truePairs += len(p.Records) * (len(p.Records) - 1) / 2
	}
	right := 0
	for _, p := range ps {
		for i := range p {
			for j := i + 1; j < len(p); j++ {
				linked++
				if truth[p[i]] == truth[p[j]] && truth[p[i]] != "" {
					right++
				}
			}
		}
	}
	if linked == 0 || truePairs == 0 {
		return 0, 0, linked
	}
	return float64(right) / float64(linked), float64(right) / float64(truePairs), linked
}

// TestImportOrderDoesNotChangeThePersons imports one generated population
// in two orders into two stores, through the import pipeline, and finds the
// same persons, as good as docs/matching.md says against the truth.
func TestImportOrderDoesNotChangeThePersons(t *testing.T) {
	full := generate(t, "hard", 60, 11)
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			g, minLinked := full, 20
			if engine == "citus" {
				// The whole population takes ten minutes on the local cluster; a
				// quarter of it runs the same matching and linking code there.
				g, minLinked = generate(t, "hard", 15, 11), 5
			}
			forward, backward := newFixture(t, engine), newFixture(t, engine)
			g.importAll(t, forward, false)
			g.importAll(t, backward, true)
			a, b := g.persons(t, forward), g.persons(t, backward)
			if diff := cmp.Diff(a, b, cmp.AllowUnexported(recordKey{})); diff != "" {
				t.Errorf("persons differ with the import order (-forward +backward):\n%s", diff)
			}
			precision, recall, linked := g.quality(a)
			t.Logf("%d persons of %d records; %d linked pairs; precision %.4f recall %.4f", len(a), countRecords(a), linked, precision, recall)
			if linked < minLinked {
				t.Errorf("only %d linked pairs: the population is too small to say anything", linked)
			}
			// The goal of docs/matching.md, section 9.
			if f1 := 2 * precision * recall / (precision + recall); precision < 0.999 || f1 < 0.99 {
				t.Errorf("precision %.4f, recall %.4f, F1 %.4f; want precision at least 0.999 and F1 at least 0.99", precision, recall, f1)
			}
			// The incremental result is what a batch over the same records makes.
			rep, err := forward.m.Load().Rematch(system)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Changes) != 0 {
				t.Errorf("a rematch after the incremental import wrote %d changes, e.g. %s", len(rep.Changes), rep.Changes[0])
			}
		})
	}
}
