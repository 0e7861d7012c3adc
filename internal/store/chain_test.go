package store_test

import (
	"context"
	"slices"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/store"
)

// TestChainToPatientsLooksOnlyInTheirCompartments holds the searches that chain
// to Patient through subject (whose compartments the store then reads, and whose
// other conditions it limits to those compartments) to results worked out by
// hand: records of other patients with the same code, of a deleted namesake, of
// a Group and of a patient who is only the performer must never match, on every
// engine, whether the chain comes first or last, alone, beside a negated
// condition, a date range, or beside another chain.
func TestChainToPatientsLooksOnlyInTheirCompartments(t *testing.T) {
	obs := func(id, subject, code, day string, extra map[string]any) map[string]any {
		res := map[string]any{"resourceType": "Observation", "id": id, "status": "final",
			"code":              map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": code}}},
			"subject":           map[string]any{"reference": subject},
			"effectiveDateTime": day}
		for k, v := range extra {
			res[k] = v
		}
		return res
	}
	patient := func(id, family string) map[string]any {
		return map[string]any{"resourceType": "Patient", "id": id, "name": []any{map[string]any{"family": family}}}
	}
	resources := []map[string]any{
		patient("w1", "Within"), patient("w2", "Withinson"), patient("o1", "Other"), patient("gone", "Within"),
		{"resourceType": "Location", "id": "ward", "name": "Within Ward"},
		obs("w1-hr", "Patient/w1", "8867-4", "2020-01-02", nil),
		obs("w1-bp", "Patient/w1", "85354-9", "2020-01-03", nil),
		obs("w1-hr-old", "Patient/w1", "8867-4", "2011-05-06", nil),
		obs("w2-hr", "Patient/w2", "8867-4", "2020-02-01", nil),
		obs("o1-hr", "Patient/o1", "8867-4", "2020-01-02", nil),
		// Only performed by a Within: in w1's compartment, not its subject.
		obs("o1-hr-by-w1", "Patient/o1", "8867-4", "2020-01-04", map[string]any{"performer": []any{map[string]any{"reference": "Patient/w1"}}}),
		obs("ward-hr", "Location/ward", "8867-4", "2020-01-05", nil),
		obs("gone-hr", "Patient/gone", "8867-4", "2020-01-06", nil),
		{"resourceType": "Encounter", "id": "w1-enc", "status": "finished",
			"class":   map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
			"subject": map[string]any{"reference": "Patient/w1"}, "period": map[string]any{"start": "2020-01-02T08:00:00Z", "end": "2020-01-02T09:00:00Z"}},
		{"resourceType": "Encounter", "id": "o1-enc", "status": "finished",
			"class":   map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
			"subject": map[string]any{"reference": "Patient/o1"}, "period": map[string]any{"start": "2020-01-02T08:00:00Z", "end": "2020-01-02T09:00:00Z"}},
	}
	cases := []struct {
		typ, query string
		want       []string
	}{
		{"Observation", "subject:Patient.name=within&code=http://loinc.org|8867-4", []string{"w1-hr", "w1-hr-old", "w2-hr"}},
		{"Observation", "code=http://loinc.org|8867-4&subject:Patient.name=within", []string{"w1-hr", "w1-hr-old", "w2-hr"}},
		{"Observation", "subject:Patient.name:exact=Within&code=8867-4", []string{"w1-hr", "w1-hr-old"}},
		{"Observation", "subject:Patient.name=within", []string{"w1-bp", "w1-hr", "w1-hr-old", "w2-hr"}},
		{"Observation", "subject:Patient.name=within&code:not=http://loinc.org|8867-4", []string{"w1-bp"}},
		{"Observation", "subject:Patient.name=within&code=http://loinc.org|8867-4&date=ge2020-01-01&date=lt2020-02-01", []string{"w1-hr"}},
		{"Observation", "subject:Patient.name=within&code=http://loinc.org|8867-4&_total=accurate&_count=1", []string{"w1-hr", "w1-hr-old", "w2-hr"}},
		{"Observation", "subject:Patient.name=other&code=http://loinc.org|8867-4", []string{"o1-hr", "o1-hr-by-w1"}},
		{"Observation", "subject:Patient.name=within&performer:Patient.name=within", nil},
		{"Observation", "subject:Patient.name=other&performer:Patient.name=within", []string{"o1-hr-by-w1"}},
		{"Observation", "subject:Patient.name=nobody&code=http://loinc.org|8867-4", nil},
		{"Observation", "subject.name=within&code=http://loinc.org|8867-4", []string{"w1-hr", "w1-hr-old", "w2-hr", "ward-hr"}},
		{"Encounter", "subject:Patient.name=within&date=ge2020-01-02&date=lt2020-01-03", []string{"w1-enc"}},
	}
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{})
			ctx := context.Background()
			for _, res := range resources {
				if _, _, err := st.Update(ctx, res["resourceType"].(string), res["id"].(string), res, ehr.WriteOptions{}); err != nil {
					t.Fatalf("write %s: %v", res["id"], err)
				}
			}
			if _, err := st.Delete(ctx, "Patient", "gone", 0); err != nil {
				t.Fatal(err)
			}
			for _, c := range cases {
				var got []string
				total := -1
				q := mustParse(t, c.typ, c.query)
				for pages := 0; pages < 10; pages++ {
					page, err := st.Search(ctx, q)
					if err != nil {
						t.Fatalf("%s?%s: %v", c.typ, c.query, err)
					}
					if pages == 0 {
						total = page.Total
					}
					for _, r := range page.Records {
						got = append(got, r.ID)
					}
					if page.Next == "" {
						break
					}
					q = mustParse(t, c.typ, c.query)
					q.Cursor = page.Next
				}
				slices.Sort(got)
				if !slices.Equal(got, c.want) {
					t.Errorf("%s?%s: %v, want %v", c.typ, c.query, got, c.want)
				}
				if q.Total == "accurate" && total != len(c.want) {
					t.Errorf("%s?%s: total %d, want %d", c.typ, c.query, total, len(c.want))
				}
			}
		})
	}
}
