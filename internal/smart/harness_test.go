package smart_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhirapi"
	"omnichart/internal/mpi"
	"omnichart/internal/service"
	"omnichart/internal/smart"
	"omnichart/internal/store"
	"omnichart/internal/web"
)

const (
	sourceA  = "urn:omnichart:source:a"
	sourceB  = "urn:omnichart:source:b"
	password = "correct horse battery"
	redirect = "http://127.0.0.1:1/callback"
)

// clock is a settable clock shared by the authorization server and the test.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

type harness struct {
	t      testing.TB
	url    string
	auth   *smart.Server
	svc    *service.Service
	clock  *clock
	client *http.Client
	db     *sql.DB
	engine string
	store  *store.Store
}

func engines(t *testing.T) []string {
	out := []string{"sqlite"}
	if os.Getenv("OMNICHART_TEST_POSTGRES") != "" || os.Getenv("OMNICHART_REQUIRE_POSTGRES") != "" {
		out = append(out, "postgres")
	}
	// Citus, where it is configured, is the third engine (see ehrtest.AllEngines).
	if slices.Contains(ehrtest.AllEngines, "citus") {
		out = append(out, "citus")
	}
	return out
}

// newHarness serves the FHIR API behind the bearer middleware and the
// authorization server over loopback HTTP, on a fresh store of engine, with one
// organization (org-a owns source a), a user of it, and records of two sources.
//
// With auditor, the engine and the authorization server keep the audit log it
// returns for the store.
func newHarness(t testing.TB, engine string, auditor ...func(*store.Store) ehr.Auditor) *harness {
	t.Helper()
	var a func(*store.Store) ehr.Auditor
	if len(auditor) > 0 {
		a = auditor[0]
	}
	return buildHarness(t, engine, a, false)
}

// newIndexedHarness is newHarness with the master patient index kept up to date
// by every committed write and serving Patient/$match, as omnichart serve wires it.
func newIndexedHarness(t testing.TB, engine string) *harness {
	t.Helper()
	return buildHarness(t, engine, nil, true)
}

func buildHarness(t testing.TB, engine string, auditor func(*store.Store) ehr.Auditor, indexed bool) *harness {
	t.Helper()
	st := ehrtest.MustOpen(t, engine, store.Options{})
	clk := &clock{t: time.Now().Truncate(time.Second)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var a ehr.Auditor
	if auditor != nil {
		a = auditor(st)
	}
	var index atomic.Pointer[mpi.MPI]
	opts := service.Options{Policy: smart.Policy{Now: clk.now}, Log: log, Now: clk.now, Auditor: a}
	if indexed {
		opts.AfterCommit = func(ctx context.Context, recs []*ehr.Record) {
			if m := index.Load(); m != nil {
				m.Committed(ctx, recs)
			}
		}
	}
	svc := service.New(st, opts)
	cfg := fhirapi.Config{Version: "test"}
	if indexed {
		m, _, err := mpi.Open(ehr.WithPrincipal(context.Background(), ehr.SystemPrincipal), svc, mpi.Options{Log: log, Now: clk.now})
		must(t, err)
		index.Store(m)
		cfg.PatientIndex = m
	}
	auth := smart.New(smart.Config{DB: st.DB(), Postgres: engine != "sqlite", Now: clk.now, PasswordIterations: 1000, Log: log, Auditor: a,
		PatientVisible: func(ctx context.Context, id string) (bool, error) {
			_, err := svc.Read(ctx, "Patient", id)
			if code := ehr.ErrorCode(err); code == ehr.NotFound || code == ehr.Gone {
				return false, nil
			}
			return err == nil, err
		}})
	api := fhirapi.New(svc, cfg, log)
	mux := http.NewServeMux()
	mux.Handle("/fhir", fhirapi.RequestIDs(auth.RequireBearer(api)))
	mux.Handle("/fhir/", fhirapi.RequestIDs(auth.RequireBearer(api)))
	mux.Handle("/fhir/.well-known/", auth.Handler())
	mux.Handle("/oauth/", auth.Handler())
	if indexed {
		// The web UI, as omnichart serve mounts it: the authorization matrix
		// signs users in to it too (matrix_web_test.go).
		mux.Handle("/", web.New(web.Config{Service: svc, Auth: auth, Launcher: auth, Reviews: index.Load(), Now: clk.now, Log: log}))
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h := &harness{t: t, url: srv.URL, auth: auth, svc: svc, clock: clk,
		db: st.DB(), engine: engine, store: st,
		client: &http.Client{Jar: newJar(t), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	ctx := context.Background()
	must(t, auth.AddOrgSource(ctx, "org-a", sourceA))
	must(t, auth.AddUser(ctx, smart.User{Username: "alice", Org: "org-a", FHIRUser: "Practitioner/alice"}, password))
	h.seed(sourceA, "pa", "oa")
	h.seed(sourceB, "pb", "ob")
	return h
}

// seed writes a Patient and an Observation of it owned by source.
func (h *harness) seed(source, patient, obs string) {
	ctx := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "source/test", Source: source, System: true})
	_, _, err := h.svc.Update(ctx, "Patient", patient, map[string]any{"resourceType": "Patient", "id": patient}, 0)
	must(h.t, err)
	_, _, err = h.svc.Update(ctx, "Observation", obs, map[string]any{"resourceType": "Observation", "id": obs, "status": "final",
		"code": map[string]any{"text": "x"}, "subject": map[string]any{"reference": "Patient/" + patient}}, 0)
	must(h.t, err)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// get requests path (relative to the server) with a bearer token ("" for none).
func (h *harness) get(path, token string) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.url+path, nil)
	must(h.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return h.do(req)
}

func (h *harness) do(req *http.Request) (*http.Response, []byte) {
	h.t.Helper()
	resp, err := h.client.Do(req)
	must(h.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	must(h.t, err)
	return resp, body
}

// post sends a form, with HTTP Basic client credentials when id is set. A
// sign-in posted to the authorization endpoint is sent as the sign-in page
// sends it: with the csrf field of the form the endpoint gave this client (its
// cookie is in the client's jar), unless the form names one.
func (h *harness) post(path string, form url.Values, basicID, basicSecret string) (*http.Response, map[string]any) {
	h.t.Helper()
	if path == "/oauth/authorize" && form.Get("username") != "" && !form.Has("csrf") {
		form = h.withSignInCSRF(form)
	}
	req, err := http.NewRequest(http.MethodPost, h.url+path, strings.NewReader(form.Encode()))
	must(h.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(basicID, basicSecret)
	}
	resp, body := h.do(req)
	var out map[string]any
	if len(body) > 0 {
		json.Unmarshal(body, &out)
	}
	return resp, out
}

func challengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

const goodVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-abc"

// authorizeCode signs alice in through the authorization endpoint (form POST,
// as the sign-in page does) and returns the code from the redirect.
func (h *harness) authorizeCode(clientID, scope, verifier, patient string) string {
	h.t.Helper()
	form := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect}, "scope": {scope},
		"state": {"st-1"}, "aud": {h.url + "/fhir"}, "code_challenge": {challengeOf(verifier)}, "code_challenge_method": {"S256"},
		"username": {"alice"}, "password": {password}}
	if patient != "" {
		form.Set("patient", patient)
	}
	resp, _ := h.post("/oauth/authorize", form, "", "")
	if resp.StatusCode != http.StatusFound {
		h.t.Fatalf("authorize: status %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	must(h.t, err)
	if loc.Query().Get("state") != "st-1" || loc.Query().Get("code") == "" {
		h.t.Fatalf("authorize redirected to %s, want a code and the state", loc)
	}
	return loc.Query().Get("code")
}

func (h *harness) publicClient(scopes string) string {
	id, _, err := h.auth.AddClient(context.Background(), smart.Client{Kind: smart.ClientPublic, RedirectURIs: []string{redirect}, Scopes: scopes})
	must(h.t, err)
	return id
}

func newJar(t testing.TB) http.CookieJar {
	jar, err := cookiejar.New(nil)
	must(t, err)
	return jar
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// withSignInCSRF asks the authorization endpoint for the sign-in form of the
// request in form and returns form with the form's csrf value added (form as it
// is when the endpoint answers that request without a form).
func (h *harness) withSignInCSRF(form url.Values) url.Values {
	h.t.Helper()
	out, ask := url.Values{}, url.Values{}
	for k, v := range form {
		out[k] = v
		if k != "username" && k != "password" && k != "otp" && k != "patient" && k != "encounter" {
			ask[k] = v
		}
	}
	_, page := h.get("/oauth/authorize?"+ask.Encode(), "")
	m := csrfField.FindSubmatch(page)
	if m == nil {
		// No form for this request (the endpoint refuses it before sign-in):
		// the post gets the same refusal.
		return out
	}
	out.Set("csrf", html.UnescapeString(string(m[1])))
	return out
}
