package fhirapi_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"omnichart/internal/audit"
	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhirapi"
	"omnichart/internal/mpi"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

// The benchmarks of this file send single requests over loopback HTTP to the
// handler wired as `omnichart serve --insecure-no-auth` wires it: every caller may
// do everything, every read and write is recorded in the audit log before it is
// answered, and the master patient index matches every committed Patient. They
// report the median and 99th percentile latency of one request (p50-ms, p99-ms),
// the throughput of all clients together (req/s) and the CPU time the process
// (server and clients) used per request (cpu-ms/req).

// benchServer is a server on a fresh store of engine, wired as serve wires it.
func benchServer(b *testing.B, engine string) string {
	return benchServerAudited(b, engine, auditSpooled)
}

// auditMode is how a benchmark server keeps its audit log.
type auditMode int

const (
	// auditSpooled is serve's default: a read's record is spooled before the
	// answer and committed within --audit-flush-delay (200 ms).
	auditSpooled auditMode = iota
	// auditFlushed is --audit-flush-delay 0: every read waits for its record's
	// durable commit.
	auditFlushed
	// auditNone has no audit log: what the rest of a request costs.
	auditNone
)

// benchServerAudited is benchServer with the audit log kept as mode says.
func benchServerAudited(b *testing.B, engine string, mode auditMode) string {
	b.Helper()
	if engine == "postgres" {
		ehrtest.PostgresURL(b)
	}
	st := ehrtest.MustOpen(b, engine, store.Options{})
	key := make([]byte, audit.KeySize)
	rand.Read(key)
	opts := audit.Options{Store: st, Key: key}
	if mode == auditSpooled {
		opts.SpoolDir, opts.FlushDelay = b.TempDir(), 200*time.Millisecond
	}
	log, err := audit.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { log.Sync(context.Background()) })
	var auditor ehr.Auditor = log
	if mode == auditNone {
		auditor = nil
	}
	var ix atomic.Pointer[mpi.MPI]
	svc := service.New(st, service.Options{Policy: ehr.AllowAll{}, Auditor: auditor, AfterCommit: func(ctx context.Context, recs []*ehr.Record) {
		if m := ix.Load(); m != nil {
			m.Committed(ctx, recs)
		}
	}})
	m, _, err := mpi.Open(ehr.WithPrincipal(context.Background(), ehr.SystemPrincipal), svc, mpi.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ix.Store(m)
	api := fhirapi.New(svc, fhirapi.Config{Version: "bench", PatientIndex: m, InsecureNoAuth: true},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(api)
	b.Cleanup(srv.Close)
	return srv.URL + "/fhir"
}

// benchClient is a keep-alive HTTP client with enough idle connections for
// every benchmark client.
var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// send sends one request and reads the whole answer; a status other than want
// fails the benchmark.
func send(b *testing.B, method, url, body string, want int, headers ...string) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		b.Error(err)
		return
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := benchClient.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Errorf("%s %s = %d, want %d: %.300s", method, url, resp.StatusCode, want, data)
	}
}

// runClients runs b.N requests, do(i) being the i-th, from clients goroutines at
// once, and reports the latency percentiles and the throughput.
func runClients(b *testing.B, clients int, do func(i int)) {
	b.Helper()
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	cpuStart := processCPU(b)
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				t := time.Now()
				do(i)
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := processCPU(b) - cpuStart
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100])/1e6, "p99-ms")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(cpu)/1e6/float64(b.N), "cpu-ms/req")
}

// processCPU is the CPU time the process has used, user and system: server
// and clients together, as they share the process.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchPatient is a Patient of the size of a registration: an MRN, a name, a
// birth date, an address and a phone number. n makes it unique.
func benchPatient(n int) string {
	return fmt.Sprintf(`{"resourceType":"Patient","identifier":[{"system":"http://mrn.example","value":"B%d"}],`+
		`"name":[{"family":"Fairbanks%d","given":["Lou","Ann"]}],"gender":"female","birthDate":"1967-%02d-%02d",`+
		`"address":[{"line":["%d Elm Street"],"city":"Springfield","postalCode":"01101"}],"telecom":[{"system":"phone","value":"413-555-%04d"}]}`,
		n, n, 1+n%12, 1+n%28, n, n%10000)
}

// benchObservation is a heart rate of subject.
func benchObservation(n int, subject string) string {
	return fmt.Sprintf(`{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],`+
		`"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},"subject":{"reference":"%s"},`+
		`"effectiveDateTime":"2026-11-02T09:30:00Z","valueQuantity":{"value":%d,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}`,
		subject, 60+n%40)
}

// benchTransaction is a transaction Bundle of a new Patient and an Observation
// about it, joined by a urn:uuid reference.
func benchTransaction(n int) string {
	patient := fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", n)
	return fmt.Sprintf(`{"resourceType":"Bundle","type":"transaction","entry":[`+
		`{"fullUrl":"%s","resource":%s,"request":{"method":"POST","url":"Patient"}},`+
		`{"resource":%s,"request":{"method":"POST","url":"Observation"}}]}`, patient, benchPatient(n), benchObservation(n, patient))
}

var benchEngines = []string{"sqlite", "postgres"}

// BenchmarkHTTPRead reads one of 200 Patients by id, from one client, as serve
// does (each read's audit record committed before it is answered) and without
// the audit log.
func BenchmarkHTTPRead(b *testing.B) {
	for _, engine := range benchEngines {
		for _, mode := range []auditMode{auditSpooled, auditFlushed, auditNone} {
			name := engine + []string{"/audited", "/audited-flushed", "/unaudited"}[mode]
			b.Run(name, func(b *testing.B) {
				base := benchServerAudited(b, engine, mode)
				ids := make([]string, 200)
				for i := range ids {
					ids[i] = mustCreate(b, base, benchPatient(i))
				}
				runClients(b, 1, func(i int) { send(b, "GET", base+"/Patient/"+ids[i%len(ids)], "", 200) })
			})
		}
	}
}

// BenchmarkHTTPCreate creates one resource per request, from one and from four
// clients at once: a Patient, which the patient index matches and links to a
// Person in a write of its own after the create commits, and an Observation
// about an existing Patient, which is one write.
func BenchmarkHTTPCreate(b *testing.B) {
	for _, engine := range benchEngines {
		for _, typ := range []string{"Patient", "Observation"} {
			for _, clients := range []int{1, 4} {
				b.Run(fmt.Sprintf("%s/%s/clients=%d", engine, typ, clients), func(b *testing.B) {
					base := benchServer(b, engine)
					body := benchPatient
					if typ == "Observation" {
						subject := mustCreate(b, base, benchPatient(0))
						body = func(n int) string { return benchObservation(n, "Patient/"+subject) }
					}
					runClients(b, clients, func(i int) { send(b, "POST", base+"/"+typ, body(i), 201) })
				})
			}
		}
	}
}

// BenchmarkHTTPTransaction posts a transaction Bundle of a Patient and an
// Observation about it, from one and from four clients at once.
func BenchmarkHTTPTransaction(b *testing.B) {
	for _, engine := range benchEngines {
		for _, clients := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/clients=%d", engine, clients), func(b *testing.B) {
				base := benchServer(b, engine)
				runClients(b, clients, func(i int) { send(b, "POST", base, benchTransaction(i), 200) })
			})
		}
	}
}

// mustCreate creates a resource and returns its id.
func mustCreate(b *testing.B, base, body string) string {
	b.Helper()
	resp, err := benchClient.Post(base+"/Patient", "application/fhir+json", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 201 {
		b.Fatalf("POST /Patient = %d, want 201", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	rest, _, _ := strings.Cut(strings.TrimPrefix(loc, base+"/Patient/"), "/")
	if rest == "" {
		b.Fatalf("POST /Patient: Location %q is not under %s/Patient/", loc, base)
	}
	return rest
}
