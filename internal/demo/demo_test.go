package demo_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"omnichart/internal/demo"
	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir/search"
	"omnichart/internal/mpi"
	"omnichart/internal/service"
	"omnichart/internal/smart"
	"omnichart/internal/store"
)

// open returns a service over a fresh store of engine with the master patient
// index matching every write, as omnichart import wires it.
func open(t *testing.T, engine string) (*service.Service, *smart.Server) {
	t.Helper()
	st := ehrtest.MustOpen(t, engine, store.Options{})
	var ix atomic.Pointer[mpi.MPI]
	svc := service.New(st, service.Options{AfterCommit: func(ctx context.Context, recs []*ehr.Record) {
		if m := ix.Load(); m != nil {
			m.Committed(ctx, recs)
		}
	}})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, _, err := mpi.Open(ehr.WithPrincipal(context.Background(), ehr.SystemPrincipal), svc, mpi.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ix.Store(m)
	auth := smart.New(smart.Config{DB: st.DB(), Postgres: engine == "postgres", PasswordIterations: 1000, Log: log})
	return svc, auth
}

func count(t *testing.T, svc *service.Service, typ, query string) int {
	t.Helper()
	q, err := search.ParseString(typ, strings.TrimPrefix(query+"&_count=0&_total=accurate", "&"))
	if err != nil {
		t.Fatal(err)
	}
	page, err := svc.Search(ehr.WithPrincipal(context.Background(), ehr.SystemPrincipal), q)
	if err != nil {
		t.Fatalf("Search(%s?%s) = %v", typ, query, err)
	}
	return page.Total
}

// TestBuildAgainCompletesWithoutDuplicating runs Build twice on one store, as a
// start after a build cut short does, and checks that the second run imports
// nothing new, quarantines the same two shipped messages again without a second
// entry, and leaves the counts as they were; and that the manifest is read
// back.
func TestBuildAgainCompletesWithoutDuplicating(t *testing.T) {
	for _, engine := range ehrtest.Engines {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				ehrtest.PostgresURL(t)
			}
			svc, auth := open(t, engine)
			ctx := context.Background()
			if _, err := demo.ReadManifest(ctx, svc); ehr.ErrorCode(err) != ehr.NotFound {
				t.Fatalf("ReadManifest of an empty store = %v, want NotFound", err)
			}
			o := demo.Options{People: 6, Seed: 4, Password: demo.NewPassword()}
			first, err := demo.Build(ctx, svc, auth, o)
			if err != nil {
				t.Fatalf("Build = %v", err)
			}
			patients := count(t, svc, "Patient", "")
			originals := count(t, svc, "DocumentReference", "")
			quarantined := count(t, svc, "Task", "identifier=urn:omnichart:quarantine|")
			if patients < 6 || originals < patients {
				t.Errorf("after the first Build, %d Patients and %d originals, want at least 6 Patients and as many originals", patients, originals)
			}
			if quarantined != 2 {
				t.Errorf("after the first Build, %d quarantine entries, want 2 (the malformed shipped messages)", quarantined)
			}
			var progress bytes.Buffer
			o.Progress = &progress
			again, err := demo.Build(ctx, svc, auth, o)
			if err != nil {
				t.Fatalf("Build again = %v", err)
			}
			if len(again.Sources) != len(first.Sources) || len(first.Sources) != demo.Sources {
				t.Fatalf("Build reported %d and %d sources, want %d", len(first.Sources), len(again.Sources), demo.Sources)
			}
			for i, s := range again.Sources {
				if s.New != 0 || s.Duplicate != first.Sources[i].New || s.Failed != first.Sources[i].Failed {
					t.Errorf("Build again of %s: %d new, %d imported before, %d failed; want 0, %d, %d", s.Slug, s.New, s.Duplicate, s.Failed,
						first.Sources[i].New, first.Sources[i].Failed)
				}
			}
			for _, c := range []struct {
				typ, query string
				want       int
			}{
				{"Patient", "", patients},
				{"DocumentReference", "", originals},
				{"Task", "identifier=urn:omnichart:quarantine|", quarantined},
			} {
				if got := count(t, svc, c.typ, c.query); got != c.want {
					t.Errorf("after Build again, %s?%s = %d, want %d as before", c.typ, c.query, got, c.want)
				}
			}
			if !strings.Contains(progress.String(), "imported St. Mary's Hospital") {
				t.Errorf("Build's progress = %q, want a line per enterprise", progress.String())
			}
			m, err := demo.ReadManifest(ctx, svc)
			if err != nil || m.People != 6 || m.Seed != 4 || m.Built.IsZero() {
				t.Errorf("ReadManifest = %+v, %v; want 6 people, seed 4 and a build time", m, err)
			}
		})
	}
}

// TestShippedFilesAreSyntheticAndNamedBySource checks that every shipped file
// belongs to a demo enterprise and uses only the identifier systems of the
// example arc (2.999) and the 555 telephone exchange.
func TestShippedFilesAreSyntheticAndNamedBySource(t *testing.T) {
	files, err := demo.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	ents, err := demo.Enterprises(demo.DefaultSeed)
	if err != nil {
		t.Fatal(err)
	}
	slugs := map[string]bool{}
	for _, e := range ents {
		slugs[e.Slug] = true
	}
	phone := regexp.MustCompile(`\b\d{3}\)?[- ]?(\d{3})-\d{4}\b`)
	oid := regexp.MustCompile(`(?:root="|&)(\d+(?:\.\d+)+)`)
	if len(files) < 5 {
		t.Fatalf("Shipped() = %d files, want at least 5", len(files))
	}
	for _, f := range files {
		if !slugs[f.Source] {
			t.Errorf("shipped file %s/%s belongs to no demo enterprise", f.Source, f.Name)
		}
		for _, m := range phone.FindAllSubmatch(f.Data, -1) {
			if string(m[1]) != "555" {
				t.Errorf("shipped file %s/%s has telephone number %s outside the 555 exchange", f.Source, f.Name, m[0])
			}
		}
		for _, m := range oid.FindAllSubmatch(f.Data, -1) {
			root := string(m[1])
			// HL7's own OIDs name code systems and templates; NPI is 2.16.840.1.113883.4.6.
			if !strings.HasPrefix(root, "2.999.") && !strings.HasPrefix(root, "2.16.840.1.113883.") {
				t.Errorf("shipped file %s/%s uses OID %s outside the example arc 2.999", f.Source, f.Name, root)
			}
		}
	}
}

// TestNewPasswordIsLongAndVaries checks the shape of the demo password and that
// two are not the same.
func TestNewPasswordIsLongAndVaries(t *testing.T) {
	shape := regexp.MustCompile(`^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$`)
	a, b := demo.NewPassword(), demo.NewPassword()
	for _, p := range []string{a, b} {
		if !shape.MatchString(p) {
			t.Errorf("NewPassword() = %q, want four groups of four letters and digits", p)
		}
	}
	if a == b {
		t.Errorf("NewPassword() gave %q twice", a)
	}
}
