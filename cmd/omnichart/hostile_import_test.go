package main_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir/search"
	"omnichart/internal/service"
	"omnichart/internal/store"
	"omnichart/internal/store/postgres"
	"omnichart/internal/store/sqlite"
)

// storeCounts counts the current resources of each type in the store db names.
func storeCounts(t *testing.T, db string) map[string]int {
	t.Helper()
	ctx := context.Background()
	var st *store.Store
	var err error
	if path, ok := strings.CutPrefix(db, "sqlite:"); ok {
		st, err = sqlite.Open(ctx, path, store.Options{})
	} else {
		st, err = postgres.Open(ctx, db, store.Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := service.New(st, service.Options{})
	ctx = ehr.WithPrincipal(ctx, ehr.SystemPrincipal)
	out := map[string]int{}
	q := &search.Query{Count: search.MaxCount}
	for {
		page, err := svc.Search(ctx, q)
		if err != nil {
			t.Fatalf("Search(all) = %v", err)
		}
		for _, r := range page.Records {
			out[r.Type]++
		}
		if page.Next == "" {
			return out
		}
		q.Cursor = page.Next
	}
}

// lowerPeakRSS returns this process's memory to the system and resets its peak
// resident size, and returns its resident size. A child starts in its parent's
// address space (vfork) and inherits its peak, so the ru_maxrss of a child is at
// least the parent's peak; this makes it the parent's current size instead, which
// it returns. See proc(5), /proc/pid/clear_refs.
func lowerPeakRSS(t *testing.T) int64 {
	t.Helper()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Logf("cannot reset the peak resident size (%v); figures include this test's own peak", err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// TestImportMemoryStaysBounded runs "omnichart import" on the inputs that once took
// gigabytes, with the default limits, and measures the peak resident size of the
// process (ru_maxrss). Each is refused with an error that names its limit, quickly,
// with nothing written but its quarantine entry, and within the memory bound that
// docs/limits.md states. With OMNICHART_BENCH_MEMORY=1 it also measures the worst
// cases that are accepted, or refused deep inside a reader. The figures are in
// BENCHMARKS.md ("Memory bounds"); run with -v to see them.
func TestImportMemoryStaysBounded(t *testing.T) {
	const mib = 1 << 20
	dir := t.TempDir()
	ccdaReader, _ := ehrtest.LargeCCDA(200 * mib)
	large := filepath.Join(dir, "large-ccd.xml")
	f, err := os.Create(large)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, ccdaReader); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cases := []struct {
		name     string
		file     func() []byte // nil: large, written above
		path     string
		heavy    bool // a measurement of an accepted worst case, run with OMNICHART_BENCH_MEMORY=1
		wantExit int
		want     string // in the output
		stored   map[string]int
		maxRSS   int64 // bytes
		maxTime  time.Duration
	}{
		{name: "a small HL7 v2 message is imported (the baseline)", path: "oru.hl7",
			file:     func() []byte { return ehrtest.HL7v2Message(30) },
			wantExit: 0, want: "1 new", maxRSS: 128 * mib, maxTime: time.Minute},
		{name: "a bzip2 bomb of 3 GB stops at the decompressed limit", path: "bomb.json.bz2",
			file:     func() []byte { return ehrtest.MustBzip2Bomb(t, 3<<30) },
			wantExit: 1, want: "max-decompressed-bytes", stored: map[string]int{}, maxRSS: 384 * mib, maxTime: time.Minute},
		{name: "a C-CDA of 200 MB is refused after its first bytes", path: "large-ccd.xml",
			wantExit: 1, want: "max-document-bytes", stored: map[string]int{}, maxRSS: 128 * mib, maxTime: time.Minute},
		{name: "an HL7 v2 message of 50,000 segments is refused before it is parsed", path: "huge.hl7",
			file:     func() []byte { return ehrtest.HL7v2Message(50000) },
			wantExit: 1, want: "max-hl7v2-segments", stored: map[string]int{"Task": 1, "Binary": 1}, maxRSS: 128 * mib, maxTime: time.Minute},
		{name: "a transaction Bundle of more entries than the limit is refused", path: "over-entries.json",
			file:     func() []byte { return ehrtest.ObservationBundle(service.DefaultMaxBundleEntries) },
			wantExit: 1, want: "max-bundle-entries", stored: map[string]int{"Task": 1, "Binary": 1}, maxRSS: 384 * mib, maxTime: 2 * time.Minute},
		{name: "a transaction Bundle at the entry limit is imported", path: "at-entries.json", heavy: true,
			file:     func() []byte { return ehrtest.ObservationBundle(service.DefaultMaxBundleEntries - 1) },
			wantExit: 0, want: "1 new", stored: map[string]int{"Patient": 1, "Observation": service.DefaultMaxBundleEntries - 1, "Binary": 1, "DocumentReference": 1, "Provenance": 1}, maxRSS: 1024 * mib, maxTime: 5 * time.Minute},
		{name: "a C-CDA of 60 MB stops at the node limit of the C-CDA reader", path: "nodes-ccd.xml", heavy: true,
			file: func() []byte {
				r, _ := ehrtest.LargeCCDA(60 * mib)
				data, _ := io.ReadAll(r)
				return data
			},
			wantExit: 1, want: "more than 524288 nodes", stored: map[string]int{"Task": 1, "Binary": 1}, maxRSS: 1024 * mib, maxTime: 5 * time.Minute},
		{name: "an HL7 v2 message at the segment limit is imported", path: "limit.hl7", heavy: true,
			file:     func() []byte { return ehrtest.HL7v2Message(5000) },
			wantExit: 0, want: "1 new", maxRSS: 1024 * mib, maxTime: 5 * time.Minute},
		{name: "an embedded document of 60 MB, under the document limit, is imported", path: "unstructured-ccd.xml", heavy: true,
			file:     func() []byte { return ehrtest.UnstructuredCCDA(60 * mib) },
			wantExit: 0, want: "1 new", maxRSS: 1024 * mib, maxTime: 5 * time.Minute},
	}
	heavy := os.Getenv("OMNICHART_BENCH_MEMORY") == "1"
	for i := range cases {
		c := &cases[i]
		if c.heavy && !heavy {
			continue
		}
		path := filepath.Join(dir, c.path)
		if c.file != nil {
			if err := os.WriteFile(path, c.file(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		c.path = path
	}
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				ehrtest.PostgresURL(t)
			}
			// Stores are counted once every import has run: opening one here grows
			// this process, whose size is the floor of every later figure.
			dbs := make([]string, len(cases))
			ran := make([]bool, len(cases))
			for i := range cases {
				dbs[i] = dbArg(t, engine)
			}
			for i, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					if c.heavy && !heavy {
						t.Skip("a measurement of an accepted worst case: run with OMNICHART_BENCH_MEMORY=1")
					}
					db := dbs[i]
					cmd := exec.Command(binary, "import", "--progress", "none", "--db", db, c.path)
					cmd.Dir = t.TempDir()
					floor := lowerPeakRSS(t)
					start := time.Now()
					out, err := cmd.CombinedOutput()
					took := time.Since(start)
					code := 0
					if ee, ok := err.(*exec.ExitError); ok {
						code = ee.ExitCode()
					} else if err != nil {
						t.Fatalf("run omnichart import: %v", err)
					}
					rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024
					t.Logf("%s: exit %d in %v, peak resident %d MiB (this test's own %d MiB is the floor of the figure)",
						filepath.Base(c.path), code, took.Round(10*time.Millisecond), rss/mib, floor/mib)
					if code != c.wantExit || !strings.Contains(string(out), c.want) {
						t.Fatalf("omnichart import exited %d, want %d with %q:\n%s", code, c.wantExit, c.want, out)
					}
					if rss > c.maxRSS {
						t.Errorf("peak resident size %d MiB, want at most %d MiB", rss/mib, c.maxRSS/mib)
					}
					if took > c.maxTime {
						t.Errorf("omnichart import took %v, want at most %v", took, c.maxTime)
					}
					ran[i] = true
				})
			}
			for i, c := range cases {
				if c.stored == nil || !ran[i] {
					continue
				}
				if got := storeCounts(t, dbs[i]); !cmp.Equal(got, c.stored) {
					t.Errorf("%s: the store holds %v, want %v", c.name, got, c.stored)
				}
			}
		})
	}
}

// TestImportQuarantinesAMessageOverTheDocumentLimitWithoutItsBytes imports a file
// of two HL7 v2 messages, one over --max-document-bytes: that one is quarantined
// with the reason but not kept, and the quarantine commands say so.
func TestImportQuarantinesAMessageOverTheDocumentLimitWithoutItsBytes(t *testing.T) {
	work := t.TempDir()
	db := "sqlite:" + filepath.Join(work, "o.db")
	small := ehrtest.HL7v2Message(10)
	big := strings.Replace(string(ehrtest.HL7v2Message(200)), "HOSTILE-1", "HOSTILE-2", 1)
	file := filepath.Join(work, "batch.hl7")
	if err := os.WriteFile(file, append(append(small, '\r'), big...), 0o644); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name     string
		args     []string
		wantExit int
		want     []string
	}{
		{"the message over the limit fails and the other is imported", []string{"import", "--progress", "none", "--max-document-bytes", "4096", "--db", db, file}, 1,
			[]string{"1 new", "1 failed", "failed, too-large (1)", "max-document-bytes", "quarantined as Task/"}},
		{"the entry is in the quarantine", []string{"admin", "quarantine", "list", "--db", db}, 0,
			[]string{"batch.hl7#2", "1 entry"}},
		{"a replay of every entry reports it cannot replay this one", []string{"admin", "quarantine", "replay", "--all", "--db", db}, 1,
			[]string{"keeps no original", "1 failed"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			out, code := omnichart(t, work, s.args...)
			if code != s.wantExit {
				t.Fatalf("omnichart %s exited %d, want %d:\n%s", strings.Join(s.args[:2], " "), code, s.wantExit, out)
			}
			for _, w := range s.want {
				if !strings.Contains(out, w) {
					t.Errorf("omnichart %s output lacks %q:\n%s", strings.Join(s.args[:2], " "), w, out)
				}
			}
		})
	}
	out, _ := omnichart(t, work, "admin", "quarantine", "list", "--db", db)
	id := ""
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "batch.hl7#2") {
			id = strings.Fields(line)[0]
		}
	}
	out, code := omnichart(t, work, "admin", "quarantine", "show", id, "--db", db)
	if code != 0 || !strings.Contains(out, "not kept") {
		t.Errorf("admin quarantine show %s exited %d, want 0 saying the original was not kept:\n%s", id, code, out)
	}
}
