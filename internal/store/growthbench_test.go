package store_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/store"
)

// growthSizes are the two sizes BenchmarkSearchGrowth compares: ten times the
// patients, each with growthObservations Observations and two Encounters.
var growthSizes = [2]int{300, 3000}

const growthObservations = 10

// growthFamilies are the family names of the growth data, few enough that each
// is common (a tenth of the patients each).
var growthFamilies = []string{"Smith", "Johnson", "Garcia", "Nguyen", "Okafor", "Kowalski", "Haddad", "Tanaka", "Silva", "Murphy"}

// growthCodes are the Observation codes: the first, a common lab, is half of them.
var growthCodes = []string{"2339-0", "2339-0", "718-7", "2093-3", "4548-4"}

// growthPatient returns patient i of the growth data: the Patient, its
// Observations and its Encounters, spread over 2010 to 2024.
func growthPatient(i int) []map[string]any {
	// Fixed-width ids of letters and digits sort alike under every collation.
	pid := fmt.Sprintf("g%05d", i)
	ref := map[string]any{"reference": "Patient/" + pid}
	res := []map[string]any{{"resourceType": "Patient", "id": pid,
		"name":      []any{map[string]any{"family": growthFamilies[i%len(growthFamilies)], "given": []any{"Pat" + strconv.Itoa(i)}}},
		"gender":    []string{"female", "male"}[i%2],
		"birthDate": fmt.Sprintf("%d-%02d-%02d", 1930+i%80, 1+i%12, 1+i%28)}}
	day := func(k int) time.Time {
		return time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, (i*131+k*379)%5400)
	}
	for k := range growthObservations {
		res = append(res, map[string]any{"resourceType": "Observation", "id": pid + "o" + strconv.Itoa(k), "status": "final",
			"category": []any{map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}}}},
			"code":     map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": growthCodes[k%len(growthCodes)]}}},
			"subject":  ref, "effectiveDateTime": day(k).Format(time.RFC3339),
			"valueQuantity": map[string]any{"value": float64(4 + (i+k)%7), "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"}})
	}
	for k := range 2 {
		start := day(100 + k)
		res = append(res, map[string]any{"resourceType": "Encounter", "id": pid + "e" + strconv.Itoa(k), "status": "finished",
			"class":   map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
			"subject": ref, "period": map[string]any{"start": start.Format(time.RFC3339), "end": start.Add(time.Hour).Format(time.RFC3339)}})
	}
	return res
}

// growthData returns the resources of patients [0, n) of the growth data.
func growthData(n int) []map[string]any {
	var all []map[string]any
	for i := range n {
		all = append(all, growthPatient(i)...)
	}
	return all
}

// loadGrowth writes patients [0, n) of the growth data, fifty to a transaction.
func loadGrowth(tb testing.TB, s *store.Store, n int) {
	tb.Helper()
	ctx := context.Background()
	for from := 0; from < n; from += 50 {
		err := s.Transaction(ctx, func(tx ehr.Tx) error {
			for i := from; i < min(n, from+50); i++ {
				for _, res := range growthPatient(i) {
					if _, _, err := tx.Update(ctx, res["resourceType"].(string), res["id"].(string), res, ehr.WriteOptions{}); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatalf("load growth patients from %d: %v", from, err)
		}
	}
	if err := s.RefreshStatistics(ctx); err != nil {
		tb.Fatal(err)
	}
}

// growthQueries are the searches whose cost must not grow with the data: the
// first page of population searches and the searches of one patient's records.
// Run k asks about patient k's records (of the smaller set, so that both sizes
// are asked the same) and a family name in turn.
var growthQueries = []struct {
	name, typ string
	make      func(k int) string
}{
	{"population/common-code", "Observation", func(int) string { return "code=http://loinc.org|2339-0" }},
	{"population/common-code-since", "Observation", func(int) string { return "code=http://loinc.org|2339-0&date=ge2015-01-01" }},
	{"population/family", "Patient", func(k int) string { return "family=" + growthFamilies[k%len(growthFamilies)] }},
	{"patient/labs", "Observation", func(k int) string {
		return "subject=Patient/" + fmt.Sprintf("g%05d", k*7%growthSizes[0]) + "&code=http://loinc.org|2339-0"
	}},
	{"patient/encounters", "Encounter", func(k int) string { return "subject=Patient/" + fmt.Sprintf("g%05d", k*7%growthSizes[0]) }},
	{"patient/observations-page", "Observation", func(k int) string {
		return "subject=Patient/" + fmt.Sprintf("g%05d", k*7%growthSizes[0]) + "&_count=5"
	}},
}

// BenchmarkSearchGrowth measures how the first page of each growth query grows
// with ten times the data: it loads the two sizes into two stores of one engine
// and asks each query of both in turn (small then large, then large then small),
// under an access scope as a server's caller has, and reports the p50 of each
// size and their ratio (issue goals: patient searches at most 1.3, population
// searches at most 1.5).
//
//	go test ./internal/store/ -run '^$' -bench SearchGrowth -benchtime 200x
func BenchmarkSearchGrowth(b *testing.B) {
	for _, engine := range ehrtest.Engines {
		b.Run(engine, func(b *testing.B) {
			if engine == "postgres" {
				ehrtest.PostgresURL(b)
			}
			var stores [2]*store.Store
			for i, n := range growthSizes {
				stores[i] = ehrtest.MustOpen(b, engine, store.Options{})
				loadGrowth(b, stores[i], n)
			}
			ctx := ehr.WithScope(context.Background(), ehr.Scope{Sources: []string{benchSource, "urn:omnichart:source:other"}})
			for _, gq := range growthQueries {
				b.Run(gq.name, func(b *testing.B) {
					var lat [2][]time.Duration
					k := 0
					ask := func(i int) {
						q := mustParse(b, gq.typ, gq.make(k))
						t0 := time.Now()
						page, err := stores[i].Search(ctx, q)
						lat[i] = append(lat[i], time.Since(t0))
						if err != nil {
							b.Fatalf("%s?%s on %d patients: %v", gq.typ, gq.make(k), growthSizes[i], err)
						}
						if len(page.Records) == 0 {
							b.Fatalf("%s?%s on %d patients found nothing", gq.typ, gq.make(k), growthSizes[i])
						}
					}
					for b.Loop() {
						ask(k % 2)
						ask(1 - k%2)
						k++
					}
					var p50 [2]float64
					for i := range lat {
						slices.Sort(lat[i])
						p50[i] = ms(lat[i][len(lat[i])/2])
					}
					b.ReportMetric(p50[0], "small-p50-ms")
					b.ReportMetric(p50[1], "large-p50-ms")
					b.ReportMetric(p50[1]/p50[0], "growth")
				})
			}
		})
	}
}
