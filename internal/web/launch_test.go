package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"omnichart/internal/ehrtest"
	"omnichart/internal/mpi"
	"omnichart/internal/smart"
)

// TestAChartLaunchesAnAppForItsPatient registers a SMART app with a launch URL
// and one without, and shows that the chart offers only the first, that its
// button sends the browser to the app's launch URL with this server's FHIR base
// as iss and a launch value, and that a patient outside the clinician's view, an
// unknown app and a form without its CSRF token launch nothing.
func TestAChartLaunchesAnAppForItsPatient(t *testing.T) {
	for _, engine := range ehrtest.Engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine, envOptions{visible: []string{plantedSources[0].URI, mpi.SourceURI}})
			e.plant()
			ctx := system()
			const launchURL = "https://growth.example/launch?v=2"
			app, _, err := e.auth.AddClient(ctx, smart.Client{Name: "Growth Charts", Kind: smart.ClientPublic,
				RedirectURIs: []string{"https://growth.example/cb"}, Scopes: "launch patient/*.rs", LaunchURL: launchURL})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := e.auth.AddClient(ctx, smart.Client{Name: "Backend Only", Kind: smart.ClientPublic,
				RedirectURIs: []string{"https://other.example/cb"}, Scopes: "patient/*.rs"}); err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{"javascript:alert(1)", "/relative/launch", "ftp://x.example/launch", "https://x.example/launch#frag"} {
				if _, _, err := e.auth.AddClient(ctx, smart.Client{Name: "Bad", Kind: smart.ClientPublic,
					RedirectURIs: []string{"https://bad.example/cb"}, Scopes: "patient/*.rs", LaunchURL: bad}); err == nil {
					t.Errorf("a client with launch URL %q was registered, want it refused", bad)
				}
			}

			b := e.browser()
			b.mustSignIn(clinician)
			ids := b.find("Planted")
			if len(ids) != 1 {
				t.Fatalf("search Planted = %d records, want 1 (the clinic's only)", len(ids))
			}
			chartPath := "/patients/" + ids[0]
			_, chart, _ := b.get(chartPath)
			contains(t, "the chart", chart, `action="`+chartPath+`/launch"`, `name="app" value="`+app+`"`, "Growth Charts")
			if strings.Contains(chart, "Backend Only") {
				t.Errorf("the chart offers an app without a launch URL")
			}

			status, body, resp := b.post(chartPath+"/launch", url.Values{"csrf": {csrf(t, chart)}, "app": {app}})
			if status != http.StatusSeeOther {
				t.Fatalf("POST launch = %d, want 303\n%s", status, body)
			}
			to, err := url.Parse(resp.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			q := to.Query()
			if to.Scheme != "https" || to.Host != "growth.example" || to.Path != "/launch" || q.Get("v") != "2" {
				t.Errorf("launch redirect to %s, want the app's launch URL %s with its query kept", to, launchURL)
			}
			if q.Get("iss") != e.srv.URL+"/fhir" {
				t.Errorf("launch iss = %q, want %q", q.Get("iss"), e.srv.URL+"/fhir")
			}
			if len(q.Get("launch")) < 20 || strings.Contains(q.Get("launch"), ids[0]) {
				t.Errorf("launch value %q: want an opaque value that does not carry the patient id", q.Get("launch"))
			}

			linked, err := e.svc.LinkedPatients(system(), ids[0])
			if err != nil || len(linked) != 2 {
				t.Fatalf("LinkedPatients as system = %v, %v; want the two linked records", linked, err)
			}
			hidden := linked[0]
			if hidden == ids[0] {
				hidden = linked[1]
			}
			for name, c := range map[string]struct {
				path string
				form url.Values
				want int
			}{
				"a patient outside the view": {"/patients/" + hidden + "/launch", url.Values{"csrf": {csrf(t, chart)}, "app": {app}}, http.StatusNotFound},
				"a missing patient":          {"/patients/nobody-here/launch", url.Values{"csrf": {csrf(t, chart)}, "app": {app}}, http.StatusNotFound},
				"an unknown app":             {chartPath + "/launch", url.Values{"csrf": {csrf(t, chart)}, "app": {"no-such-app"}}, http.StatusBadRequest},
				"no CSRF token":              {chartPath + "/launch", url.Values{"app": {app}}, http.StatusForbidden},
			} {
				status, body, resp := b.post(c.path, c.form)
				if status != c.want || resp.Header.Get("Location") != "" {
					t.Errorf("%s: POST launch = %d (Location %q), want %d and no redirect\n%.300s", name, status, resp.Header.Get("Location"), c.want, body)
				}
				// Answered as a missing one: the page says only that the id the
				// caller sent is not known.
				if c.want == http.StatusNotFound && !strings.Contains(body, "is not known") {
					t.Errorf("%s: the answer is not the one of a missing patient\n%.300s", name, body)
				}
			}
		})
	}
}
