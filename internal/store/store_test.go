package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/store"
	"omnichart/internal/store/storetest"
)

func TestStores(t *testing.T) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				ehrtest.PostgresURL(t)
			}
			storetest.Run(t, func(t *testing.T) ehr.ResourceStore {
				return ehrtest.MustOpen(t, engine, store.Options{})
			})
		})
	}
}

// TestHistoryIsBoundedByTheSearchTimeout checks that history, like search, runs
// for at most the search timeout: with a timeout too short for any query, every
// history is refused naming the limit, on both engines.
func TestHistoryIsBoundedByTheSearchTimeout(t *testing.T) {
	for _, engine := range ehrtest.Engines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{SearchTimeout: time.Nanosecond})
			ctx := context.Background()
			if _, err := st.Create(ctx, "h1", map[string]any{"resourceType": "Patient"}); err != nil {
				t.Fatal(err)
			}
			for _, q := range []ehr.HistoryQuery{{}, {Type: "Patient"}, {Type: "Patient", ID: "h1"}} {
				_, err := st.History(ctx, q)
				if ehr.ErrorCode(err) != ehr.Invalid || !strings.Contains(fmt.Sprint(ehr.ErrorIssues(err)), "search-timeout") {
					t.Errorf("History(%+v) with a timeout of 1ns = %v, want Invalid naming search-timeout", q, err)
				}
			}
		})
	}
}
