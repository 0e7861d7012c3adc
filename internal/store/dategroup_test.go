package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/store"
)

// TestSingleValuedDateParameters holds the reading of search expressions that
// lets date conditions be grouped to the R4 definitions' cardinalities.
func TestSingleValuedDateParameters(t *testing.T) {
	cases := []struct {
		typ, expr string
		want      bool
	}{
		{"Encounter", "Encounter.period", true},
		{"Observation", "Observation.effective", true},
		{"RiskAssessment", "(RiskAssessment.occurrence as dateTime)", true},
		{"Patient", "Patient.birthDate", true},
		{"Condition", "Condition.onset.as(dateTime)", true},
		{"Goal", "(Goal.target.due as date)", false},                                      // Goal.target repeats
		{"CarePlan", "CarePlan.activity.detail.scheduled", false},                         // CarePlan.activity repeats
		{"Condition", "Condition.onset.as(dateTime) | Condition.onset.as(Period)", false}, // a union
		{"Encounter", "Observation.effective", false},                                     // another type's path
		{"Encounter", "Encounter.period.where(start.exists())", false},                    // a function
	}
	for _, c := range cases {
		if got := store.SingleValued(c.typ, c.expr); got != c.want {
			t.Errorf("SingleValued(%s, %q) = %v, want %v", c.typ, c.expr, got, c.want)
		}
	}
}

// TestDateRangesOnOneValueFindWhatSeparateConditionsFind writes Encounters and
// Observations whose dates have every shape an index row can take (instants,
// days, months and years; periods of minutes to years; periods open at either
// end) and runs random pairs of date conditions on Encounter.period and
// Observation.effective with every prefix at several precisions. Grouped into
// one condition (dategroup.go) they must find exactly what the two conditions
// taken one by one find.
func TestDateRangesOnOneValueFindWhatSeparateConditionsFind(t *testing.T) {
	const queries = 160
	rng := rand.New(rand.NewPCG(2026, 12))
	base := time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func() time.Time { return base.Add(time.Duration(rng.Int64N(int64(2 * 365 * 24 * time.Hour)))) }
	var resources []map[string]any
	durations := []time.Duration{0, 10 * time.Minute, 5 * time.Hour, 3 * 24 * time.Hour, 29 * 24 * time.Hour, 31 * 24 * time.Hour, 400 * 24 * time.Hour}
	for i := range 140 {
		start := at()
		period := map[string]any{}
		switch i % 9 {
		case 7: // open start
			period["end"] = start.Format(time.RFC3339)
		case 8: // a start at day precision, no end
			period["start"] = start.Format("2006-01-02")
		default:
			period["start"] = start.Format(time.RFC3339)
			if d := durations[i%len(durations)]; d > 0 {
				period["end"] = start.Add(d).Format(time.RFC3339)
			}
		}
		resources = append(resources, map[string]any{"resourceType": "Encounter", "id": fmt.Sprintf("e%03d", i), "status": "finished",
			"class": map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}, "period": period})
	}
	for i := range 60 {
		o := map[string]any{"resourceType": "Observation", "id": fmt.Sprintf("o%03d", i), "status": "final",
			"code": map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "2339-0"}}}}
		when := at()
		switch i % 5 {
		case 0:
			o["effectiveDateTime"] = when.Format("2006")
		case 1:
			o["effectiveDateTime"] = when.Format("2006-01")
		case 2:
			o["effectiveDateTime"] = when.Format("2006-01-02")
		case 3:
			o["effectiveDateTime"] = when.Format(time.RFC3339)
		case 4:
			o["effectivePeriod"] = map[string]any{"start": when.Format(time.RFC3339), "end": when.Add(durations[i%len(durations)] + time.Hour).Format(time.RFC3339)}
		}
		resources = append(resources, o)
	}
	prefixes := []string{"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"}
	value := func() string {
		v := at()
		switch rng.IntN(4) {
		case 0:
			return v.Format("2006")
		case 1:
			return v.Format("2006-01")
		case 2:
			return v.Format("2006-01-02")
		}
		return v.Format("2006-01-02T15:04")
	}
	type query struct{ typ, q string }
	var qs []query
	for range queries {
		typ := []string{"Encounter", "Observation"}[rng.IntN(2)]
		p1, p2 := prefixes[rng.IntN(len(prefixes))], prefixes[rng.IntN(len(prefixes))]
		qs = append(qs, query{typ, "date=" + p1 + value() + "&date=" + p2 + value() + "&_count=500"})
	}
	// The week of encounters, the case the grouping is for.
	qs = append(qs, query{"Encounter", "date=ge2019-03-04&date=lt2019-03-11&_count=500"})

	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{})
			ctx := context.Background()
			err := st.Transaction(ctx, func(tx ehr.Tx) error {
				for _, r := range resources {
					if _, err := tx.Create(ctx, r["id"].(string), r); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			ids := func(typ, q string) []string { return searchIDs(t, st, typ, q) }
			found, partial := 0, 0
			for _, q := range qs {
				store.SetGroupDateConditions(t, false)
				want := ids(q.typ, q.q)
				store.SetGroupDateConditions(t, true)
				got := ids(q.typ, q.q)
				if !slices.Equal(got, want) {
					t.Errorf("%s?%s grouped found %v, one by one %v", q.typ, q.q, got, want)
				}
				if len(want) > 0 {
					found++
				}
				if len(want) > 0 && len(want) < 140 {
					partial++
				}
			}
			if found < queries/4 || partial < queries/5 {
				t.Errorf("only %d of %d queries found anything and %d some but not all: the data does not exercise the conditions", found, len(qs), partial)
			}
			if week := ids("Encounter", "date=ge2019-03-04&date=lt2019-03-11"); len(week) == 0 {
				t.Errorf("no encounter in the week of 2019-03-04: the data does not exercise the grouped query")
			}
		})
	}
}

// TestDateLongIndexMatchesTheQueries holds migration 0017's partial index to the
// expression the queries write: the engines use a partial index only for a query
// that repeats its WHERE as written.
func TestDateLongIndexMatchesTheQueries(t *testing.T) {
	want := "WHERE high > low + " + store.ShortDateRow() + ";"
	for _, engine := range []string{"sqlite", "postgres"} {
		body, err := os.ReadFile(filepath.Join(engine, "migrations", "0017_date_long_rows.sql"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(body), want) {
			t.Errorf("%s migration 0017 does not end its index with %q:\n%s", engine, want, body)
		}
	}
}
