package service_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"omnichart/internal/audit"
	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir/search"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

var auditKey = []byte("0123456789abcdef0123456789abcdef")

// failingAuditor refuses every record, as a full disk or a lost database would.
type failingAuditor struct{}

func (failingAuditor) Record(context.Context, ehr.AccessEvent) error { return errors.New("disk full") }
func (failingAuditor) RecordTx(context.Context, ehr.Tx, ehr.AccessEvent) error {
	return errors.New("disk full")
}

// TestAnAccessThatCannotBeAuditedIsNotServed checks that every kind of read and
// write fails, returns nothing and changes nothing when its audit record cannot
// be written: with an Auditor that fails, and with the audit log's head table
// dropped from the database under a real one.
func TestAnAccessThatCannotBeAuditedIsNotServed(t *testing.T) {
	ctx := ehr.WithOrigin(ehr.WithPrincipal(context.Background(), ehr.SystemPrincipal), "command line")
	breakers := []struct {
		name  string
		apply func(t *testing.T, st *store.Store) ehr.Auditor
	}{
		{name: "an auditor that fails", apply: func(t *testing.T, st *store.Store) ehr.Auditor { return failingAuditor{} }},
		{name: "the audit head table dropped", apply: func(t *testing.T, st *store.Store) ehr.Auditor {
			l, err := audit.New(audit.Options{Store: st, Key: auditKey})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.DB().Exec(`DROP TABLE audit_head`); err != nil {
				t.Fatal(err)
			}
			return l
		}},
	}
	for _, engine := range ehrtest.Engines {
		for _, b := range breakers {
			t.Run(engine+"/"+b.name, func(t *testing.T) {
				st := ehrtest.MustOpen(t, engine, store.Options{})
				plain := service.New(st, service.Options{})
				existing, _, err := plain.Create(ctx, map[string]any{"resourceType": "Patient", "gender": "female"}, "")
				if err != nil {
					t.Fatal(err)
				}
				svc := service.New(st, service.Options{Auditor: b.apply(t, st), Log: slog.New(slog.DiscardHandler)})
				q, _ := search.ParseString("Patient", "gender=female")
				calls := []struct {
					name string
					call func() (any, error)
				}{
					{"read", func() (any, error) { return svc.Read(ctx, "Patient", existing.ID) }},
					{"vread", func() (any, error) { return svc.VRead(ctx, "Patient", existing.ID, 1) }},
					{"search", func() (any, error) { return svc.Search(ctx, q) }},
					{"history", func() (any, error) { return svc.History(ctx, ehr.HistoryQuery{Type: "Patient"}) }},
					{"everything", func() (any, error) {
						return svc.Everything(ctx, service.EverythingQuery{Patients: []string{existing.ID}})
					}},
					{"create", func() (any, error) {
						rec, _, err := svc.Create(ctx, map[string]any{"resourceType": "Patient", "gender": "male"}, "")
						return rec, err
					}},
					{"update", func() (any, error) {
						rec, _, err := svc.Update(ctx, "Patient", existing.ID, map[string]any{"resourceType": "Patient", "id": existing.ID, "gender": "male"}, 0)
						return rec, err
					}},
					{"delete", func() (any, error) { return svc.Delete(ctx, "Patient", existing.ID, 0) }},
					{"transaction", func() (any, error) {
						return svc.Apply(ctx, "transaction", []ehr.Change{{Method: "POST", Type: "Patient", Resource: map[string]any{"resourceType": "Patient", "gender": "male"}}}, ehr.ApplyOptions{})
					}},
					{"read-only transaction", func() (any, error) {
						return svc.Apply(ctx, "transaction", []ehr.Change{{Method: "GET", Type: "Patient", ID: existing.ID}}, ehr.ApplyOptions{})
					}},
				}
				for _, c := range calls {
					got, err := c.call()
					if err == nil {
						t.Errorf("%s without its audit record succeeded; want an error", c.name)
					}
					if !isNil(got) {
						t.Errorf("%s without its audit record returned %v; want nothing", c.name, got)
					}
				}
				// Nothing was written: the one Patient is at version 1, male nowhere.
				page, err := plain.History(ctx, ehr.HistoryQuery{Type: "Patient"})
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Records) != 1 || page.Records[0].Version != 1 {
					t.Fatalf("after the refused writes the Patient history has %d versions; want the 1 written before", len(page.Records))
				}
			})
		}
	}
}

func isNil(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case *ehr.Record:
		return x == nil
	case *ehr.Page:
		return x == nil
	case []ehr.Outcome:
		return x == nil
	}
	return false
}

// TestEveryWriteHasItsAuditRecord writes through every kind of interaction with
// a real audit log and checks, from the store's own history, that each version
// written is named by exactly one record, that reads and searches are recorded
// with the patients they returned, and that the log verifies.
func TestEveryWriteHasItsAuditRecord(t *testing.T) {
	for _, engine := range ehrtest.Engines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{})
			l, err := audit.New(audit.Options{Store: st, Key: auditKey})
			if err != nil {
				t.Fatal(err)
			}
			svc := service.New(st, service.Options{Auditor: l})
			ctx := ehr.WithOrigin(ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "user/ann", Client: "app"}), "192.0.2.7")
			p, _, err := svc.Create(ctx, map[string]any{"resourceType": "Patient", "gender": "female"}, "")
			if err != nil {
				t.Fatal(err)
			}
			obs := map[string]any{"resourceType": "Observation", "status": "final", "code": map[string]any{"text": "x"},
				"subject": map[string]any{"reference": "Patient/" + p.ID}}
			o, _, err := svc.Create(ctx, obs, "")
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := svc.Update(ctx, "Patient", p.ID, map[string]any{"resourceType": "Patient", "id": p.ID, "gender": "male"}, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Patch(ctx, "Patient", p.ID, []byte(`[{"op":"replace","path":"/gender","value":"other"}]`), 0); err != nil {
				t.Fatal(err)
			}
			q, _ := search.ParseString("Observation", "subject=Patient/"+p.ID)
			if _, err := svc.Search(ctx, q); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Apply(ctx, "transaction", []ehr.Change{
				{Method: "POST", Type: "Patient", Resource: map[string]any{"resourceType": "Patient"}},
				{Method: "DELETE", Type: "Observation", ID: o.ID},
			}, ehr.ApplyOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Apply(ctx, "batch", []ehr.Change{{Method: "POST", Type: "Patient", Resource: map[string]any{"resourceType": "Patient"}}}, ehr.ApplyOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Read(ctx, "Patient", p.ID); err != nil {
				t.Fatal(err)
			}

			// The oracle: every version in the store's history.
			// The server's own machinery (a System principal with no origin)
			// reads without a record.
			if _, err := svc.Read(ehr.WithPrincipal(context.Background(), ehr.SystemPrincipal), "Patient", p.ID); err != nil {
				t.Fatal(err)
			}
			hist, err := svc.History(ctx, ehr.HistoryQuery{Count: 100})
			if err != nil {
				t.Fatal(err)
			}
			entries, err := st.AuditEntries(context.Background(), ehr.AuditQuery{})
			if err != nil {
				t.Fatal(err)
			}
			named := map[string]int{}
			var interactions []string
			for _, e := range entries {
				ev, err := audit.Event(e)
				if err != nil {
					t.Fatal(err)
				}
				interactions = append(interactions, ev.Interaction)
				if ev.Interaction == "history" || ev.Interaction == "read" || ev.Interaction == "search" {
					continue
				}
				for _, r := range ev.Records {
					named[r]++
				}
			}
			if len(hist.Records) < 7 {
				t.Fatalf("the history has %d versions; want at least 7", len(hist.Records))
			}
			for _, r := range hist.Records {
				ref := fmt.Sprintf("%s/_history/%d", r.Reference(), r.Version)
				if named[ref] != 1 {
					t.Errorf("version %s is named by %d write records; want 1", ref, named[ref])
				}
			}
			if n := slices.IndexFunc(entries, func(e *ehr.AuditEntry) bool { return e.Agent == "system" }); n >= 0 {
				t.Errorf("record %d is of a read by the server's own machinery; want none", entries[n].Seq)
			}
			for _, want := range []string{"create", "update", "patch", "transaction", "read", "search", "history"} {
				if !slices.Contains(interactions, want) {
					t.Errorf("no %s record among %v", want, interactions)
				}
			}
			byPatient, err := st.AuditEntries(context.Background(), ehr.AuditQuery{Patient: "Patient/" + p.ID})
			if err != nil {
				t.Fatal(err)
			}
			// create, create Observation, update, patch, search, transaction (delete), read, history.
			if len(byPatient) < 8 {
				t.Errorf("the patient has %d audit records; want at least 8", len(byPatient))
			}
			r, err := audit.Verify(context.Background(), st, auditKey)
			if err != nil || len(r.Problems) > 0 {
				t.Fatalf("Verify = %v, %v; want an intact log", r.Problems, err)
			}
		})
	}
}

// TestBreakingTheGlassIsAuditedBeforeItOpens checks that an emergency access is
// recorded with its user, patient, reason and end, and that one whose record
// cannot be written is not opened.
func TestBreakingTheGlassIsAuditedBeforeItOpens(t *testing.T) {
	for _, engine := range ehrtest.Engines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{})
			sys := ehr.WithPrincipal(context.Background(), ehr.SystemPrincipal)
			p, _, err := service.New(st, service.Options{}).Create(sys, map[string]any{"resourceType": "Patient"}, "")
			if err != nil {
				t.Fatal(err)
			}
			doctor := ehr.WithOrigin(ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "user/dr"}), "192.0.2.9")

			broken := service.New(st, service.Options{Auditor: failingAuditor{}, Log: slog.New(slog.DiscardHandler)})
			if _, err := broken.BreakGlass(doctor, p.ID, "unconscious in the emergency room", 0); err == nil {
				t.Fatal("BreakGlass without its audit record = nil; want an error")
			}
			report, err := broken.BreakGlassReport(sys, time.Time{})
			if err != nil || len(report) != 0 {
				t.Fatalf("the report after a refused break-the-glass = %v, %v; want empty", report, err)
			}

			l, err := audit.New(audit.Options{Store: st, Key: auditKey})
			if err != nil {
				t.Fatal(err)
			}
			svc := service.New(st, service.Options{Auditor: l})
			if _, err := svc.BreakGlass(doctor, p.ID, "unconscious in the emergency room", 0); err != nil {
				t.Fatal(err)
			}
			entries, err := st.AuditEntries(context.Background(), ehr.AuditQuery{Agent: "user/dr"})
			if err != nil || len(entries) != 1 {
				t.Fatalf("the doctor's records = %d, %v; want 1", len(entries), err)
			}
			ev, err := audit.Event(entries[0])
			if err != nil {
				t.Fatal(err)
			}
			if ev.Interaction != "break-the-glass" || ev.Outcome != "ok" || !slices.Contains(ev.Patients, "Patient/"+p.ID) ||
				!strings.Contains(ev.Detail, "unconscious in the emergency room") || ev.Address != "192.0.2.9" {
				t.Errorf("the break-the-glass record = %+v; want the patient, the reason and the address", ev)
			}
		})
	}
}
