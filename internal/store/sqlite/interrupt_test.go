package sqlite_test

import (
	"context"
	"testing"
	"time"

	"omnichart/internal/ehrtest"
	"omnichart/internal/store"
)

// TestAStatementStopsWhenItsContextEnds pins down what the store relies on to stop
// a search: modernc.org/sqlite interrupts a statement whose context ends while its
// first step runs (later steps, run by Rows.Next, are not interrupted, which is
// why a search selects its page in a materialized CTE: all the work is then done
// in the first step). Preparing a statement is not interrupted either; the search
// limits keep that short. Each query below runs for minutes uncancelled.
func TestAStatementStopsWhenItsContextEnds(t *testing.T) {
	const numbers = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 1000000000) `
	tests := []struct {
		name, query string
	}{
		{"an aggregate does its work in the first step", numbers + `SELECT count(*) FROM c`},
		{"a materialized page does its work in the first step, though its rows are found one by one",
			numbers + `, page AS MATERIALIZED (SELECT x FROM c WHERE x = 1 OR x = 999999999 LIMIT 2) SELECT x FROM page ORDER BY x`},
	}
	st := ehrtest.MustOpen(t, "sqlite", store.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			rows, err := st.DB().QueryContext(ctx, tt.query)
			if err == nil {
				for rows.Next() {
				}
				err = rows.Err()
				rows.Close()
			}
			if took := time.Since(start); err == nil || took > 2*time.Second {
				t.Errorf("the query ended after %s with %v, want it stopped with an error within 2s of its context's end", took, err)
			}
		})
	}
}
