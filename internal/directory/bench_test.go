package directory_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"omnichart/internal/directory"
	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir/search"
	"omnichart/internal/service"
	"omnichart/internal/store"
	"omnichart/internal/store/sqlite"
)

// The directory's questions (docs/directory.md), as the benchmark asks them.
var questions = []struct{ name, typ, query string }{
	{"active-g10-b2-b1", "DeviceDefinition", "certification-status=Active&criterion=170.315 (g)(10)&criterion=170.315 (b)(2)&criterion=170.315 (b)(1)&_count=50"},
	{"by-developer-since-2023", "DeviceDefinition", "developer-name=Epic&certification-date=ge2023-01-01&_count=50"},
	{"offering-hl7v2-oru", "DeviceDefinition", "interface=hl7v2-oru&_count=50"},
	{"organizations-running-a-product", "Endpoint", "product=DeviceDefinition/chpl-10964&_include=Endpoint:organization&_count=50"},
	{"endpoints-of-a-developer", "Endpoint", "developer=Organization/dev-448&_count=50"},
	{"endpoints-of-a-developer-by-chain", "Endpoint", "product:DeviceDefinition.developer=Organization/dev-448&_count=50"},
	{"what-an-organization-runs-by-zip", "Endpoint", "organization.address-postalcode=77030&_include=Endpoint:product&_count=50"},
	{"what-an-organization-runs-by-name", "Endpoint", "organization.name=Mercy&_include=Endpoint:product&_count=50"},
}

var (
	benchOnce  sync.Once
	benchStore string
	benchLoad  time.Duration
	benchErr   error
)

// loadedDirectory loads the shared snapshot once per run into a SQLite file and
// returns its path.
func loadedDirectory(b *testing.B) string {
	dir := ehrtest.SharedTestdata(b, "emr-directory", "lantern")
	benchOnce.Do(func() {
		tmp, err := os.MkdirTemp("", "directory-bench")
		if err != nil {
			benchErr = err
			return
		}
		benchStore = filepath.Join(tmp, "d.db")
		ctx := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "admin", System: true})
		st, err := sqlite.Open(ctx, benchStore, store.Options{})
		if err != nil {
			benchErr = err
			return
		}
		defer st.Close()
		snap, err := directory.Read(os.DirFS(dir))
		if err != nil {
			benchErr = err
			return
		}
		start := time.Now()
		_, benchErr = directory.Load(ctx, service.New(st, service.Options{}), snap)
		benchLoad = time.Since(start)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchStore
}

// BenchmarkDirectoryQuestions answers each of the directory's questions on the
// whole snapshot loaded in SQLite (loaded once per run; its time is reported as
// the load-s metric of every sub-benchmark).
func BenchmarkDirectoryQuestions(b *testing.B) {
	path := loadedDirectory(b)
	ctx := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "clinician"})
	st, err := sqlite.Open(ctx, path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	svc := service.New(st, service.Options{})
	for _, q := range questions {
		b.Run(q.name, func(b *testing.B) {
			parsed, err := search.ParseString(q.typ, q.query)
			if err != nil {
				b.Fatal(err)
			}
			page, err := svc.Search(ctx, parsed)
			if err != nil {
				b.Fatal(err)
			}
			if len(page.Records) == 0 {
				b.Fatalf("%s?%s found nothing", q.typ, q.query)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := svc.Search(ctx, parsed); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(benchLoad.Seconds(), "load-s")
		})
	}
}

// BenchmarkDirectoryLoad loads the whole shared snapshot into an empty store of
// each engine, once per iteration, through the service as `omnichart directory
// load` does. Run it with -benchtime 1x: one load takes tens of seconds.
func BenchmarkDirectoryLoad(b *testing.B) {
	dir := ehrtest.SharedTestdata(b, "emr-directory", "lantern")
	snap, err := directory.Read(os.DirFS(dir))
	if err != nil {
		b.Fatal(err)
	}
	ctx := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "admin", System: true})
	for _, engine := range ehrtest.Engines {
		b.Run(engine, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				st := ehrtest.MustOpen(b, engine, store.Options{})
				b.StartTimer()
				rep, err := directory.Load(ctx, service.New(st, service.Options{}), snap)
				if err != nil {
					b.Fatal(err)
				}
				if rep.Added["Endpoint"] == 0 {
					b.Fatalf("the load added no endpoints: %+v", rep)
				}
			}
		})
	}
}
