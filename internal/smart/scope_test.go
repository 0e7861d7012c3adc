package smart_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/smart"
)

func TestParseScopes(t *testing.T) {
	ok := []struct{ scope, context, typ, perms, params string }{
		{"patient/Observation.read", "patient", "Observation", "rs", ""},
		{"patient/Observation.write", "patient", "Observation", "cud", ""},
		{"user/*.*", "user", "*", "cruds", ""},
		{"patient/Observation.rs", "patient", "Observation", "rs", ""},
		{"user/*.cruds", "user", "*", "cruds", ""},
		{"system/*.read", "system", "*", "rs", ""},
		{"system/Patient.cd", "system", "Patient", "cd", ""},
		{"patient/Observation.rs?category=laboratory", "patient", "Observation", "rs", "category=laboratory"},
		{"patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs", "patient", "Observation", "rs",
			"category=http%3A%2F%2Fterminology.hl7.org%2FCodeSystem%2Fobservation-category%7Cvital-signs"},
	}
	for _, c := range ok {
		s, err := smart.ParseResourceScope(c.scope)
		if err != nil {
			t.Errorf("%s: %v", c.scope, err)
			continue
		}
		if s.Context != c.context || s.Type != c.typ || s.Perms != c.perms || s.Params.Encode() != c.params {
			t.Errorf("%s parsed as %+v", c.scope, s)
		}
	}
	bad := []string{"patient/Observation", "patient/Observation.", "doctor/Observation.read", "patient/Nonsense.read",
		"patient/Observation.sr", "patient/Observation.rr", "patient/Observation.x", "patient/Observation.read?category=lab",
		"patient/Observation.rs?", "patient/Observation.rs?_id=1", "Observation.read", "launch/nothing"}
	for _, s := range bad {
		if _, err := smart.ParseScopes(s); err == nil {
			t.Errorf("%s was accepted", s)
		}
	}
	sc, err := smart.ParseScopes("openid fhirUser launch/patient offline_access patient/*.rs")
	if err != nil || len(sc.Resource) != 1 || !sc.Has("launch/patient") || !sc.Has("offline_access") {
		t.Errorf("non-resource scopes: %+v %v", sc, err)
	}
}

// TestScopesDecideTypeAndInteraction checks, over HTTP, that a token allows the
// interactions and types its scopes name and no others, and that its context
// limits what it sees.
func TestScopesDecideTypeAndInteraction(t *testing.T) {
	h := newHarness(t, "sqlite")
	ctx := context.Background()
	type req struct {
		method, path, body string
		want               int
	}
	cases := []struct {
		scope, patient string
		reqs           []req
	}{
		{"patient/Observation.rs", "pa", []req{
			{"GET", "/fhir/Observation/oa", "", 200},
			{"GET", "/fhir/Observation/ob", "", 404}, // another patient's: as if missing
			{"GET", "/fhir/Observation", "", 200},
			{"GET", "/fhir/Patient/pa", "", 403},
			{"POST", "/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pa"}}`, 403},
			{"DELETE", "/fhir/Observation/oa", "", 403},
		}},
		{"patient/Observation.r", "pa", []req{
			{"GET", "/fhir/Observation/oa", "", 200},
			{"GET", "/fhir/Observation", "", 403},
		}},
		{"patient/Observation.read patient/Observation.write", "pa", []req{
			{"POST", "/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pa"}}`, 201},
			{"POST", "/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pb"}}`, 403},
		}},
		{"patient/Observation.u", "pa", []req{
			{"PUT", "/fhir/Observation/oa", `{"resourceType":"Observation","id":"oa","status":"amended","code":{"text":"x"},"subject":{"reference":"Patient/pa"}}`, 200},
			{"PUT", "/fhir/Observation/onew1", `{"resourceType":"Observation","id":"onew1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pa"}}`, 403}, // would create
			{"POST", "/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pa"}}`, 403},
		}},
		{"patient/Observation.c", "pa", []req{
			{"POST", "/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pa"}}`, 201},
			{"PUT", "/fhir/Observation/onew2", `{"resourceType":"Observation","id":"onew2","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pa"}}`, 201},
			{"PUT", "/fhir/Observation/oa", `{"resourceType":"Observation","id":"oa","status":"final","code":{"text":"y"},"subject":{"reference":"Patient/pa"}}`, 403}, // would update
			{"PATCH", "/fhir/Observation/oa", `[{"op":"replace","path":"/status","value":"final"}]`, 403},
		}},
		{"user/*.rs", "", []req{
			{"GET", "/fhir/Patient/pa", "", 200},
			{"GET", "/fhir/Patient/pb", "", 404}, // another organization's source
			{"DELETE", "/fhir/Patient/pa", "", 403},
		}},
		{"patient/Observation.rs?category=laboratory", "pa", []req{
			{"GET", "/fhir/Observation/olab", "", 200},
			{"GET", "/fhir/Observation/oa", "", 404}, // not a laboratory result: as if missing
			{"GET", "/fhir/Observation?_summary=count&_total=accurate", "", 200},
			{"GET", "/fhir/Observation/olab/_history", "", 404}, // history cannot evaluate the restriction: left out
			{"POST", "/fhir/Observation", `{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"text":"x"},"subject":{"reference":"Patient/pa"}}`, 403},
		}},
		{"patient/*.rs?category=laboratory", "pa", []req{
			{"GET", "/fhir/Observation/olab", "", 403}, // a restriction on every type grants nothing
		}},
	}
	actx := ehr.WithPrincipal(ctx, ehr.Principal{Subject: "source/test", Source: sourceA, System: true})
	_, _, err := h.svc.Update(actx, "Observation", "olab", map[string]any{"resourceType": "Observation", "id": "olab", "status": "final",
		"category": []any{map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}}}},
		"code":     map[string]any{"text": "x"}, "subject": map[string]any{"reference": "Patient/pa"}}, 0)
	must(t, err)
	n := 0
	for _, c := range cases {
		tok, err := h.auth.IssueToken(ctx, c.scope, "alice", c.patient, time.Hour)
		must(t, err)
		for _, r := range c.reqs {
			resp, body := h.request(r.method, r.path, r.body, "Bearer "+tok)
			n++
			if resp.StatusCode != r.want {
				t.Errorf("%s: %s %s answered %d, want %d: %s", c.scope, r.method, r.path, resp.StatusCode, r.want, body)
			}
			if r.want == 403 && !strings.Contains(string(body), "OperationOutcome") {
				t.Errorf("%s: %s %s: 403 without an OperationOutcome", c.scope, r.method, r.path)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d requests", n)
	}
	tok, err := h.auth.IssueToken(ctx, "patient/Observation.rs?category=laboratory", "alice", "pa", time.Hour)
	must(t, err)
	if _, body := h.request("GET", "/fhir/Observation?_summary=count", "", "Bearer "+tok); !strings.Contains(string(body), `"total":1`) {
		t.Errorf("restricted count = %s, want a total of 1 (olab only)", body)
	}
	_ = http.StatusOK
}

// TestRestrictedScopesAreGrantedAsEnforced: a search-parameter restriction is
// enforced on reads and searches of one type only, so the token response grants
// its r and s letters and leaves out what it would not enforce (writes, "*").
func TestRestrictedScopesAreGrantedAsEnforced(t *testing.T) {
	h := newHarness(t, "sqlite")
	id, secret, err := h.auth.AddClient(context.Background(), smart.Client{Kind: smart.ClientSymmetric, Scopes: "system/*.cruds", Sources: []string{sourceB}})
	must(t, err)
	cases := []struct{ ask, want string }{
		{"system/Observation.crus?category=laboratory system/Condition.rs", "system/Observation.rs?category=laboratory system/Condition.rs"},
		{"system/Observation.rs?category=laboratory", "system/Observation.rs?category=laboratory"},
		{"system/*.rs?category=laboratory system/Patient.r", "system/Patient.r"},
		{"system/Observation.cud?category=laboratory system/Patient.r", "system/Patient.r"},
	}
	for _, c := range cases {
		resp, body := h.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {c.ask}}, id, secret)
		if resp.StatusCode != 200 || body["scope"] != c.want {
			t.Errorf("asked %q: %d, granted %v; want %q", c.ask, resp.StatusCode, body["scope"], c.want)
		}
	}
	resp, body := h.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"system/*.rs?category=laboratory"}}, id, secret)
	if resp.StatusCode != 400 || body["error"] != "invalid_scope" {
		t.Errorf("only an unenforceable scope asked: %d %v, want 400 invalid_scope", resp.StatusCode, body)
	}
}
