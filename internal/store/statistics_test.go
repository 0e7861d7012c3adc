package store_test

import (
	"context"
	"strconv"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir/search"
	"omnichart/internal/store"
)

// TestRefreshStatisticsAnalyzesTheStoresTables writes a few resources, refreshes
// the statistics, writes many more and refreshes again. On PostgreSQL every table
// of the store's schema must then have been analyzed by hand (last_analyze, which
// autovacuum never sets) and the planner must count the resources written after
// the first refresh (pg_class.reltuples, which ANALYZE sets before it returns).
// On SQLite and Citus the refresh must succeed and leave the data as it was.
func TestRefreshStatisticsAnalyzesTheStoresTables(t *testing.T) {
	const many = 2000
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{})
			ctx := context.Background()
			write := func(from, to int) {
				t.Helper()
				err := st.Transaction(ctx, func(tx ehr.Tx) error {
					for i := from; i < to; i++ {
						ep := map[string]any{"resourceType": "Endpoint", "status": "active",
							"connectionType":       map[string]any{"system": "http://terminology.hl7.org/CodeSystem/endpoint-connection-type", "code": "hl7-fhir-rest"},
							"payloadType":          []any{map[string]any{"text": "FHIR"}},
							"address":              "https://ehr" + strconv.Itoa(i) + ".example/r4",
							"managingOrganization": map[string]any{"reference": "Organization/o1"}}
						if _, err := tx.Create(ctx, "ep"+strconv.Itoa(i), ep); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			write(0, 2)
			if err := st.RefreshStatistics(ctx); err != nil {
				t.Fatalf("first refresh: %v", err)
			}
			write(2, many)
			if err := st.RefreshStatistics(ctx); err != nil {
				t.Fatalf("second refresh: %v", err)
			}
			q, err := search.ParseString("Endpoint", "organization=Organization/o1&_total=accurate")
			if err != nil {
				t.Fatal(err)
			}
			page, err := st.Search(ctx, q)
			if err != nil || page.Total != many {
				t.Fatalf("after the refreshes, Endpoint?organization=Organization/o1: %v, %v; want %d", page, err, many)
			}
			if engine != "postgres" {
				return
			}
			var tables, analyzed int
			if err := st.DB().QueryRow(`SELECT count(*), count(last_analyze) FROM pg_stat_user_tables WHERE schemaname = current_schema()`).Scan(&tables, &analyzed); err != nil {
				t.Fatal(err)
			}
			if tables < 10 || analyzed != tables {
				t.Errorf("%d of the schema's %d tables analyzed by the refresh, want all of at least 10", analyzed, tables)
			}
			var counted float64
			if err := st.DB().QueryRow(`SELECT reltuples FROM pg_class WHERE oid = 'resources'::regclass`).Scan(&counted); err != nil {
				t.Fatal(err)
			}
			if counted < many {
				t.Errorf("the planner counts %.0f resources after the refresh, want the %d written", counted, many)
			}
		})
	}
}
