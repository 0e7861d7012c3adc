package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

func benchPatient(i int) map[string]any {
	return map[string]any{
		"resourceType": "Patient",
		"identifier":   []any{map[string]any{"system": "http://hospital.example/mrn", "value": fmt.Sprint(i)}},
		"name":         []any{map[string]any{"family": "Chalmers", "given": []any{"Peter", "James"}}},
		"gender":       "male",
		"birthDate":    "1974-12-25",
		"address":      []any{map[string]any{"line": []any{"534 Erewhon St"}, "city": "PleasantVille", "postalCode": "3999"}},
	}
}

func benchObservation(pid string, i int) map[string]any {
	return map[string]any{
		"resourceType": "Observation", "status": "final",
		"code":          map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "2339-0"}}},
		"subject":       map[string]any{"reference": "Patient/" + pid},
		"valueQuantity": map[string]any{"value": json.Number(fmt.Sprint(90 + i%20)), "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"},
	}
}

// forBenchEngines runs fn on every engine, Citus included where it is configured,
// so that one go test -bench run gives figures to compare side by side.
func forBenchEngines(b *testing.B, fn func(b *testing.B, s *store.Store)) {
	for _, engine := range ehrtest.AllEngines {
		b.Run(engine, func(b *testing.B) {
			if engine == "postgres" {
				ehrtest.PostgresURL(b)
			}
			fn(b, ehrtest.MustOpen(b, engine, store.Options{}))
		})
	}
}

// BenchmarkCreate measures one durable create per operation (one commit each).
func BenchmarkCreate(b *testing.B) {
	forBenchEngines(b, func(b *testing.B, s *store.Store) {
		ctx := context.Background()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := s.Create(ctx, s.NewID(), benchPatient(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCreateParallel measures creates from several clients at once.
func BenchmarkCreateParallel(b *testing.B) {
	forBenchEngines(b, func(b *testing.B, s *store.Store) {
		ctx := context.Background()
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				if _, err := s.Create(ctx, s.NewID(), benchPatient(i)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkRead measures reads by id of 1,000 stored patients.
func BenchmarkRead(b *testing.B) {
	forBenchEngines(b, func(b *testing.B, s *store.Store) {
		ctx := context.Background()
		ids := make([]string, 1000)
		err := s.Transaction(ctx, func(tx ehr.Tx) error {
			for i := range ids {
				rec, err := tx.Create(ctx, tx.NewID(), benchPatient(i))
				if err != nil {
					return err
				}
				ids[i] = rec.ID
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				if _, err := s.Read(ctx, "Patient", ids[i%len(ids)]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkTransaction measures transaction Bundles of one patient and 20
// observations that refer to it by urn:uuid; b.N counts bundles.
func BenchmarkTransaction(b *testing.B) {
	forBenchEngines(b, func(b *testing.B, s *store.Store) {
		ctx := context.Background()
		svc := service.New(s, service.Options{})
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			pid := fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", i)
			entries := []any{map[string]any{"fullUrl": pid, "resource": benchPatient(i),
				"request": map[string]any{"method": "POST", "url": "Patient"}}}
			for j := 0; j < 20; j++ {
				o := benchObservation("x", j)
				o["subject"] = map[string]any{"reference": pid}
				entries = append(entries, map[string]any{"resource": o, "request": map[string]any{"method": "POST", "url": "Observation"}})
			}
			bundle := map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries}
			kind, changes, err := ehr.ParseBundle(bundle, "")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := svc.Apply(ctx, kind, changes, ehr.ApplyOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*21)/b.Elapsed().Seconds(), "resources/s")
	})
}
