package smart_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"omnichart/internal/smart"
	"strings"
	"testing"
	"time"
)

func TestEHRLaunch(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			h := newHarness(t, engine)
			client := h.publicClient("patient/*.rs user/*.rs")
			launch, err := h.auth.NewLaunch(context.Background(), "pa", "enc-1")
			must(t, err)
			authorize := func(launch, scope string) *http.Response {
				form := url.Values{"response_type": {"code"}, "client_id": {client}, "redirect_uri": {redirect}, "scope": {scope},
					"state": {"st-1"}, "aud": {h.url + "/fhir"}, "code_challenge": {challengeOf(goodVerifier)}, "code_challenge_method": {"S256"},
					"launch": {launch}, "username": {"alice"}, "password": {password}}
				resp, _ := h.post("/oauth/authorize", form, "", "")
				return resp
			}
			// The sign-in form of an EHR launch asks for no patient: the launch says who.
			resp, page := h.get("/oauth/authorize?"+url.Values{"response_type": {"code"}, "client_id": {client}, "redirect_uri": {redirect},
				"scope": {"launch patient/Observation.rs"}, "aud": {h.url + "/fhir"}, "code_challenge": {challengeOf(goodVerifier)},
				"code_challenge_method": {"S256"}, "launch": {launch}}.Encode(), "")
			if resp.StatusCode != 200 || strings.Contains(string(page), `name="patient"`) || !strings.Contains(string(page), `name="launch"`) {
				t.Errorf("EHR launch sign-in form: %d\n%s", resp.StatusCode, page)
			}
			resp = authorize(launch, "launch patient/Observation.rs openid fhirUser")
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || loc.Query().Get("code") == "" {
				t.Fatalf("EHR launch authorize: %d %s", resp.StatusCode, loc)
			}
			_, tok := h.post("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
				"redirect_uri": {redirect}, "client_id": {client}, "code_verifier": {goodVerifier}}, "", "")
			if tok["patient"] != "pa" || tok["encounter"] != "enc-1" {
				t.Fatalf("EHR launch token response %v: want patient pa and encounter enc-1", tok)
			}
			_, search := h.get("/fhir/Observation", tok["access_token"].(string))
			if !strings.Contains(string(search), `"id":"oa"`) || strings.Contains(string(search), `"id":"ob"`) {
				t.Errorf("EHR-launched search: %s", search)
			}
			for name, c := range map[string][2]string{
				"unknown launch":  {"not-a-launch", "launch patient/Observation.rs"},
				"no launch scope": {launch, "patient/Observation.rs"},
				"expired launch":  {"", ""},
			} {
				if name == "expired launch" {
					h.clock.t = h.clock.t.Add(6 * time.Minute)
					c = [2]string{launch, "launch patient/Observation.rs"}
				}
				resp := authorize(c[0], c[1])
				loc, _ := url.Parse(resp.Header.Get("Location"))
				if resp.StatusCode != http.StatusFound || loc.Query().Get("error") == "" || loc.Query().Get("code") != "" {
					t.Errorf("%s: %d %s, want an error redirect", name, resp.StatusCode, loc)
				}
			}
		})
	}
}

// TestEHRLaunchOfARegisteredApp starts an app registered with a launch URL the
// way the chart does (EHRLaunch) and follows the app through the authorization
// endpoint: the token response carries the chart's patient, and only enabled
// apps with a launch URL are listed and launched.
func TestEHRLaunchOfARegisteredApp(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			h := newHarness(t, engine)
			ctx := context.Background()
			app, _, err := h.auth.AddClient(ctx, smart.Client{Name: "Growth Charts", Kind: smart.ClientPublic, RedirectURIs: []string{redirect},
				Scopes: "launch patient/*.rs", LaunchURL: "https://growth.example/launch"})
			must(t, err)
			off, _, err := h.auth.AddClient(ctx, smart.Client{Name: "Retired", Kind: smart.ClientPublic, RedirectURIs: []string{redirect},
				Scopes: "launch patient/*.rs", LaunchURL: "https://retired.example/launch"})
			must(t, err)
			must(t, h.auth.DisableClient(ctx, off))
			plain := h.publicClient("patient/*.rs")

			apps, err := h.auth.LaunchApps(ctx)
			must(t, err)
			if len(apps) != 1 || apps[0].ClientID != app || apps[0].Name != "Growth Charts" {
				t.Fatalf("LaunchApps = %+v, want only Growth Charts", apps)
			}
			chart := httptest.NewRequest("POST", h.url+"/patients/pa/launch", nil)
			for _, id := range []string{off, plain, "no-such-client"} {
				if _, err := h.auth.EHRLaunch(chart, id, "pa", ""); !errors.Is(err, smart.ErrNoApp) {
					t.Errorf("EHRLaunch(%s) = %v, want ErrNoApp", id, err)
				}
			}
			to, err := h.auth.EHRLaunch(chart, app, "pa", "")
			must(t, err)
			u, err := url.Parse(to)
			must(t, err)
			if u.Host != "growth.example" || u.Query().Get("iss") != h.url+"/fhir" || u.Query().Get("launch") == "" {
				t.Fatalf("EHRLaunch = %s, want the launch URL with iss %s/fhir and a launch value", to, h.url)
			}
			form := url.Values{"response_type": {"code"}, "client_id": {app}, "redirect_uri": {redirect}, "scope": {"launch patient/Observation.rs"},
				"state": {"st-1"}, "aud": {u.Query().Get("iss")}, "code_challenge": {challengeOf(goodVerifier)}, "code_challenge_method": {"S256"},
				"launch": {u.Query().Get("launch")}, "username": {"alice"}, "password": {password}}
			resp, _ := h.post("/oauth/authorize", form, "", "")
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || loc.Query().Get("code") == "" {
				t.Fatalf("authorize with the chart's launch: %d %s", resp.StatusCode, loc)
			}
			_, tok := h.post("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
				"redirect_uri": {redirect}, "client_id": {app}, "code_verifier": {goodVerifier}}, "", "")
			if tok["patient"] != "pa" {
				t.Fatalf("token response %v: want the chart's patient pa", tok)
			}
		})
	}
}
