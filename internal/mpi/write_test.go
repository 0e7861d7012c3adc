package mpi

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
	"omnichart/internal/match"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

// TestRematchWritesManyTransactions is a first rematch of a store whose
// Patients have no Persons, with transactions so small that its writes take
// several, two under way at once: every person the matcher makes of the
// stored Patients is stored as one Person with its links, every Patient is in
// exactly one, the report names every write once, and a rematch after it
// (a restart) finds nothing to write.
func TestRematchWritesManyTransactions(t *testing.T) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{})
			svc := service.New(st, service.Options{})
			r := rand.New(rand.NewPCG(3, 4))
			var records []match.Record
			for _, source := range []string{"chunk-a", "chunk-b"} {
				ctx := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "source/" + source, Source: "urn:omnichart:source:" + source, System: true})
				var changes []ehr.Change
				for i := 0; i < 150; i++ {
					// The second source knows the first 60 people of the first.
					p := benchPatient(r)
					if source == "chunk-b" && i < 60 {
						p = fhir.Clone(records[i].Patient).(map[string]any)
					}
					changes = append(changes, ehr.Change{Method: "POST", Type: "Patient", Resource: p})
				}
				outs, err := svc.Apply(ctx, "transaction", changes, ehr.ApplyOptions{})
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range outs {
					rec, err := match.RecordFromEHR(o.Record)
					if err != nil {
						t.Fatal(err)
					}
					records = append(records, rec)
				}
			}
			want, err := match.Batch(records, New(svc, Options{}).cfg)
			if err != nil {
				t.Fatal(err)
			}
			if joined := len(records) - len(want.Persons); joined < 50 {
				t.Fatalf("the matcher joined %d records, want at least 50 of the 60 people both sources know", joined)
			}

			m := New(svc, Options{})
			m.chunk = 40
			rep, err := m.Rematch(ehr.WithPrincipal(context.Background(), ehr.SystemPrincipal))
			if err != nil {
				t.Fatalf("Rematch() = %v", err)
			}
			if rep.PersonsWritten != len(want.Persons) || len(rep.Changes) != rep.PersonsWritten+rep.TasksOpened || len(rep.Changes) <= 2*m.chunk {
				t.Errorf("Rematch() wrote %d Persons and %d tasks in %d changes, want %d Persons, each change once, more than two transactions' worth",
					rep.PersonsWritten, rep.TasksOpened, len(rep.Changes), len(want.Persons))
			}
			seen := map[string]bool{}
			for _, line := range rep.Changes {
				if seen[line] {
					t.Errorf("the report names %q twice", line)
				}
				seen[line] = true
			}
			stored := storedPersons(t, svc)
			var wantPersons []string
			for _, p := range want.Persons {
				ids := make([]string, len(p.Records))
				for i, r := range p.Records {
					ids[i] = r.ID
				}
				sort.Strings(ids)
				wantPersons = append(wantPersons, PersonID(p.Key)+": "+strings.Join(ids, " "))
			}
			sort.Strings(wantPersons)
			if strings.Join(stored, "\n") != strings.Join(wantPersons, "\n") {
				t.Errorf("stored Persons differ from the matcher's persons: %d stored, %d wanted", len(stored), len(wantPersons))
			}

			_, again, err := Open(ehr.WithPrincipal(context.Background(), ehr.SystemPrincipal), svc, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(again.Changes) != 0 {
				t.Errorf("a rematch after the first wrote %d changes, e.g. %s", len(again.Changes), again.Changes[0])
			}
		})
	}
}

// storedPersons lists every stored Person as "id: its Patients' ids", sorted,
// and fails the test when a Patient is linked from two Persons.
func storedPersons(t *testing.T, svc *service.Service) []string {
	t.Helper()
	q := &search.Query{Type: "Person", Count: search.MaxCount}
	var out []string
	linked := map[string]string{}
	for {
		page, err := svc.Search(ehr.WithPrincipal(context.Background(), ehr.SystemPrincipal), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Records {
			res, err := fhir.Decode(r.Resource)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, l := range fhir.Array(res, "link") {
				_, id, _, _ := fhir.ParseReference(fhir.String(fhir.Object(l.(map[string]any), "target"), "reference"))
				if other, twice := linked[id]; twice {
					t.Errorf("Patient/%s is linked from Person/%s and Person/%s", id, other, r.ID)
				}
				linked[id] = r.ID
				ids = append(ids, id)
			}
			sort.Strings(ids)
			out = append(out, fmt.Sprintf("%s: %s", r.ID, strings.Join(ids, " ")))
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	sort.Strings(out)
	return out
}
