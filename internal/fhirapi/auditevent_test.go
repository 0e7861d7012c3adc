package fhirapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"omnichart/internal/audit"
	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir"
	"omnichart/internal/fhirapi"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

var auditKey = []byte("0123456789abcdef0123456789abcdef")

// asPrincipal serves h as the principal of the X-Test-User header: the bearer
// middleware's place, without tokens.
func asPrincipal(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := ehr.Principal{Subject: r.Header.Get("X-Test-User"), Client: "test-app"}
		h.ServeHTTP(w, r.WithContext(ehr.WithPrincipal(r.Context(), p)))
	})
}

// newAuditedServer is newServer with an audit log, and every request made as
// the user its X-Test-User header names.
func newAuditedServer(t *testing.T, engine string, auditor ehr.Auditor) (*client, *store.Store) {
	t.Helper()
	st := ehrtest.MustOpen(t, engine, store.Options{})
	if auditor == nil {
		l, err := audit.New(audit.Options{Store: st, Key: auditKey})
		if err != nil {
			t.Fatal(err)
		}
		auditor = l
	}
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := service.New(st, service.Options{Auditor: auditor, Log: discard})
	api := fhirapi.New(svc, fhirapi.Config{MaxBodyBytes: 1 << 20, Version: "test"}, discard)
	srv := httptest.NewServer(asPrincipal(api))
	t.Cleanup(srv.Close)
	return &client{t: t, base: srv.URL + "/fhir"}, st
}

// TestAuditEventsAreSearchedByPatientUserAndDate makes requests as two users
// about two patients and checks that the AuditEvent searches return exactly
// the records of the requests the test made, as valid R4 AuditEvents.
func TestAuditEventsAreSearchedByPatientUserAndDate(t *testing.T) {
	for _, engine := range ehrtest.Engines {
		t.Run(engine, func(t *testing.T) {
			c, _ := newAuditedServer(t, engine, nil)
			as := func(user string) []string { return []string{"X-Test-User", user} }
			start := time.Now().UTC().Add(-time.Second)
			p1 := c.must(201, "POST", "/Patient", fmt.Sprintf(patientJSON, "1"), as("user/ann")...).json["id"].(string)
			p2 := c.must(201, "POST", "/Patient", fmt.Sprintf(patientJSON, "2"), as("user/bob")...).json["id"].(string)
			c.must(200, "GET", "/Patient/"+p1, "", as("user/bob")...)
			c.must(200, "GET", "/Patient/"+p2, "", as("user/ann")...)
			c.must(200, "GET", "/Patient/"+p1+"/_history/1", "", as("user/ann")...)
			c.must(200, "GET", "/Patient?identifier=http://mrn.example|2", "", as("user/bob")...)
			// The oracle: what each user did to each patient, in order.
			want := map[string][]string{
				"patient=Patient/" + p1:        {"vread", "read", "create"},
				"patient=" + p2:                {"search", "read", "create"},
				"agent=user/ann":               {"vread", "read", "create"},
				"agent=user/bob&patient=" + p1: {"read"},
				"agent=user/bob":               {"search", "read", "create"},
				"date=ge" + start.Format(time.RFC3339) + "&agent=user/ann": {"vread", "read", "create"},
				"date=lt" + start.Format(time.RFC3339) + "&agent=user/ann": nil,
			}
			for query, interactions := range want {
				r := c.must(200, "GET", "/AuditEvent?"+query, "", as("user/auditor")...)
				var got []string
				entries, _ := r.json["entry"].([]any)
				for _, e := range entries {
					res := e.(map[string]any)["resource"].(map[string]any)
					if issues := fhir.R4().Validate(res); len(issues) > 0 {
						t.Fatalf("AuditEvent?%s returned an invalid AuditEvent: %v\n%s", query, issues, r.body)
					}
					sub := res["subtype"].([]any)[0].(map[string]any)["code"].(string)
					got = append(got, strings.TrimSuffix(sub, "-type"))
				}
				if !slices.Equal(got, interactions) {
					t.Errorf("AuditEvent?%s = %v, want %v", query, got, interactions)
				}
			}
			// A page of one record and the link to the next.
			r := c.must(200, "GET", "/AuditEvent?agent=user/ann&_count=1", "", as("user/auditor")...)
			if n := len(r.json["entry"].([]any)); n != 1 {
				t.Fatalf("_count=1 gave %d entries", n)
			}
			var next string
			for _, l := range r.json["link"].([]any) {
				if l.(map[string]any)["relation"] == "next" {
					next = strings.TrimPrefix(l.(map[string]any)["url"].(string), c.base)
				}
			}
			if next == "" {
				t.Fatalf("no next link on the first page: %s", r.body)
			}
			r = c.must(200, "GET", next, "", as("user/auditor")...)
			if id := r.json["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)["id"].(string); id == "" {
				t.Fatal("the second page has no record")
			}
			// A record read by its id is the record the search listed.
			first := c.must(200, "GET", "/AuditEvent?agent=user/bob&_count=1", "", as("user/auditor")...)
			res := first.json["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)
			read := c.must(200, "GET", "/AuditEvent/"+res["id"].(string), "", as("user/auditor")...)
			a, _ := json.Marshal(res)
			b, _ := json.Marshal(read.json)
			if string(a) != string(b) {
				t.Errorf("AuditEvent/%s = %s, want the searched %s", res["id"], b, a)
			}
			c.must(404, "GET", "/AuditEvent/999999", "", as("user/auditor")...)
			c.must(400, "GET", "/AuditEvent?name=x", "", as("user/auditor")...)
		})
	}
}

// TestAuditEventsCannotBeWritten tries every way of writing an AuditEvent
// through the API and checks each is refused and the log is unchanged.
func TestAuditEventsCannotBeWritten(t *testing.T) {
	for _, engine := range ehrtest.Engines {
		t.Run(engine, func(t *testing.T) {
			c, st := newAuditedServer(t, engine, nil)
			user := []string{"X-Test-User", "user/mallory"}
			c.must(201, "POST", "/Patient", fmt.Sprintf(patientJSON, "1"), user...)
			ae := `{"resourceType":"AuditEvent","type":{"code":"rest"},"recorded":"2026-01-01T00:00:00Z","agent":[{"requestor":true}],"source":{"observer":{"display":"x"}}}`
			cases := []struct {
				name, method, path, body string
			}{
				{"create", "POST", "/AuditEvent", ae},
				{"update", "PUT", "/AuditEvent/1", strings.Replace(ae, `"AuditEvent",`, `"AuditEvent","id":"1",`, 1)},
				{"conditional update", "PUT", "/AuditEvent?agent=user/x", ae},
				{"patch", "PATCH", "/AuditEvent/1", `[{"op":"replace","path":"/recorded","value":"2020-01-01T00:00:00Z"}]`},
				{"delete", "DELETE", "/AuditEvent/1", ""},
				{"conditional delete", "DELETE", "/AuditEvent?agent=user/x", ""},
				{"transaction", "POST", "", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":` + ae + `,"request":{"method":"POST","url":"AuditEvent"}}]}`},
				{"batch delete", "POST", "", `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"DELETE","url":"AuditEvent/1"}}]}`},
			}
			before, err := st.AuditEntries(context.Background(), ehr.AuditQuery{Agent: "user/mallory"})
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range cases {
				headers := append([]string{}, user...)
				if tc.method == "PATCH" {
					headers = append(headers, "Content-Type", "application/json-patch+json")
				}
				r := c.do(tc.method, tc.path, tc.body, headers...)
				refused := r.status >= 400
				if tc.name == "batch delete" {
					// A batch answers 200; its entry carries the refusal.
					entry := r.json["entry"].([]any)[0].(map[string]any)["response"].(map[string]any)
					refused = !strings.HasPrefix(entry["status"].(string), "2")
				}
				if !refused {
					t.Errorf("%s of an AuditEvent = %d %s; want it refused", tc.name, r.status, r.body)
				}
			}
			// The first record (the Patient's create) is as it was, and the log verifies.
			r, err := audit.Verify(context.Background(), st, auditKey)
			if err != nil || len(r.Problems) > 0 {
				t.Fatalf("Verify = %v, %v", r.Problems, err)
			}
			after, err := st.AuditEntries(context.Background(), ehr.AuditQuery{Agent: "user/mallory"})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range after[:len(after)-len(before)] {
				ev, _ := audit.Event(e)
				if ev.Outcome == "ok" && ev.Type == "AuditEvent" {
					t.Errorf("record %d says an AuditEvent %s succeeded", e.Seq, ev.Interaction)
				}
			}
		})
	}
}

// TestAReadWhoseAuditFailsReturnsNothing checks over HTTP that a read, a search
// and a write whose audit record cannot be written answer 5xx with an
// OperationOutcome and none of the data.
func TestAReadWhoseAuditFailsReturnsNothing(t *testing.T) {
	c, _ := newAuditedServer(t, "sqlite", brokenAuditor{})
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/Patient", fmt.Sprintf(patientJSON, "1")},
		{"GET", "/Patient?family=Chalmers", ""},
		{"GET", "/Patient/none", ""},
	} {
		r := c.do(tc.method, tc.path, tc.body, "X-Test-User", "user/ann")
		if r.status < 500 || r.json["resourceType"] != "OperationOutcome" || strings.Contains(string(r.body), "Chalmers") {
			t.Errorf("%s %s with a failing audit = %d %s; want 5xx and an OperationOutcome only", tc.method, tc.path, r.status, r.body)
		}
	}
}

type brokenAuditor struct{}

func (brokenAuditor) Record(context.Context, ehr.AccessEvent) error {
	return errors.New("log unavailable")
}
func (brokenAuditor) RecordTx(context.Context, ehr.Tx, ehr.AccessEvent) error {
	return errors.New("log unavailable")
}
