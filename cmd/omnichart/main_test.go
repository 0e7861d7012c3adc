package main_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir/search"
	"omnichart/internal/ingest/hl7v2"
	"omnichart/internal/store"
	"omnichart/internal/store/sqlite"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "omnichart-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "omnichart")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build omnichart: %v\n%s", err, out)
		os.Exit(1)
	}
	// One audit key for every command the tests run, wherever it runs: a
	// PostgreSQL store's default key file is relative to the working directory,
	// and the tests run each command in a directory of its own.
	os.Setenv("OMNICHART_AUDIT_KEY_FILE", filepath.Join(dir, "audit.key"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is one running omnichart process.
type server struct {
	cmd  *exec.Cmd
	base string
	mllp string
}

// start runs a server without authorization, for the tests of everything else;
// startSecure runs one as it is by default, with authorization.
func start(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	return startSecure(t, env, append([]string{"--insecure-no-auth"}, args...)...)
}

func startSecure(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = t.TempDir()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		cmd.Process.Kill()
		t.Fatalf("omnichart serve printed nothing")
	}
	line := lines.Text()
	i := strings.Index(line, "http")
	if i < 0 {
		cmd.Process.Kill()
		t.Fatalf("omnichart serve printed %q, want its address", line)
	}
	s := &server{cmd: cmd, base: strings.TrimSpace(line[i:])}
	if slices.Contains(args, "--mllp") {
		if !lines.Scan() || !strings.Contains(lines.Text(), "MLLP at ") {
			cmd.Process.Kill()
			t.Fatalf("omnichart serve --mllp did not print its MLLP address")
		}
		s.mllp = strings.TrimSpace(lines.Text()[strings.Index(lines.Text(), "MLLP at ")+len("MLLP at "):])
	}
	go io.Copy(io.Discard, stdout)
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return s
}

func (s *server) post(body string) (int, string, error) {
	resp, err := http.Post(s.base+"/Patient", "application/fhir+json", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

func dbArg(t *testing.T, engine string) string {
	switch engine {
	case "postgres":
		return ehrtest.PostgresSchemaURL(t)
	case "citus":
		return ehrtest.CitusSchemaURL(t)
	}
	return "sqlite:" + ehrtest.SQLitePath(t)
}

// TestEveryAcknowledgedWriteSurvivesSIGKILL kills the server in the middle of a
// stream of concurrent writes and checks, after a restart on the same store, that
// every write that was answered 201 is there and the store opens cleanly.
func TestEveryAcknowledgedWriteSurvivesSIGKILL(t *testing.T) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				ehrtest.PostgresURL(t)
			}
			db := dbArg(t, engine)
			srv := start(t, nil, "--db", db)

			var mu sync.Mutex
			var acked []string
			var n atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						status, loc, err := srv.post(fmt.Sprintf(`{"resourceType":"Patient","identifier":[{"system":"http://k","value":"%d-%d"}]}`, w, i))
						if err != nil {
							return // the server is gone
						}
						if status == 201 {
							mu.Lock()
							acked = append(acked, loc)
							mu.Unlock()
							n.Add(1)
						}
					}
				}(w)
			}
			killWhen(t, srv, stop, &wg, "writes acknowledged with 201", 150, n.Load)

			again := start(t, nil, "--db", db)
			resp, err := http.Get(strings.TrimSuffix(again.base, "/fhir") + "/healthz")
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("healthz after restart = %v, %v", resp, err)
			}
			resp.Body.Close()
			missing := 0
			for _, loc := range acked {
				path := loc[strings.Index(loc, "/fhir/")+len("/fhir"):]
				path = path[:strings.Index(path, "/_history")]
				r, err := http.Get(again.base + path)
				if err != nil {
					t.Fatal(err)
				}
				r.Body.Close()
				if r.StatusCode != 200 {
					missing++
				}
			}
			if missing > 0 {
				t.Errorf("%d of %d acknowledged writes are missing after SIGKILL", missing, len(acked))
			}
			t.Logf("%d acknowledged writes, all present after SIGKILL and restart", len(acked))
		})
	}
}

func TestSIGTERMStopsGracefully(t *testing.T) {
	srv := start(t, []string{"OMNICHART_DB=sqlite:" + ehrtest.SQLitePath(t)})
	if status, _, err := srv.post(`{"resourceType":"Patient"}`); err != nil || status != 201 {
		t.Fatalf("POST = %d, %v", status, err)
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- srv.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("omnichart serve exited with %v after SIGTERM, want success", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("omnichart serve did not stop within 20s of SIGTERM")
	}
}

func TestFlagsComeFromTheEnvironment(t *testing.T) {
	path := ehrtest.SQLitePath(t)
	srv := start(t, []string{"OMNICHART_DB=sqlite:" + path, "OMNICHART_MAX_BODY_BYTES=100"})
	status, _, err := srv.post(`{"resourceType":"Patient","name":[{"text":"` + strings.Repeat("x", 200) + `"}]}`)
	if err != nil || status != 413 {
		t.Errorf("POST of 200 bytes with OMNICHART_MAX_BODY_BYTES=100 = %d, %v; want 413", status, err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("OMNICHART_DB was not used: %v", err)
	}
}

func TestUnknownCommandFails(t *testing.T) {
	out, err := exec.Command(binary, "frobnicate").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "unknown command") {
		t.Errorf("omnichart frobnicate = %v, %s; want a failure naming the unknown command", err, out)
	}
}

// TestServeReceivesHL7v2OverMLLP starts the real binary with --mllp, sends an ADT^A01
// over a loopback socket, and finds the patient through the FHIR API.
func TestServeReceivesHL7v2OverMLLP(t *testing.T) {
	msg, err := os.ReadFile("../../../shared/testdata/hl7v2/ms-fhir-converter/ADT-A01-01.hl7")
	if err != nil {
		ehrtest.MissingTestdata(t, "../shared/testdata is absent")
	}
	srv := start(t, nil, "--db", "sqlite:"+ehrtest.SQLitePath(t), "--mllp", "127.0.0.1:0")
	conn, err := net.Dial("tcp", srv.mllp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msg = bytes.TrimPrefix(msg, []byte("\xef\xbb\xbf"))
	if err := hl7v2.WriteFrame(conn, msg); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	ack, err := hl7v2.ReadFrame(bufio.NewReader(conn), 1<<20)
	if err != nil {
		t.Fatalf("reading the ACK: %v", err)
	}
	parsed, err := hl7v2.Parse(msg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ack), "MSA|AA|"+parsed.ControlID()) {
		t.Fatalf("ACK = %q, want MSA|AA|%s", ack, parsed.ControlID())
	}
	resp, err := http.Get(srv.base + "/Patient?_count=5")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"resourceType":"Patient"`) {
		t.Errorf("no Patient after the ADT^A01: %.300s", body)
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	if err := srv.cmd.Wait(); err != nil {
		t.Errorf("serve --mllp exited with %v after SIGTERM, want success", err)
	}
}

// TestDeferredIndexImportGivesTheSameSearchResults loads the same Synthea files with
// and without --defer-index and compares searches over both stores.
func TestDeferredIndexImportGivesTheSameSearchResults(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/testdata/synthea-r4/0-*.json.bz2")
	if len(files) == 0 {
		ehrtest.MissingTestdata(t, "../shared/testdata is absent")
	}
	files = append(files, "../../../shared/testdata/synthea-r4/0696ac49-3128-87d3-7344-04510aa4f324.json.bz2")
	paths := map[bool]string{}
	for _, deferred := range []bool{false, true} {
		path := ehrtest.SQLitePath(t)
		args := append([]string{"import", "--progress", "none", "--db", "sqlite:" + path}, files...)
		if deferred {
			args = append([]string{"import", "--defer-index", "--progress", "none", "--db", "sqlite:" + path}, files...)
		}
		if out, err := exec.Command(binary, args...).CombinedOutput(); err != nil {
			t.Fatalf("omnichart %v: %v\n%s", args, err, out)
		}
		paths[deferred] = path
	}
	queries := []struct{ typ, query string }{
		{"Patient", "name=a"},
		{"Observation", "code=http://loinc.org|8302-2"},
		{"Observation", "date=ge2015&_sort=-date&_count=50"},
		{"Encounter", "date=lt2010"},
		{"Condition", "code:text=diabetes"},
		{"Practitioner", "name=b&_count=100"},
		{"Organization", "address-city=boston"},
	}
	ctx := context.Background()
	results := map[bool][]string{}
	for deferred, path := range paths {
		st, err := sqlite.Open(ctx, path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range queries {
			sq, _ := search.ParseString(q.typ, q.query)
			sq.Strict = true
			page, err := st.Search(ctx, sq)
			if err != nil {
				t.Fatalf("Search(%s?%s): %v", q.typ, q.query, err)
			}
			var ids []string
			for _, r := range page.Records {
				ids = append(ids, r.ID)
			}
			results[deferred] = append(results[deferred], fmt.Sprintf("%s?%s: %d %v", q.typ, q.query, len(ids), ids))
		}
		st.Close()
	}
	// Resource ids differ between the two loads (they are made fresh), so compare
	// result counts, which must be equal and non-trivial.
	nonEmpty := 0
	for i := range queries {
		a, b := results[false][i], results[true][i]
		na, nb := strings.Fields(a)[1], strings.Fields(b)[1]
		if na != nb {
			t.Errorf("inline %s\ndeferred %s", a, b)
		}
		if na != "0" {
			nonEmpty++
		}
	}
	if nonEmpty < 5 {
		t.Errorf("only %d of %d queries found anything; the comparison proves little: %v", nonEmpty, len(queries), results[false])
	}
}

// killWhen kills the server with SIGKILL once count reaches want (waiting at
// most 60 s: writers stop on their own only when the server is gone, and a
// server that answers but never succeeds would otherwise keep the test
// waiting), then stops the writers and fails the test if want was not reached.
func killWhen(t *testing.T, srv *server, stop chan struct{}, wg *sync.WaitGroup, what string, want int64, count func() int64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for count() < want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	srv.cmd.Process.Signal(syscall.SIGKILL)
	srv.cmd.Wait()
	close(stop)
	wg.Wait()
	if got := count(); got < want {
		t.Fatalf("%d %s within 60s, want %d before the SIGKILL", got, what, want)
	}
}
