package store_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir"
	"omnichart/internal/store"
)

// TestDateSortedPopulationSearchesPageLikeAnyOther pages forward and back
// through population searches sorted by date over the growth data (300
// patients, 3,000 Observations on 2,700 days, many sharing a day) and a few
// Observations added to it: some without a date, which sort last in either
// direction, and periods of years, whose earliest start and latest end are
// their keys. The walk along the date index (walkdate.go) reads windows of 200
// rows, so that a search crosses many windows and their ties. Every page
// sequence must be exactly the matches worked out from the resources, sorted by
// their key and then id, with no repeats; broad searches must have been walked
// on SQLite and PostgreSQL (not on Citus, which does not walk), and a rare
// combination must have been answered by the usual query.
func TestDateSortedPopulationSearchesPageLikeAnyOther(t *testing.T) {
	const patients = 300
	all := growthData(patients)
	var extra []map[string]any
	for k := range 5 {
		extra = append(extra, map[string]any{"resourceType": "Observation", "id": fmt.Sprintf("undated%d", k), "status": "final",
			"code":    map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "2339-0"}}},
			"subject": map[string]any{"reference": "Patient/g00001"}})
	}
	for k := range 4 {
		start := time.Date(2009, 6, 1, 0, 0, 0, 0, time.UTC).AddDate(k, 0, 0)
		extra = append(extra, map[string]any{"resourceType": "Observation", "id": fmt.Sprintf("period%d", k), "status": "final",
			"code":    map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "2339-0"}}},
			"subject": map[string]any{"reference": "Patient/g00002"},
			"effectivePeriod": map[string]any{"start": start.Format(time.RFC3339),
				"end": start.AddDate(11-2*k, 0, 0).Format(time.RFC3339)}})
	}
	all = append(all, extra...)

	code := func(res map[string]any) string {
		return fhir.String(fhir.Array(fhir.Object(res, "code"), "coding")[0].(map[string]any), "code")
	}
	// The sort keys, at the one precision the data has (seconds): the
	// earliest start ascending, the latest end descending; none without a date.
	start := func(res map[string]any) string {
		if v := fhir.String(res, "effectiveDateTime"); v != "" {
			return v
		}
		return fhir.String(fhir.Object(res, "effectivePeriod"), "start")
	}
	end := func(res map[string]any) string {
		if v := fhir.String(res, "effectiveDateTime"); v != "" {
			return v
		}
		return fhir.String(fhir.Object(res, "effectivePeriod"), "end")
	}
	expect := func(desc bool, keep func(res map[string]any) bool) []string {
		var got []map[string]any
		for _, res := range all {
			if res["resourceType"] == "Observation" && keep(res) {
				got = append(got, res)
			}
		}
		slices.SortFunc(got, func(a, b map[string]any) int {
			ka, kb := start(a), start(b)
			if desc {
				ka, kb = end(a), end(b)
			}
			switch {
			case ka == "" && kb != "":
				return 1
			case kb == "" && ka != "":
				return -1
			case ka != kb && desc:
				return cmp.Compare(kb, ka)
			case ka != kb:
				return cmp.Compare(ka, kb)
			}
			return cmp.Compare(a["id"].(string), b["id"].(string))
		})
		ids := make([]string, len(got))
		for i, res := range got {
			ids[i] = res["id"].(string)
		}
		return ids
	}
	common := func(r map[string]any) bool { return code(r) == "2339-0" }
	// The rare combination: 718-7 is a fifth of the Observations and those
	// before mid-2011 about a tenth, so each condition alone is broad, but the
	// newest dates, which a walk newest first reads, hold none of them. One
	// page holds them all.
	rare := func(r map[string]any) bool { d := start(r); return code(r) == "718-7" && d != "" && d < "2011-06-01" }
	cases := []struct {
		name, query string
		want        []string
		walked      bool
	}{
		{"a common code, newest first", "code=http://loinc.org|2339-0&_sort=-date&_count=20", expect(true, common), true},
		{"a common code, oldest first", "code=http://loinc.org|2339-0&_sort=date&_count=20", expect(false, common), true},
		{"every Observation, newest first", "_sort=-date&_count=50", expect(true, func(map[string]any) bool { return true }), true},
		{"a common code since a day, newest first", "code=http://loinc.org|2339-0&date=ge2015-01-01&_sort=-date&_count=20",
			expect(true, func(r map[string]any) bool { return common(r) && end(r) >= "2015-01-01" }), true},
		{"two broad conditions rarely met together", "code=http://loinc.org|718-7&date=lt2011-06-01&_sort=-date&_count=100",
			expect(true, rare), false},
	}
	store.SetDateWalkWindow(t, 200)
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{})
			loadGrowth(t, st, patients)
			ctx := context.Background()
			for _, res := range extra {
				if _, _, err := st.Update(ctx, "Observation", res["id"].(string), res, ehr.WriteOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			ctx = ehr.WithScope(ctx, ehr.Scope{Sources: []string{benchSource}})
			for _, c := range cases {
				if len(c.want) < 40 {
					t.Fatalf("%s: only %d matches in the data; the case tests nothing", c.name, len(c.want))
				}
				before := st.Walks()
				forward, pages := pageForward(t, st, ctx, "Observation", c.query, len(c.want))
				if !slices.Equal(forward, c.want) {
					t.Errorf("%s, forward: %d ids %s, want %d %s", c.name, len(forward), clip(forward), len(c.want), clip(c.want))
					for i := range min(len(forward), len(c.want)) {
						if forward[i] != c.want[i] {
							t.Errorf("%s, forward: first difference at %d: %s, want %s", c.name, i, forward[i], c.want[i])
							break
						}
					}
				}
				walks := st.Walks() - before
				// The last pages may come up short of a window and be answered by
				// the usual query; the undated resources are never walked to.
				if engine != "citus" && c.walked && walks < int64(len(pages))*3/4 {
					t.Errorf("%s: %d of %d pages walked on %s, want most", c.name, walks, len(pages), engine)
				}
				if (engine == "citus" || !c.walked) && walks != 0 {
					t.Errorf("%s: %d pages walked on %s, want none", c.name, walks, engine)
				}
				// Back from the last page with the previous links (never walked).
				backward := pageBackward(t, st, ctx, "Observation", c.query, pages[len(pages)-1], len(c.want))
				if !slices.Equal(backward, c.want) {
					t.Errorf("%s, backward: %d ids %s, want %d %s", c.name, len(backward), clip(backward), len(c.want), clip(c.want))
				}
			}
		})
	}
}
