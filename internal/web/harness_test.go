package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"omnichart/internal/audit"
	"omnichart/internal/directory"
	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/ingest"
	"omnichart/internal/mpi"
	"omnichart/internal/service"
	"omnichart/internal/smart"
	"omnichart/internal/store"
	"omnichart/internal/web"
)

const (
	clinician = "dr-jones"
	operator  = "ops-lee"
	password  = "correct horse battery"
	// orgGeneral is the clinicians' organization; it sees the sources the
	// tests give it.
	orgGeneral = "general"
)

// clock is a fake clock the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a web UI over a real store, with the real engine, policy,
// authorization server, patient index and importer.
type env struct {
	t      testing.TB
	srv    *httptest.Server
	svc    *service.Service
	auth   *smart.Server
	index  *mpi.MPI
	im     *ingest.Importer
	dir    *ingest.Directory
	clock  *clock
	logBuf *bytes.Buffer
}

type envOptions struct {
	insecure bool
	// visible are the sources the clinicians' organization sees; nil is every
	// source the test registers, and the patient index.
	visible []string
	// documents and audit are the hooks of the document viewer and audit log.
	documents web.DocumentRenderer
	audit     http.Handler
	// viewer wires the document viewer of package docview (web.DocumentViewer).
	viewer bool
	// auditLog keeps the audit log (package audit) and shows it on /ops/audit.
	auditLog bool
}

func newEnv(t testing.TB, engine string, o envOptions) *env {
	t.Helper()
	st := ehrtest.MustOpen(t, engine, store.Options{})
	var policy ehr.Policy = smart.Policy{Public: []string{directory.Source}}
	if o.insecure {
		policy = ehr.AllowAll{}
	}
	var index *mpi.MPI
	hook := func(ctx context.Context, recs []*ehr.Record) {
		if index != nil {
			index.Committed(ctx, recs)
		}
	}
	logBuf := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: logBuf}, nil))
	var auditor ehr.Auditor
	if o.auditLog {
		key := make([]byte, audit.KeySize)
		rand.Read(key)
		l, err := audit.New(audit.Options{Store: st, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		auditor = l
	}
	svc := service.New(st, service.Options{Policy: policy, AfterCommit: hook, Log: log, Auditor: auditor})
	ctx := system()
	m, _, err := mpi.Open(ctx, svc, mpi.Options{Log: log})
	if err != nil {
		t.Fatalf("mpi.Open = %v", err)
	}
	index = m
	clk := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	auth := smart.New(smart.Config{DB: st.DB(), Postgres: engine != "sqlite", PasswordIterations: 1000, Log: log, Now: clk.now, Auditor: auditor})
	for _, u := range []string{clinician, operator} {
		if err := auth.AddUser(ctx, smart.User{Username: u, Org: orgGeneral}, password); err != nil {
			t.Fatal(err)
		}
	}
	im := ingest.New(ingest.ServiceTarget{Service: svc}, ingest.Options{})
	dir := ingest.NewDirectory(im.Target())
	e := &env{t: t, svc: svc, auth: auth, index: m, im: im, dir: dir, clock: clk, logBuf: logBuf}
	if o.viewer {
		o.documents = web.DocumentViewer(svc)
	}
	var auditStore ehr.AuditStore
	if o.auditLog {
		auditStore = st
	}
	h := web.New(web.Config{Audit: auditStore, Service: svc, Auth: auth, Launcher: auth, InsecureNoAuth: o.insecure, Operators: []string{operator}, Reviews: m,
		Quarantine: web.ImporterQuarantine{Importer: im, Directory: dir}, Now: clk.now, Log: log, Documents: o.documents, AuditLog: o.audit})
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	if o.visible == nil {
		o.visible = []string{mpi.SourceURI}
		for _, s := range plantedSources {
			o.visible = append(o.visible, s.URI)
		}
	}
	for _, s := range o.visible {
		if err := auth.AddOrgSource(ctx, orgGeneral, s); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func system() context.Context {
	return ehr.WithPrincipal(context.Background(), ehr.SystemPrincipal)
}

// register registers a source in the directory.
func (e *env) register(s ingest.Source) {
	e.t.Helper()
	if _, err := e.dir.Add(system(), s); err != nil {
		e.t.Fatalf("register %s: %v", s.Slug, err)
	}
}

// importBundle imports a FHIR transaction Bundle of resources as source src.
func (e *env) importBundle(src ingest.Source, name string, resources ...map[string]any) *ingest.Report {
	e.t.Helper()
	var entries []any
	for _, r := range resources {
		entry := map[string]any{"resource": r, "request": map[string]any{"method": "POST", "url": r["resourceType"]}}
		if id, ok := r["id"].(string); ok {
			entry["fullUrl"] = "urn:uuid:" + id
			delete(r, "id")
		}
		entries = append(entries, entry)
	}
	data, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries})
	if err != nil {
		e.t.Fatal(err)
	}
	rep, err := e.im.Import(system(), src, ingest.Input{Name: name, Data: data})
	if err != nil {
		e.t.Fatalf("Import(%s) = %v", name, err)
	}
	return rep
}

// browser is one user agent with its own cookies.
type browser struct {
	e      *env
	client *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get fetches path and returns the status, the body and the response.
func (b *browser) get(path string) (int, string, *http.Response) {
	b.e.t.Helper()
	resp, err := b.client.Get(b.e.srv.URL + path)
	if err != nil {
		b.e.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp
}

func (b *browser) post(path string, form url.Values) (int, string, *http.Response) {
	b.e.t.Helper()
	resp, err := b.client.PostForm(b.e.srv.URL+path, form)
	if err != nil {
		b.e.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of the first form of a page.
func csrf(tb testing.TB, body string) string {
	tb.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		tb.Fatalf("no csrf field in the page:\n%s", body)
	}
	return m[1]
}

// signIn signs user in and returns the status of the answer to the form.
func (b *browser) signIn(user, pw string) int {
	b.e.t.Helper()
	_, body, _ := b.get("/signin")
	status, _, _ := b.post("/signin", url.Values{"csrf": {csrf(b.e.t, body)}, "username": {user}, "password": {pw}, "next": {"/"}})
	return status
}

// mustSignIn signs user in with the right password.
func (b *browser) mustSignIn(user string) {
	b.e.t.Helper()
	if got := b.signIn(user, password); got != http.StatusSeeOther {
		b.e.t.Fatalf("sign in %s = %d, want %d", user, got, http.StatusSeeOther)
	}
}

// contains fails unless body has every one of want.
func contains(tb testing.TB, what, body string, want ...string) {
	tb.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			tb.Errorf("%s lacks %q", what, w)
		}
	}
}

// clinicContext is the engine's view of a trusted caller writing for the clinic.
func clinicContext(ctx context.Context) context.Context {
	return ehr.WithPrincipal(ctx, ehr.Principal{Subject: "test", Source: plantedSources[0].URI, System: true})
}
