package service_test

import (
	"context"
	"sync"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

// TestAfterCommitSeesEveryWrite checks that the hook receives what each kind of
// write committed, nothing for reads, failed writes or a conditional create
// that found its match, and each batch entry on its own.
func TestAfterCommitSeesEveryWrite(t *testing.T) {
	st := ehrtest.MustOpen(t, "sqlite", store.Options{})
	var mu sync.Mutex
	var calls [][]string
	svc := service.New(st, service.Options{AfterCommit: func(_ context.Context, recs []*ehr.Record) {
		mu.Lock()
		defer mu.Unlock()
		var call []string
		for _, r := range recs {
			s := r.Reference()
			if r.Deleted {
				s += " deleted"
			}
			call = append(call, s)
		}
		calls = append(calls, call)
	}})
	ctx := ehr.WithPrincipal(context.Background(), ehr.SystemPrincipal)
	take := func() [][]string {
		mu.Lock()
		defer mu.Unlock()
		out := calls
		calls = nil
		return out
	}
	pat := map[string]any{"resourceType": "Patient", "identifier": []any{map[string]any{"system": "urn:x", "value": "1"}}}
	rec, _, err := svc.Create(ctx, pat, "identifier=urn:x|1")
	if err != nil {
		t.Fatal(err)
	}
	if got := take(); len(got) != 1 || len(got[0]) != 1 || got[0][0] != "Patient/"+rec.ID {
		t.Fatalf("create: hook got %v", got)
	}
	if _, created, err := svc.Create(ctx, map[string]any{"resourceType": "Patient"}, "identifier=urn:x|1"); err != nil || created {
		t.Fatalf("conditional create = %v, %v", created, err)
	}
	if _, err := svc.Read(ctx, "Patient", rec.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Update(ctx, "Patient", "nope", map[string]any{"resourceType": "Patient", "id": "other"}, 0); err == nil {
		t.Fatal("an update with a mismatched id succeeded")
	}
	if got := take(); len(got) != 0 {
		t.Fatalf("a match, a read and a failed write reached the hook: %v", got)
	}
	outs, err := svc.Apply(ctx, "transaction", []ehr.Change{
		{Method: "POST", Type: "Patient", Resource: map[string]any{"resourceType": "Patient"}},
		{Method: "DELETE", Type: "Patient", ID: rec.ID},
	}, ehr.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := take()
	if len(got) != 1 || len(got[0]) != 2 || got[0][0] != "Patient/"+outs[0].Record.ID || got[0][1] != "Patient/"+rec.ID+" deleted" {
		t.Fatalf("transaction: hook got %v", got)
	}
	if _, err := svc.Apply(ctx, "batch", []ehr.Change{
		{Method: "POST", Type: "Patient", Resource: map[string]any{"resourceType": "Patient"}},
		{Method: "POST", Type: "Patient", Resource: map[string]any{"resourceType": "Observation"}},
		{Method: "POST", Type: "Patient", Resource: map[string]any{"resourceType": "Patient"}},
	}, ehr.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := take(); len(got) != 2 || len(got[0]) != 1 || len(got[1]) != 1 {
		t.Fatalf("batch: hook got %v, want one call per successful entry", got)
	}
}
