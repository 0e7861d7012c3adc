package match_test

import (
	"runtime"
	"slices"
	"testing"
	"time"

	"omnichart/internal/match"
)

// BenchmarkIndexUpsert measures the incremental cost of one new record in an
// index of a generated hard population, with the fixed model the master
// patient index uses: each operation adds one record that was held out of
// the index and reports what changed; the record is then taken out again
// (not timed), so every operation meets the same index. It reports the
// median and 99th percentile of one Upsert. The scale goal is under 20 ms
// at the median with 100,000 records matched:
//
//	go test ./internal/match/ -run '^$' -bench IndexUpsert -benchtime 2000x -match.people 50000
func BenchmarkIndexUpsert(b *testing.B) {
	pop := MustGenerate(b, "hard", *benchPeople, 1)
	recs := shuffled(pop.records, 42)
	held := min(2000, len(recs)/10)
	ix, err := match.NewIndex(recs[held:], fixedModel())
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var took []time.Duration
	i := 0
	b.ResetTimer()
	for b.Loop() {
		r := recs[i%held]
		i++
		start := time.Now()
		ix.Upsert(r)
		took = append(took, time.Since(start))
		b.StopTimer()
		ix.Remove(r.Ref())
		b.StartTimer()
	}
	slices.Sort(took)
	b.ReportMetric(float64(len(recs)-held), "records")
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
}
