package service_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir/search"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

// TestBundleEntriesAreBounded checks that a transaction or batch with more entries
// than MaxBundleEntries is refused whole, TooLarge with the limit named, and that
// one at the limit is applied.
func TestBundleEntriesAreBounded(t *testing.T) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{})
			svc := service.New(st, service.Options{MaxBundleEntries: 3})
			ctx := context.Background()
			changes := func(n int) []ehr.Change {
				var cs []ehr.Change
				for i := range n {
					cs = append(cs, ehr.Change{Method: "POST", Type: "Patient", FullURL: fmt.Sprintf("urn:uuid:%08d-0000-4000-8000-000000000000", i),
						Resource: map[string]any{"resourceType": "Patient", "name": []any{map[string]any{"family": "Bounded"}}}})
				}
				return cs
			}
			for _, kind := range []string{"transaction", "batch"} {
				_, err := svc.Apply(ctx, kind, changes(4), ehr.ApplyOptions{})
				if ehr.ErrorCode(err) != ehr.TooLarge || !strings.Contains(err.Error(), "4 entries") || !strings.Contains(err.Error(), "max-bundle-entries") {
					t.Fatalf("%s of 4 entries with a limit of 3: %v, want TooLarge naming max-bundle-entries", kind, err)
				}
			}
			q, _ := search.ParseString("Patient", "family=Bounded&_count=0")
			page, err := svc.Search(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != 0 {
				t.Fatalf("refused Bundles wrote %d Patients, want 0", page.Total)
			}
			out, err := svc.Apply(ctx, "transaction", changes(3), ehr.ApplyOptions{})
			if err != nil || len(out) != 3 {
				t.Fatalf("transaction at the limit: %d outcomes, %v", len(out), err)
			}
		})
	}
}
