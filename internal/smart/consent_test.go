package smart_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/smart"
)

// total reads the total of a searchset Bundle.
func total(t *testing.T, body []byte) int {
	t.Helper()
	var b struct {
		Total *int `json:"total"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Total == nil {
		t.Fatalf("not a searchset with a total: %s", body)
	}
	return *b.Total
}

// fhirPost sends a FHIR JSON body with a bearer token.
func (h *harness) fhirPost(path, token, body string) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+path, strings.NewReader(body))
	must(h.t, err)
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Authorization", "Bearer "+token)
	return h.do(req)
}

// TestConsentAndBreakTheGlassOverHTTP checks, with real tokens of users of
// org-a (whose source is a), that source b's patient pb is hidden until b writes
// a Consent sharing pb with org-a, hidden again when b revokes it, and reachable
// in an emergency only by a user allowed to break the glass, with a reason, for
// the time asked.
func TestConsentAndBreakTheGlassOverHTTP(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			h := newHarness(t, engine)
			ctx := context.Background()
			must(t, h.auth.AddUser(ctx, smart.User{Username: "erin", Org: "org-a", MayBreakGlass: true}, password))
			alice, err := h.auth.IssueToken(ctx, "user/*.cruds", "alice", "", 8*time.Hour)
			must(t, err)
			erin, err := h.auth.IssueToken(ctx, "user/*.cruds", "erin", "", 8*time.Hour)
			must(t, err)
			hidden := func(who, token string) {
				t.Helper()
				if resp, _ := h.get("/fhir/Patient/pb", token); resp.StatusCode != http.StatusNotFound {
					t.Errorf("%s: GET Patient/pb = %d, want 404", who, resp.StatusCode)
				}
				if _, body := h.get("/fhir/Observation?_summary=count", token); total(t, body) != 1 {
					t.Errorf("%s: Observation count = %d, want 1 (oa only)", who, total(t, body))
				}
			}
			shown := func(who, token string) {
				t.Helper()
				if resp, _ := h.get("/fhir/Patient/pb", token); resp.StatusCode != http.StatusOK {
					t.Errorf("%s: GET Patient/pb = %d, want 200", who, resp.StatusCode)
				}
				if _, body := h.get("/fhir/Observation?_summary=count", token); total(t, body) != 2 {
					t.Errorf("%s: Observation count = %d, want 2 (oa and ob)", who, total(t, body))
				}
			}
			hidden("alice", alice)

			bctx := ehr.WithPrincipal(ctx, ehr.Principal{Subject: "source/b", Source: sourceB, System: true})
			consent := func(status string) {
				t.Helper()
				c := map[string]any{"resourceType": "Consent", "id": "cb", "status": status,
					"scope":    map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}}},
					"category": []any{map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "59284-0"}}}},
					"patient":  map[string]any{"reference": "Patient/pb"},
					"provision": map[string]any{"type": "permit", "actor": []any{map[string]any{
						"role":      map[string]any{"text": "recipient"},
						"reference": map[string]any{"identifier": map[string]any{"system": "urn:omnichart:organization", "value": "org-a"}}}}}}
				_, _, err := h.svc.Update(bctx, "Consent", "cb", c, 0)
				must(t, err)
			}
			consent("active")
			shown("alice", alice)
			ob := `{"resourceType":"Observation","id":"ob","status":"amended","code":{"text":"x"},"subject":{"reference":"Patient/pb"}}`
			req, err := http.NewRequest(http.MethodPut, h.url+"/fhir/Observation/ob", strings.NewReader(ob))
			must(t, err)
			req.Header.Set("Content-Type", "application/fhir+json")
			req.Header.Set("Authorization", "Bearer "+alice)
			if resp, _ := h.do(req); resp.StatusCode != http.StatusForbidden {
				t.Errorf("alice changing b's Observation/ob = %d, want 403 (a Consent opens for reading only)", resp.StatusCode)
			}
			consent("inactive")
			hidden("alice", alice)

			// Break-the-glass.
			if resp, _ := h.fhirPost("/fhir/Patient/pb/$break-the-glass", alice, `{"resourceType":"Parameters","parameter":[{"name":"reason","valueString":"cardiac arrest"}]}`); resp.StatusCode != http.StatusForbidden {
				t.Errorf("alice breaking the glass = %d, want 403", resp.StatusCode)
			}
			if resp, _ := h.fhirPost("/fhir/Patient/pb/$break-the-glass", erin, `{"resourceType":"Parameters","parameter":[]}`); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("erin breaking the glass without a reason = %d, want 400", resp.StatusCode)
			}
			if resp, _ := h.fhirPost("/fhir/Patient/pb/$break-the-glass", erin, `{"resourceType":"Parameters","parameter":[{"name":"reason","valueString":"x"},{"name":"minutes","valueInteger":500}]}`); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("erin breaking the glass for 500 minutes = %d, want 400", resp.StatusCode)
			}
			hidden("erin before breaking the glass", erin)
			resp, body := h.fhirPost("/fhir/Patient/pb/$break-the-glass", erin, `{"resourceType":"Parameters","parameter":[{"name":"reason","valueString":"cardiac arrest"},{"name":"minutes","valueInteger":30}]}`)
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"Patient/pb"`) {
				t.Fatalf("erin breaking the glass = %d %s, want 200 naming Patient/pb", resp.StatusCode, body)
			}
			shown("erin", erin)
			hidden("alice while erin's access is open", alice)
			h.clock.t = h.clock.t.Add(31 * time.Minute)
			hidden("erin after 31 minutes", erin)

			report, err := h.svc.BreakGlassReport(ehr.WithPrincipal(ctx, ehr.SystemPrincipal), time.Time{})
			if err != nil || len(report) != 1 || report[0].User != "erin" || report[0].Reason != "cardiac arrest" {
				t.Errorf("BreakGlassReport = %+v, %v; want erin's one access", report, err)
			}
		})
	}
}
