package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
	"omnichart/internal/store"
	"omnichart/internal/store/postgres"
	"omnichart/internal/store/sqlite"
	"omnichart/internal/synth"
)

// The search benchmark's data set: OMNICHART_BENCH_PATIENTS patients of synthetic
// data (about a thousand resources each) from seed benchSeed. With
// OMNICHART_BENCH_DIR set, the SQLite file and a PostgreSQL schema named after the
// size are kept between runs and only missing patients are loaded, so the full
// million-resource load is paid once.
const benchSeed = 2026

// benchSource owns the benchmark's records: the synthetic data is written by no
// source, so its records' source is "".
const benchSource = ""

func benchPatients(tb testing.TB) int {
	n := 10
	if v := os.Getenv("OMNICHART_BENCH_PATIENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			tb.Fatalf("OMNICHART_BENCH_PATIENTS=%q is not a positive number", v)
		}
	}
	return n
}

// openBenchStore opens the benchmark store of engine, persistent under
// OMNICHART_BENCH_DIR when it is set.
func openBenchStore(tb testing.TB, engine string, patients int) *store.Store {
	tb.Helper()
	dir := os.Getenv("OMNICHART_BENCH_DIR")
	if dir == "" {
		return ehrtest.MustOpen(tb, engine, store.Options{})
	}
	ctx := context.Background()
	name := fmt.Sprintf("search_bench_%d_%d", benchSeed, patients)
	var s *store.Store
	var err error
	switch engine {
	case "sqlite":
		s, err = sqlite.Open(ctx, filepath.Join(dir, name+".db"), store.Options{})
	case "postgres", "citus":
		base := ehrtest.PostgresURL(tb)
		if engine == "citus" {
			base = ehrtest.CitusURL(tb)
		}
		admin, aerr := sql.Open("pgx", base)
		if aerr != nil {
			tb.Fatal(aerr)
		}
		_, aerr = admin.Exec("CREATE SCHEMA IF NOT EXISTS " + name)
		admin.Close()
		if aerr != nil {
			tb.Fatalf("create schema %s: %v", name, aerr)
		}
		s, err = postgres.Open(ctx, ehrtest.WithSearchPath(tb, base, name), store.Options{})
	}
	if err != nil {
		tb.Fatalf("open %s bench store: %v", engine, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// loadPatients writes the shared resources and patients [0, n) that s lacks, each
// patient in one transaction, as an importer would. It returns how many resources
// it wrote. Workers > 1 write several patients at once (PostgreSQL); generation
// always runs beside the writes.
func loadPatients(tb testing.TB, s *store.Store, g *synth.Generator, n, workers int) int {
	tb.Helper()
	ctx := context.Background()
	write := func(resources []map[string]any) error {
		return s.Transaction(ctx, func(tx ehr.Tx) error {
			for _, res := range resources {
				if _, _, err := tx.Update(ctx, res["resourceType"].(string), res["id"].(string), res, ehr.WriteOptions{}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	loaded := func(typ, id string) bool {
		_, err := s.Read(ctx, typ, id)
		return err == nil
	}
	written := 0
	shared := g.Shared()
	if last := shared[len(shared)-1]; !loaded(last["resourceType"].(string), last["id"].(string)) {
		if err := write(shared); err != nil {
			tb.Fatalf("load shared resources: %v", err)
		}
		written += len(shared)
	}
	// A patient is loaded when its last resource is: its transaction is atomic.
	var todo []int
	for i := range n {
		if !loaded("Patient", synth.PatientID(i)) {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return written
	}
	jobs := make(chan []map[string]any, workers*2)
	go func() {
		for _, i := range todo {
			jobs <- g.Patient(i)
		}
		close(jobs)
	}()
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	start, done := time.Now(), 0
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for resources := range jobs {
				err := write(resources)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("load %s: %w", resources[0]["id"], err)
				}
				written += len(resources)
				done++
				if done%50 == 0 {
					tb.Logf("loaded %d of %d patients, %d resources, %.0f resources/s", done, len(todo), written, float64(written)/time.Since(start).Seconds())
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		tb.Fatal(firstErr)
	}
	return written
}

// benchQuery is one typical clinical search, instantiated afresh for every run
// from the data set so that caches see a realistic spread of patients and values.
type benchQuery struct {
	name string
	typ  string
	// make returns the query string of run k.
	make func(k int) string
	// pages is how many pages to walk through with next links (1: the first only).
	pages int
}

// benchFacts are values picked from the generated data that queries use.
type benchFacts struct {
	patients []string // ids
	families []string // official family name of each patient
	births   []string // birth year of each patient
}

func gatherFacts(g *synth.Generator, n int) benchFacts {
	var f benchFacts
	for i := range min(n, 200) {
		p := g.Patient(i)[0]
		f.patients = append(f.patients, p["id"].(string))
		name := fhir.Array(p, "name")[0].(map[string]any)
		f.families = append(f.families, fhir.String(name, "family"))
		f.births = append(f.births, fhir.String(p, "birthDate")[:4])
	}
	return f
}

func benchQueries(f benchFacts) []benchQuery {
	pick := func(k int) int { return (k * 7919) % len(f.patients) }
	return []benchQuery{
		{name: "labs-by-code-and-date", typ: "Observation", pages: 1, make: func(k int) string {
			return "subject=Patient/" + f.patients[pick(k)] + "&code=http://loinc.org|2339-0&date=ge2015-01-01&date=lt2020-01-01"
		}},
		{name: "patient-by-name-and-birthdate", typ: "Patient", pages: 1, make: func(k int) string {
			i := pick(k)
			// The first four letters, not bytes: a byte cut can split a letter.
			family := []rune(f.families[i])
			return "family=" + url.QueryEscape(string(family[:min(4, len(family))])) + "&birthdate=" + f.births[i]
		}},
		{name: "encounters-by-date", typ: "Encounter", pages: 1, make: func(k int) string {
			day := time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, (k*37)%5000)
			return "date=ge" + day.Format("2006-01-02") + "&date=lt" + day.AddDate(0, 0, 7).Format("2006-01-02")
		}},
		{name: "encounters-revinclude-provenance", typ: "Encounter", pages: 1, make: func(k int) string {
			return "subject=Patient/" + f.patients[pick(k)] + "&_revinclude=Provenance:target&_count=50"
		}},
		{name: "observations-chained-patient-name", typ: "Observation", pages: 1, make: func(k int) string {
			i := pick(k)
			return "subject:Patient.name=" + url.QueryEscape(f.families[i]) + "&code=http://loinc.org|8867-4"
		}},
		{name: "patient-observations-sort-date-paging", typ: "Observation", pages: 5, make: func(k int) string {
			return "subject=Patient/" + f.patients[pick(k)] + "&_sort=-date&_count=20"
		}},
		{name: "population-labs-sort-date", typ: "Observation", pages: 2, make: func(k int) string {
			codes := []string{"2339-0", "718-7", "2093-3", "4548-4"}
			return "code=http://loinc.org|" + codes[k%len(codes)] + "&_sort=-date&_count=20"
		}},
	}
}

// BenchmarkSearch measures p50 and p99 latency of typical clinical searches on both
// engines over the synthetic data set, and logs the plan of the slowest one.
//
//	OMNICHART_BENCH_PATIENTS=1000 OMNICHART_BENCH_DIR=/var/tmp/omnichart-bench \
//	  go test -run '^$' -bench '^BenchmarkSearch$' -benchtime 200x -timeout 3h ./internal/store/
func BenchmarkSearch(b *testing.B) {
	n := benchPatients(b)
	g := synth.New(benchSeed)
	facts := gatherFacts(g, n)
	for _, engine := range ehrtest.AllEngines {
		b.Run(engine, func(b *testing.B) {
			if engine == "postgres" {
				ehrtest.PostgresURL(b)
			}
			s := openBenchStore(b, engine, n)
			workers := 1
			if engine != "sqlite" {
				workers = 4
			}
			start := time.Now()
			if written := loadPatients(b, s, g, n, workers); written > 0 {
				el := time.Since(start)
				b.Logf("%s: loaded %d resources of %d patients in %s (%.0f resources/s)", engine, written, n, el.Round(time.Second), float64(written)/el.Seconds())
			}
			if engine != "sqlite" {
				if _, err := s.DB().Exec("ANALYZE"); err != nil {
					b.Fatal(err)
				}
			}
			ctx := context.Background()
			scoped := ehr.WithScope(ctx, ehr.Scope{Sources: []string{benchSource, "urn:omnichart:source:other"}})
			slowest, slowestP50 := benchQuery{}, 0.0
			slowestK := 0
			for _, bq := range benchQueries(facts) {
				b.Run(bq.name, func(b *testing.B) {
					// Each run asks the query twice, without and with an access
					// scope that every benchmark record passes (the scope the
					// engine compiles for a caller limited to the loading source),
					// in alternating order, so the two latencies are measured
					// under the same conditions and their ratio is the scope's cost.
					var lat, scopedLat []time.Duration
					k := 0
					run := func(ctx context.Context, lat *[]time.Duration) {
						q := mustParse(b, bq.typ, bq.make(k))
						for page := 0; page < bq.pages; page++ {
							t0 := time.Now()
							res, err := s.Search(ctx, q)
							*lat = append(*lat, time.Since(t0))
							if err != nil {
								b.Fatalf("Search(%s?%s): %v", bq.typ, bq.make(k), err)
							}
							if res.Next == "" {
								break
							}
							q.Cursor = res.Next
						}
					}
					for b.Loop() {
						if k%2 == 0 {
							run(ctx, &lat)
							run(scoped, &scopedLat)
						} else {
							run(scoped, &scopedLat)
							run(ctx, &lat)
						}
						k++
					}
					slices.Sort(lat)
					slices.Sort(scopedLat)
					p50 := ms(lat[len(lat)/2])
					p99 := ms(lat[min(len(lat)-1, len(lat)*99/100)])
					b.ReportMetric(p50, "p50-ms")
					b.ReportMetric(p99, "p99-ms")
					sp50 := ms(scopedLat[len(scopedLat)/2])
					b.ReportMetric(sp50, "scoped-p50-ms")
					b.ReportMetric(ms(scopedLat[min(len(scopedLat)-1, len(scopedLat)*99/100)]), "scoped-p99-ms")
					b.ReportMetric(sp50/p50, "scope-ratio")
					if p50 > slowestP50 {
						slowest, slowestP50, slowestK = bq, p50, k/2
					}
				})
			}
			if slowest.name != "" {
				q := mustParse(b, slowest.typ, slowest.make(slowestK))
				plan, err := s.ExplainSearch(ctx, q)
				if err != nil {
					b.Fatalf("explain %s: %v", slowest.name, err)
				}
				b.Logf("%s: slowest query %s (p50 %.2f ms): %s?%s\n%s", engine, slowest.name, slowestP50, slowest.typ, slowest.make(slowestK), plan)
			}
		})
	}
}

func mustParse(tb testing.TB, typ, query string) *search.Query {
	tb.Helper()
	q, err := search.ParseString(typ, query)
	if err != nil {
		tb.Fatalf("parse %s?%s: %v", typ, query, err)
	}
	q.Strict = true
	return q
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkLoadRate measures how fast whole synthetic patients (about a thousand
// resources each) load into a fresh store, one transaction per patient as an
// importer writes them, and reports resources/s. PostgreSQL is written by 4
// concurrent writers, as loadPatients does. Use it to size a full search
// benchmark run, e.g. go test ./internal/store -run '^$' -bench LoadRate -benchtime 20x.
func BenchmarkLoadRate(b *testing.B) {
	g := synth.New(benchSeed)
	for _, engine := range ehrtest.Engines {
		b.Run(engine, func(b *testing.B) {
			if engine == "postgres" {
				ehrtest.PostgresURL(b)
			}
			s := ehrtest.MustOpen(b, engine, store.Options{})
			loadPatients(b, s, g, 0, 1) // the shared practitioners and organizations
			ctx := context.Background()
			var next, written atomic.Int64
			load := func() error {
				resources := g.Patient(int(next.Add(1) - 1))
				written.Add(int64(len(resources)))
				return s.Transaction(ctx, func(tx ehr.Tx) error {
					for _, res := range resources {
						if _, _, err := tx.Update(ctx, res["resourceType"].(string), res["id"].(string), res, ehr.WriteOptions{}); err != nil {
							return err
						}
					}
					return nil
				})
			}
			if engine == "postgres" {
				b.SetParallelism(max(1, 4/runtime.GOMAXPROCS(0)))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := load(); err != nil {
							b.Error(err)
							return
						}
					}
				})
			} else {
				for b.Loop() {
					if err := load(); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(written.Load())/b.Elapsed().Seconds(), "resources/s")
			b.ReportMetric(float64(written.Load())/float64(b.N), "resources/op")
		})
	}
}
