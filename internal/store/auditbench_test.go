package store_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"omnichart/internal/audit"
	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/service"
	"omnichart/internal/smart"
	"omnichart/internal/synth"
)

// BenchmarkAuditedSearch measures what authorization and the audit log add to the
// searches of BenchmarkSearch, through the interaction engine: each run asks the
// query of a plain engine (every caller sees everything, no audit log) and of an
// engine as omnichart serve runs it (a caller limited to its sources, and an
// audit record spooled before each search returns and committed within 200 ms),
// and of that engine with every record waiting for its durable commit
// (--audit-flush-delay 0), in rotating order, and reports the medians and the
// ratios to the plain engine (audit-ratio, flushed-ratio). The requests of the two
// served engines also pay the bearer-token check, as the middleware makes it for
// every request (smart.Server.Authenticate of one user's token).
//
// The parallel case runs the cheapest query from 8 goroutines at once, where
// group commit lets one audit transaction serve many searches, and reports the
// throughput ratio.
//
//	OMNICHART_TEST_POSTGRES=postgres://... \
//	  go test ./internal/store/ -run '^$' -bench BenchmarkAuditedSearch -benchtime 40x -timeout 1h
func BenchmarkAuditedSearch(b *testing.B) {
	n := benchPatients(b)
	g := synth.New(benchSeed)
	facts := gatherFacts(g, n)
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, engine := range ehrtest.Engines {
		b.Run(engine, func(b *testing.B) {
			if engine == "postgres" {
				ehrtest.PostgresURL(b)
			}
			s := openBenchStore(b, engine, n)
			loadPatients(b, s, g, n, 1)
			if engine != "sqlite" {
				if _, err := s.DB().Exec("ANALYZE"); err != nil {
					b.Fatal(err)
				}
			}
			key := []byte("0123456789abcdef0123456789abcdef")
			// As omnichart serve runs it: a read's record spooled before the
			// answer and committed within --audit-flush-delay.
			l, err := audit.New(audit.Options{Store: s, Key: key, SpoolDir: b.TempDir(), FlushDelay: 200 * time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			// With --audit-flush-delay 0: every read waits for its durable commit.
			flushing, err := audit.New(audit.Options{Store: s, Key: key})
			if err != nil {
				b.Fatal(err)
			}
			// The bearer-token check each request of a served engine pays, as the
			// middleware makes it (smart.Server.Authenticate).
			auth := smart.New(smart.Config{DB: s.DB(), Postgres: engine != "sqlite", PasswordIterations: 1000, Log: discard})
			if err := auth.AddUser(context.Background(), smart.User{Username: "bench", Org: "bench-org"}, "a long enough password"); err != nil {
				b.Fatal(err)
			}
			token, err := auth.IssueToken(context.Background(), "user/*.rs", "bench", "", 24*time.Hour)
			if err != nil {
				b.Fatal(err)
			}
			plain := service.New(s, service.Options{Log: discard})
			policy := ehr.FixedScope{Allowed: ehr.Scope{Sources: []string{benchSource, "urn:omnichart:source:other"}}}
			audited := service.New(s, service.Options{Policy: policy, Auditor: l, Log: discard})
			flushed := service.New(s, service.Options{Policy: policy, Auditor: flushing, Log: discard})
			ctx := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "user/bench", Client: "bench"})
			ctx = ehr.WithOrigin(ctx, "127.0.0.1")
			for _, bq := range benchQueries(facts) {
				b.Run(bq.name, func(b *testing.B) {
					var lat, auditLat, flushLat []time.Duration
					k := 0
					run := func(svc *service.Service, lat *[]time.Duration) {
						q := mustParse(b, bq.typ, bq.make(k))
						for page := 0; page < bq.pages; page++ {
							t0 := time.Now()
							if svc != plain {
								if _, err := auth.Authenticate(ctx, token); err != nil {
									b.Fatal(err)
								}
							}
							res, err := svc.Search(ctx, q)
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
						// The three in a rotating order, so that none always
						// runs on the cache another warmed.
						order := []func(){func() { run(plain, &lat) }, func() { run(audited, &auditLat) }, func() { run(flushed, &flushLat) }}
						for i := range order {
							order[(i+k)%len(order)]()
						}
						k++
					}
					slices.Sort(lat)
					slices.Sort(auditLat)
					slices.Sort(flushLat)
					p50, ap50, fp50 := ms(lat[len(lat)/2]), ms(auditLat[len(auditLat)/2]), ms(flushLat[len(flushLat)/2])
					b.ReportMetric(p50, "p50-ms")
					b.ReportMetric(ap50, "audited-p50-ms")
					b.ReportMetric(ap50/p50, "audit-ratio")
					b.ReportMetric(fp50/p50, "flushed-ratio")
				})
			}
			b.Run("parallel-patient-by-name", func(b *testing.B) {
				bq := benchQueries(facts)[1]
				throughput := func(svc *service.Service) float64 {
					const workers, each = 8, 25
					var wg sync.WaitGroup
					t0 := time.Now()
					for w := range workers {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for i := range each {
								q := mustParse(b, bq.typ, bq.make(w*each+i))
								if svc != plain {
									if _, err := auth.Authenticate(ctx, token); err != nil {
										b.Error(err)
										return
									}
								}
								if _, err := svc.Search(ctx, q); err != nil {
									b.Error(err)
									return
								}
							}
						}()
					}
					wg.Wait()
					return workers * each / time.Since(t0).Seconds()
				}
				var plainRate, auditRate, flushRate []float64
				for b.Loop() {
					plainRate = append(plainRate, throughput(plain))
					auditRate = append(auditRate, throughput(audited))
					flushRate = append(flushRate, throughput(flushed))
				}
				slices.Sort(plainRate)
				slices.Sort(auditRate)
				slices.Sort(flushRate)
				pr, ar, fr := plainRate[len(plainRate)/2], auditRate[len(auditRate)/2], flushRate[len(flushRate)/2]
				b.ReportMetric(pr, "searches/s")
				b.ReportMetric(ar, "audited-searches/s")
				b.ReportMetric(pr/ar, "audit-ratio")
				b.ReportMetric(pr/fr, "flushed-ratio")
			})
		})
	}
}
