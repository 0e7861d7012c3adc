package smart_test

import (
	"context"
	"net/http"
	"net/url"
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
