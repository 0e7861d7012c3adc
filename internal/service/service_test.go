package service_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir/search"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

// sink keeps the events it receives.
type sink struct {
	mu     sync.Mutex
	events []ehr.AccessEvent
}

func (s *sink) Record(_ context.Context, ev ehr.AccessEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
}

// TestEveryInteractionEmitsOneAccessEvent checks who, what and outcome of the
// events of writes, reads (allowed and hidden by the scope) and searches, and that
// search parameter values never reach an event.
func TestEveryInteractionEmitsOneAccessEvent(t *testing.T) {
	st := ehrtest.MustOpen(t, "sqlite", store.Options{})
	ev := &sink{}
	const srcA, srcB = "urn:omnichart:source:a", "urn:omnichart:source:b"
	policy := ehr.FixedScope{Allowed: ehr.Scope{Sources: []string{srcA}}}
	svc := service.New(st, service.Options{Policy: policy, Events: ev})
	asA := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "source/a", Source: srcA, System: true})
	asB := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "source/b", Source: srcB, System: true})

	rec, _, err := svc.Create(asA, map[string]any{"resourceType": "Patient", "name": []any{map[string]any{"family": "Secretname"}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	// B writes under an unrestricted engine, so that A's scope hides it.
	open := service.New(st, service.Options{})
	hidden, _, err := open.Create(asB, map[string]any{"resourceType": "Patient"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Read(asA, "Patient", rec.ID); err != nil {
		t.Fatalf("Read(own) = %v", err)
	}
	if _, err := svc.Read(asA, "Patient", hidden.ID); ehr.ErrorCode(err) != ehr.NotFound {
		t.Fatalf("Read(another source's) = %v, want NotFound", err)
	}
	q, _ := search.ParseString("Patient", "family=Secretname")
	if _, err := svc.Search(asA, q); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		interaction, id, outcome string
		records                  int
	}{
		{"create", "", "ok", 1},
		{"read", rec.ID, "ok", 1},
		{"read", hidden.ID, string(ehr.NotFound), 0},
		{"search", "", "ok", 1},
	}
	got := ev.events
	if len(got) != len(want) {
		t.Fatalf("events = %+v, want %d", got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Interaction != w.interaction || g.ID != w.id || g.Outcome != w.outcome || len(g.Records) != w.records || g.Subject != "source/a" || g.Source != srcA || g.Type != "Patient" {
			t.Errorf("event %d = %+v, want %s of Patient/%s by source/a with outcome %s and %d record(s)", i, g, w.interaction, w.id, w.outcome, w.records)
		}
		if strings.Contains(strings.Join(g.Params, ","), "Secretname") {
			t.Errorf("event %d carries a search value: %v", i, g.Params)
		}
	}
	if !slices.Equal(got[3].Params, []string{"family"}) {
		t.Errorf("search event params = %v, want [family]", got[3].Params)
	}
}

// TestReadsInsideATransactionPassTheScope runs GET entries (a read by id and a
// search) in a transaction and a batch of a caller limited to one source: another
// source's record is not found and not listed.
func TestReadsInsideATransactionPassTheScope(t *testing.T) {
	st := ehrtest.MustOpen(t, "sqlite", store.Options{})
	const srcA, srcB = "urn:omnichart:source:a", "urn:omnichart:source:b"
	open := service.New(st, service.Options{})
	asA := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "source/a", Source: srcA, System: true})
	asB := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "source/b", Source: srcB, System: true})
	mine, _, err := open.Create(asA, map[string]any{"resourceType": "Patient", "gender": "female"}, "")
	if err != nil {
		t.Fatal(err)
	}
	theirs, _, err := open.Create(asB, map[string]any{"resourceType": "Patient", "gender": "female"}, "")
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(st, service.Options{Policy: ehr.FixedScope{Allowed: ehr.Scope{Sources: []string{srcA}}}})
	reads := []ehr.Change{
		{Method: "GET", Type: "Patient", Query: "gender=female"},
		{Method: "GET", Type: "Patient", ID: mine.ID},
	}
	outs, err := svc.Apply(asA, "transaction", reads, ehr.ApplyOptions{})
	if err != nil {
		t.Fatalf("transaction of reads = %v", err)
	}
	page := outs[0].Page
	if page == nil || len(page.Records) != 1 || page.Records[0].ID != mine.ID {
		t.Errorf("GET Patient?gender=female in a transaction = %+v, want only %s", page, mine.ID)
	}
	if outs[1].Record == nil || outs[1].Record.ID != mine.ID {
		t.Errorf("GET Patient/%s in a transaction = %+v", mine.ID, outs[1].Record)
	}
	if _, err := svc.Apply(asA, "transaction", []ehr.Change{{Method: "GET", Type: "Patient", ID: theirs.ID}}, ehr.ApplyOptions{}); ehr.ErrorCode(err) != ehr.NotFound {
		t.Errorf("GET of another source's Patient in a transaction = %v, want NotFound", err)
	}
	bouts, err := svc.Apply(asA, "batch", []ehr.Change{{Method: "GET", Type: "Patient", ID: theirs.ID}}, ehr.ApplyOptions{})
	if err != nil || ehr.ErrorCode(bouts[0].Err) != ehr.NotFound {
		t.Errorf("GET of another source's Patient in a batch = %v / %+v, want a NotFound entry", err, bouts)
	}
}
