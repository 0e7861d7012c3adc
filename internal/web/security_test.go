package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"omnichart/internal/ehrtest"
	"omnichart/internal/mpi"
)

func TestSignInRefusesWithOneAnswerAndLocksOut(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	cases := []struct {
		name, user, pw string
		want           int
	}{
		{"a wrong password is refused", clinician, "wrong password!!", http.StatusUnauthorized},
		{"an unknown user gets the same answer", "nobody-here", "wrong password!!", http.StatusUnauthorized},
		{"the right password signs in", clinician, password, http.StatusSeeOther},
	}
	var bodies []string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := e.browser()
			_, page, _ := b.get("/signin")
			status, body, _ := b.post("/signin", url.Values{"csrf": {csrf(t, page)}, "username": {c.user}, "password": {c.pw}})
			if status != c.want {
				t.Fatalf("POST /signin (%s) = %d, want %d", c.user, status, c.want)
			}
			if status == http.StatusUnauthorized {
				bodies = append(bodies, body[strings.Index(body, "<main"):strings.Index(body, `name="csrf"`)])
			}
		})
	}
	if len(bodies) != 2 || bodies[0] != bodies[1] {
		t.Errorf("the answers to an unknown user and a wrong password differ:\n%q", bodies)
	}
	t.Run("ten failures lock the account", func(t *testing.T) {
		b := e.browser()
		for range 10 {
			b.signIn(operator, "wrong password!!")
		}
		if got := b.signIn(operator, password); got != http.StatusUnauthorized {
			t.Errorf("sign in after 10 failures = %d, want %d (locked)", got, http.StatusUnauthorized)
		}
	})
	t.Run("a sign-in without the form's token is refused", func(t *testing.T) {
		b := e.browser()
		status, _, _ := b.post("/signin", url.Values{"username": {clinician}, "password": {password}})
		if status != http.StatusForbidden {
			t.Errorf("POST /signin without csrf = %d, want 403", status)
		}
	})
}

func TestSessionCookieHeadersAndIdleTimeout(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	e.plant()
	b := e.browser()
	_, page, _ := b.get("/signin")
	_, _, resp := b.post("/signin", url.Values{"csrf": {csrf(t, page)}, "username": {clinician}, "password": {password}, "next": {"/"}})
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "omnichart_session" && c.Value != "" {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatalf("sign-in set no session cookie")
	}
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" {
		t.Errorf("session cookie: HttpOnly %v, SameSite %v, Path %q; want HttpOnly, Strict, /", cookie.HttpOnly, cookie.SameSite, cookie.Path)
	}
	if len(cookie.Value) < 43 {
		t.Errorf("session id has %d characters, want at least 43 (256 bits)", len(cookie.Value))
	}
	status, body, resp := b.get("/")
	if status != http.StatusOK {
		t.Fatalf("GET / signed in = %d", status)
	}
	headers := []struct{ name, want string }{
		{"Content-Security-Policy", "default-src 'none'"},
		{"Content-Security-Policy", "frame-ancestors 'none'"},
		{"X-Content-Type-Options", "nosniff"},
		{"Cache-Control", "no-store"},
	}
	for _, h := range headers {
		if got := resp.Header.Get(h.name); !strings.Contains(got, h.want) {
			t.Errorf("%s = %q, want it to contain %q", h.name, got, h.want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe") || strings.Contains(csp, "script-src") {
		t.Errorf("Content-Security-Policy %q allows scripts", csp)
	}
	if strings.Contains(body, "<script") || strings.Contains(body, " style=") {
		t.Errorf("the page has inline script or style, which the CSP forbids")
	}
	t.Run("a form without the session's token is refused", func(t *testing.T) {
		status, _, _ := b.post("/signout", url.Values{"csrf": {"forged"}})
		if status != http.StatusForbidden {
			t.Errorf("POST /signout with a forged token = %d, want 403", status)
		}
	})
	t.Run("use within the idle time keeps the session", func(t *testing.T) {
		e.clock.advance(14 * time.Minute)
		if status, _, _ := b.get("/"); status != http.StatusOK {
			t.Errorf("GET / after 14 idle minutes = %d, want 200", status)
		}
	})
	t.Run("the session ends after the idle time", func(t *testing.T) {
		e.clock.advance(15 * time.Minute)
		status, _, resp := b.get("/")
		if status != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
			t.Errorf("GET / after 15 idle minutes = %d to %q, want 303 to /signin", status, resp.Header.Get("Location"))
		}
	})
	t.Run("a disabled user is signed out at the next page", func(t *testing.T) {
		b2 := e.browser()
		b2.mustSignIn(operator)
		if err := e.auth.DisableUser(system(), operator); err != nil {
			t.Fatal(err)
		}
		status, _, resp := b2.get("/")
		if status != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
			t.Errorf("GET / after the user was disabled = %d to %q, want 303 to /signin", status, resp.Header.Get("Location"))
		}
	})
	t.Run("signing out ends the session", func(t *testing.T) {
		b2 := e.browser()
		b2.mustSignIn(clinician)
		_, page, _ := b2.get("/")
		if status, _, _ := b2.post("/signout", url.Values{"csrf": {csrf(t, page)}}); status != http.StatusSeeOther {
			t.Fatalf("POST /signout = %d", status)
		}
		if status, _, _ := b2.get("/"); status != http.StatusSeeOther {
			t.Errorf("GET / after signing out = %d, want 303 to the sign-in page", status)
		}
	})
}

func TestOperationsPagesAreForOperators(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	e.plant()
	e.plantReview()
	e.plantQuarantine()
	pages := []string{"/ops/sources", "/ops/review", "/ops/quarantine", "/ops/audit"}
	users := []struct {
		user string
		want int
	}{{clinician, http.StatusForbidden}, {operator, http.StatusOK}}
	for _, u := range users {
		b := e.browser()
		b.mustSignIn(u.user)
		for _, p := range pages {
			t.Run(u.user+" "+p, func(t *testing.T) {
				status, body, _ := b.get(p)
				if status != u.want {
					t.Errorf("GET %s as %s = %d, want %d", p, u.user, status, u.want)
				}
				if status == http.StatusOK && p == "/ops/review" {
					contains(t, "the review page", body, "Field-by-field weights", "birthDate", "Not the same person", "Rita Review", "5 Far Away Road")
				}
				if status == http.StatusOK && p == "/ops/quarantine" {
					contains(t, "the quarantine page", body, "broken.hl7", "requires a PID segment", "Replay")
				}
			})
		}
		t.Run(u.user+" replays", func(t *testing.T) {
			_, page, _ := b.get("/")
			status, _, _ := b.post("/ops/quarantine/x/replay", url.Values{"csrf": {csrf(t, page)}})
			if u.want == http.StatusForbidden && status != http.StatusForbidden {
				t.Errorf("POST replay as %s = %d, want 403", u.user, status)
			}
		})
	}
}

// TestPagesKeepTheAccessRules signs in a clinician whose organization sees
// only the clinic: the hospital's records of a linked person are neither shown
// in the chart nor reachable by id, on both engines.
func TestPagesKeepTheAccessRules(t *testing.T) {
	for _, engine := range ehrtest.Engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine, envOptions{visible: []string{plantedSources[0].URI, mpi.SourceURI}})
			e.plant()
			all := e.browser()
			// An operator of the same organization sees the same: the rule is
			// the organization's, not the page's.
			all.mustSignIn(clinician)
			ids := all.find("Planted")
			if len(ids) != 1 {
				t.Fatalf("search Planted = %d records, want 1 (the clinic's only)", len(ids))
			}
			_, chart, _ := all.get("/patients/" + ids[0])
			if strings.Contains(chart, plantedSources[1].Name) {
				t.Errorf("the chart names %s, whose records the clinician's organization may not see", plantedSources[1].Name)
			}
			hospital, err := e.svc.LinkedPatients(system(), ids[0])
			if err != nil || len(hospital) != 2 {
				t.Fatalf("LinkedPatients as system = %v, %v; want the two linked records", hospital, err)
			}
			status, _, _ := all.get("/patients/" + hospital[1])
			if status != http.StatusNotFound {
				t.Errorf("GET the hospital's record = %d, want 404 (as if it did not exist)", status)
			}
		})
	}
}

func TestInsecureModeSaysSoOnEveryPage(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{insecure: true})
	e.plant()
	b := e.browser()
	ids := b.find("Planted")
	if len(ids) != 2 {
		t.Fatalf("search Planted without authorization = %d records, want 2", len(ids))
	}
	for _, p := range []string{"/", "/patients/" + ids[0], "/ops/sources", "/nowhere"} {
		_, body, _ := b.get(p)
		contains(t, "GET "+p, body, "Authorization is off (--insecure-no-auth)")
	}
}
