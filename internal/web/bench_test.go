package web_test

import (
	"net/http"
	"sort"
	"testing"
	"time"

	"omnichart/internal/gen"
	"omnichart/internal/mpi"
)

// BenchmarkChart renders, over loopback as a signed-in clinician, the chart of a
// generated person known to three sources with five years of history, on
// SQLite. It reports the median (p50) time of a render; the goal is under
// 100 ms (BENCHMARKS.md).
func BenchmarkChart(b *testing.B) {
	o, err := gen.Preset("easy")
	if err != nil {
		b.Fatal(err)
	}
	o.People, o.Sources, o.Seed, o.Years = 12, 3, 5, 5
	pop := &population{files: map[string][]byte{}}
	pop.res, err = gen.Generate(o, func(name string, data []byte) error { pop.files[name] = data; return nil })
	if err != nil {
		b.Fatal(err)
	}
	visible := []string{mpi.SourceURI}
	for _, s := range pop.res.Sources {
		visible = append(visible, s.URI)
	}
	e := newEnv(b, "sqlite", envOptions{visible: visible})
	e.importPopulation(pop)
	var person gen.TruthPerson
	for _, p := range pop.res.Truth.Persons {
		if len(p.Records) == 3 {
			person = p
			break
		}
	}
	if person.ID == "" {
		b.Fatal("no generated person is known to all three sources")
	}
	br := e.browser()
	br.mustSignIn(clinician)
	status, body, _ := br.get("/?identifier=" + person.Records[0].MRN)
	ids := patientLink.FindAllStringSubmatch(body, -1)
	if status != http.StatusOK || len(ids) == 0 {
		b.Fatalf("search by MRN = %d, %d results", status, len(ids))
	}
	path := "/patients/" + ids[0][1]
	status, chart, _ := br.get(path)
	if status != http.StatusOK {
		b.Fatalf("GET chart = %d", status)
	}
	b.ReportMetric(float64(len(chart)), "bytes/page")
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if status, _, _ := br.get(path); status != http.StatusOK {
			b.Fatalf("GET chart = %d", status)
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
}
