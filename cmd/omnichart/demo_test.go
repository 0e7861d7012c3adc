package main_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"omnichart/internal/ehrtest"
)

// demoServer is one running "omnichart demo".
type demoServer struct {
	cmd *exec.Cmd
	// base is the FHIR base URL, web the web UI's; user and password the
	// sign-in it printed; out everything it printed up to the sign-in.
	base, web, user, password string
	out                       string
}

var (
	servingLine = regexp.MustCompile(`serving FHIR R4 at (http://127\.0\.0\.1:\d+/fhir)\n`)
	webLine     = regexp.MustCompile(`web UI at (http://127\.0\.0\.1:\d+/)\n`)
	signInLine  = regexp.MustCompile(`sign in as "([^"]+)" with password "([^"]+)"`)
)

// startDemo runs "omnichart demo" in dir on a free port and waits, at most
// two minutes, for it to print its sign-in.
func startDemo(t *testing.T, dir string, args ...string) *demoServer {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"demo", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	printed := make(chan string, 1)
	go func() {
		var b strings.Builder
		lines := bufio.NewScanner(stdout)
		sent := false
		for lines.Scan() {
			b.WriteString(lines.Text() + "\n")
			if !sent && signInLine.MatchString(lines.Text()) {
				printed <- b.String()
				sent = true
			}
		}
		if !sent {
			printed <- b.String()
		}
	}()
	var out string
	select {
	case out = <-printed:
	case <-time.After(2 * time.Minute):
		t.Fatalf("omnichart demo printed no sign-in within two minutes")
	}
	s := &demoServer{cmd: cmd, out: out}
	m, w, in := servingLine.FindStringSubmatch(out), webLine.FindStringSubmatch(out), signInLine.FindStringSubmatch(out)
	if m == nil || w == nil || in == nil {
		t.Fatalf("omnichart demo printed\n%s\nwant the FHIR base URL, the web UI's URL and the sign-in", out)
	}
	s.base, s.web, s.user, s.password = m[1], w[1], in[1], in[2]
	if s.web != strings.TrimSuffix(s.base, "fhir") {
		t.Errorf("omnichart demo printed the web UI at %s and the FHIR API at %s, want the same server", s.web, s.base)
	}
	return s
}

// stop ends the server with SIGTERM and waits for it.
func (s *demoServer) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("omnichart demo did not stop within 30 s of SIGTERM")
	}
}

// signIn signs the user in through the authorization server's sign-in form,
// as a public app would (authorization code with PKCE), and returns the access
// token: the printed sign-in works, and the token is the user's own.
func signIn(t *testing.T, dir, db, base, user, password string) string {
	t.Helper()
	const redirect = "http://127.0.0.1:1/callback"
	out, code := omnichart(t, dir, "admin", "client", "add", "--db", db, "--kind", "public", "--name", "demo test",
		"--redirect-uri", redirect, "--scope", "user/*.rs")
	m := regexp.MustCompile(`client_id: (\S+)`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("admin client add exited %d: %s", code, out)
	}
	verifier := strings.Repeat("v", 50)
	sum := sha256.Sum256([]byte(verifier))
	form := url.Values{"response_type": {"code"}, "client_id": {m[1]}, "redirect_uri": {redirect}, "scope": {"user/*.rs"},
		"state": {"s1"}, "aud": {base}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}}
	auth := strings.TrimSuffix(base, "/fhir") + "/oauth/"
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// The sign-in form first, as a browser gets it: its csrf field goes with
	// the cookie it sets.
	resp, err := browser.Get(auth + "authorize?" + form.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || csrf == nil {
		t.Fatalf("the sign-in form: %d\n%s", resp.StatusCode, page)
	}
	form.Set("csrf", html.UnescapeString(string(csrf[1])))
	form.Set("username", user)
	form.Set("password", password)
	resp, err = browser.PostForm(auth+"authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc == nil || loc.Query().Get("code") == "" {
		t.Fatalf("sign-in of %s with the printed password: %d, Location %q; want a redirect with a code", user, resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = http.PostForm(auth+"token", url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {redirect}, "client_id": {m[1]}, "code_verifier": {verifier}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token exchange: %d, %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

// total runs a search with _summary=count and returns its total.
func total(t *testing.T, base, token, query string) int {
	t.Helper()
	resp, body := fetch(t, "GET", base+"/"+query+"&_summary=count", token, "")
	var b struct {
		Total *int `json:"total"`
	}
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &b) != nil || b.Total == nil {
		t.Fatalf("GET %s: %d %s", query, resp.StatusCode, body)
	}
	return *b.Total
}

// genTruth runs "omnichart gen" with the options the demo documents and
// returns the number of records each source URI has in its truth.
func genTruth(t *testing.T, dir, people, seed string) map[string]int {
	t.Helper()
	out := filepath.Join(dir, "truth")
	if msg, code := omnichart(t, dir, "gen", "--people", people, "--seed", seed, "--sources", "4", "--difficulty", "hard", "--out", out); code != 0 {
		t.Fatalf("omnichart gen exited %d: %s", code, msg)
	}
	var truth struct {
		Persons []struct {
			Records []struct{ Source string }
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "truth.json"))
	if err != nil || json.Unmarshal(data, &truth) != nil {
		t.Fatalf("truth.json: %v", err)
	}
	want := map[string]int{}
	for _, p := range truth.Persons {
		for _, r := range p.Records {
			want["urn:omnichart:source:"+r.Source]++
		}
	}
	return want
}

// TestDemoBuildsItsDataSetOnceAndSignsInItsClinician starts the demo on an
// empty data directory and checks, through the FHIR API with the token of the
// clinician it printed, that each enterprise has the Patients the generator's
// truth and the shipped files give it, that records are linked across sources,
// that the review queue and the quarantine have something in them, and that
// enterprises are connected to the EMR directory's products; then starts it
// again and checks that the data set is reused as it was.
func TestDemoBuildsItsDataSetOnceAndSignsInItsClinician(t *testing.T) {
	for _, engine := range ehrtest.Engines {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				ehrtest.PostgresURL(t)
			}
			work := t.TempDir()
			db := "sqlite:" + filepath.Join(work, "omnichart-demo", "omnichart.db")
			var args []string
			if engine == "postgres" {
				db = dbArg(t, engine)
				args = []string{"--db", db}
			}
			args = append(args, "--people", "12", "--seed", "3")
			want := genTruth(t, t.TempDir(), "12", "3")
			// The shipped files add Rosalind Okafor and Tobias Lindqvist at St.
			// Mary's, Rosalind Okafor at the laboratory and Tobias Lindqvist at
			// the pharmacy (two pairs the matcher cannot decide); two malformed
			// messages (St. Mary's and the laboratory's) go to the quarantine.
			want["urn:omnichart:source:st-marys"] += 2
			want["urn:omnichart:source:northside-lab"]++
			want["urn:omnichart:source:main-street-pharmacy"]++

			start := time.Now()
			d := startDemo(t, work, args...)
			t.Logf("first start: data set built and server listening in %s", time.Since(start).Round(100*time.Millisecond))
			if !strings.Contains(d.out, "building the demo data set") || d.user != "clinician" || len(d.password) < 12 {
				t.Errorf("the first start printed\n%s\nwant it to build the data set and name the clinician with a password", d.out)
			}
			resp, body := fetch(t, "GET", d.base+"/Patient", "", "")
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET /Patient without a token = %d %.200s, want 401: the demo keeps authorization on", resp.StatusCode, body)
			}
			token := signIn(t, work, db, d.base, d.user, d.password)

			counts := map[string]int{}
			for src, n := range want {
				counts[src] = total(t, d.base, token, "Patient?_source="+src)
				if counts[src] != n {
					t.Errorf("Patients of %s = %d, want %d (generator truth and shipped files)", src, counts[src], n)
				}
			}
			if len(want) != 4 {
				t.Errorf("the truth names %d sources, want 4", len(want))
			}
			for _, id := range []string{"urn:oid:2.999.1.1.1|90000001", "urn:oid:2.999.1.1.1|90000002", "urn:oid:2.999.1.3.1|L9000001", "urn:oid:2.999.1.4.1|RX900002"} {
				if n := total(t, d.base, token, "Patient?identifier="+id); n != 1 {
					t.Errorf("Patients with identifier %s = %d, want 1 (a shipped file's)", id, n)
				}
			}
			// The clinician works for St. Mary's (its organization sees every
			// enterprise): reconciliation of a St. Mary's Patient is theirs.
			resp, body = fetch(t, "GET", d.base+"/Patient?identifier=urn:oid:2.999.1.1.1|90000001", token, "")
			var found struct {
				Entry []struct{ Resource struct{ ID string } }
			}
			if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &found) != nil || len(found.Entry) != 1 {
				t.Fatalf("GET Patient?identifier=...|90000001: %d %.300s", resp.StatusCode, body)
			}
			resp, body = fetch(t, "GET", d.base+"/Patient/"+found.Entry[0].Resource.ID+"/$reconcile", token, "")
			if resp.StatusCode != 200 || !strings.Contains(body, `"valueUri":"urn:omnichart:source:st-marys"`) {
				t.Errorf("the clinician's $reconcile of St. Mary's Patient: %d %.300s; want 200 for the source st-marys", resp.StatusCode, body)
			}
			// The discharge summary and the CCD are St. Mary's originals.
			if n := total(t, d.base, token, "Composition?_source=urn:omnichart:source:st-marys"); n != 2 {
				t.Errorf("Compositions of St. Mary's = %d, want 2 (the shipped C-CDA documents)", n)
			}
			// The master patient index's own records are read with a token of
			// every source (users reach them through the review queue).
			out, code := omnichart(t, work, "admin", "token", "--db", db, "--scope", "system/*.rs")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if code != 0 {
				t.Fatalf("admin token: exit %d: %s", code, out)
			}
			system := lines[len(lines)-1]
			if n := total(t, d.base, system, "Task?code=urn:omnichart:task|match-review&status=requested"); n < 2 {
				t.Errorf("open match-review Tasks = %d, want at least 2 (the shipped Okafor and Lindqvist pairs)", n)
			}
			if n := total(t, d.base, token, "Task?identifier=urn:omnichart:quarantine|&status=failed"); n != 2 {
				t.Errorf("quarantined messages = %d, want 2 (the malformed shipped messages)", n)
			}
			resp, body = fetch(t, "GET", d.base+"/Person?_count=200", system, "")
			var persons struct {
				Entry []struct {
					Resource struct {
						Link []struct{ Target struct{ Reference string } }
					}
				}
			}
			if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &persons) != nil {
				t.Fatalf("GET Person: %d %.300s", resp.StatusCode, body)
			}
			linked := 0
			for _, p := range persons.Entry {
				if len(p.Resource.Link) >= 2 {
					linked++
				}
			}
			if linked < 1 {
				t.Errorf("%d Persons link two or more source records, want at least 1", linked)
			}
			if resp, body := fetch(t, "GET", d.base+"/DeviceDefinition/chpl-11453", token, ""); resp.StatusCode != 200 || !strings.Contains(body, "EpicCare Inpatient") {
				t.Errorf("the clinician's read of the directory's product DeviceDefinition/chpl-11453: %d %.200s", resp.StatusCode, body)
			}
			out, code = omnichart(t, work, "directory", "connected", "--db", db)
			for _, w := range []string{"EpicCare Inpatient Base (Epic Systems Corporation)", "athenaClinicals (athenahealth, Inc.)"} {
				if code != 0 || !strings.Contains(out, w) {
					t.Errorf("directory connected (exit %d) =\n%s\nwant a source connected to %s", code, out, w)
				}
			}
			documents := total(t, d.base, token, "DocumentReference?_source=urn:omnichart:source:st-marys")
			d.stop(t)

			again := startDemo(t, work, args...)
			if !strings.Contains(again.out, "reusing the demo data set") || strings.Contains(again.out, "building") {
				t.Errorf("the second start printed\n%s\nwant it to reuse the data set", again.out)
			}
			if again.password != d.password {
				t.Errorf("the second start printed password %q, want the first one's %q", again.password, d.password)
			}
			token = signIn(t, work, db, again.base, again.user, again.password)
			for src, n := range counts {
				if got := total(t, again.base, token, "Patient?_source="+src); got != n {
					t.Errorf("after a second start, Patients of %s = %d, want %d as before", src, got, n)
				}
			}
			if got := total(t, again.base, token, "DocumentReference?_source=urn:omnichart:source:st-marys"); got != documents {
				t.Errorf("after a second start, St. Mary's originals = %d, want %d as before (nothing imported again)", got, documents)
			}
		})
	}
}

// TestDemoRefusesToRunWithoutAuthorization checks that the demo does not offer
// --insecure-no-auth and creates nothing when refusing it.
func TestDemoRefusesToRunWithoutAuthorization(t *testing.T) {
	dir := t.TempDir()
	out, code := omnichart(t, dir, "demo", "--insecure-no-auth", "--addr", "127.0.0.1:0")
	if code == 0 || !strings.Contains(out, "--insecure-no-auth is not offered") {
		t.Errorf("omnichart demo --insecure-no-auth exited %d: %s; want a refusal", code, out)
	}
	if made, _ := os.ReadDir(dir); len(made) > 0 {
		t.Errorf("omnichart demo --insecure-no-auth created %s, want nothing", made[0].Name())
	}
}
