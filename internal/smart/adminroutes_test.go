package smart_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"omnichart/internal/audit"
	"omnichart/internal/ehr"
	"omnichart/internal/smart"
	"omnichart/internal/store"
)

// The administrative routes of the HTTP API are those of the audit log (the
// rest of administration is the command line and the web UI's operations
// pages, whose 403 table is in internal/web). TestAdminRoutesRefuseOrdinaryTokens
// asks each of them with the token of every kind of ordinary caller (the
// clinicians, patient app, backend client of one source and type-limited user
// of the authorization matrix) and expects 403 with an OperationOutcome that
// shows no audit record; a backend client of every source reads them, and no
// token at all may write them.
func TestAdminRoutesRefuseOrdinaryTokens(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			h := newHarness(t, engine, func(st *store.Store) ehr.Auditor {
				l, err := audit.New(audit.Options{Store: st, Key: []byte("0123456789abcdef0123456789abcdef")})
				must(t, err)
				return l
			})
			seedMatrix(t, h)
			callers := matrixCallers(t, h)
			ctx := context.Background()
			id, secret, err := h.auth.AddClient(ctx, smart.Client{Kind: smart.ClientSymmetric, Scopes: "system/*.cruds", Sources: []string{"*"}})
			must(t, err)
			_, tok := h.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"system/*.cruds"}}, id, secret)
			admin, _ := tok["access_token"].(string)
			if admin == "" {
				t.Fatalf("no token for the all-source client: %v", tok)
			}

			reads := []struct{ name, path string }{
				{"search the log", "/fhir/AuditEvent"},
				{"search one user's records", "/fhir/AuditEvent?agent=user/alice"},
				{"search a period", "/fhir/AuditEvent?date=ge2000-01-01"},
				{"search another patient's records", "/fhir/AuditEvent?patient=Patient/mxPatB"},
				{"read a record", "/fhir/AuditEvent/1"},
			}
			writes := []struct{ name, method, path, body string }{
				{"create a record", "POST", "/fhir/AuditEvent", `{"resourceType":"AuditEvent","type":{"code":"rest"},"recorded":"2026-01-01T00:00:00Z","agent":[{"requestor":true}],"source":{"observer":{"display":"x"}}}`},
				{"replace a record", "PUT", "/fhir/AuditEvent/1", `{"resourceType":"AuditEvent","id":"1","type":{"code":"rest"},"recorded":"2026-01-01T00:00:00Z","agent":[{"requestor":true}],"source":{"observer":{"display":"x"}}}`},
				{"delete a record", "DELETE", "/fhir/AuditEvent/1", ""},
			}
			cells := 0
			for _, c := range callers {
				for _, r := range reads {
					resp, body := h.request("GET", r.path, "", "Bearer "+c.token)
					refused(t, c.name+": "+r.name, resp, body)
					cells++
				}
				for _, w := range writes {
					resp, body := h.request(w.method, w.path, w.body, "Bearer "+c.token)
					refused(t, c.name+": "+w.name, resp, body)
					cells++
				}
			}
			if cells < 40 {
				t.Fatalf("only %d cells ran", cells)
			}
			for _, r := range reads {
				resp, body := h.request("GET", r.path, "", "Bearer "+admin)
				if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"AuditEvent"`) {
					t.Errorf("the all-source client: %s: %d %s, want 200 with audit records", r.name, resp.StatusCode, body)
				}
			}
			for _, w := range writes {
				resp, body := h.request(w.method, w.path, w.body, "Bearer "+admin)
				refused(t, "the all-source client: "+w.name, resp, body)
			}
		})
	}
}

// refused checks a 403 with an OperationOutcome that holds no audit record.
func refused(t *testing.T, what string, resp *http.Response, body []byte) {
	t.Helper()
	var doc map[string]any
	if resp.StatusCode != http.StatusForbidden || json.Unmarshal(body, &doc) != nil || doc["resourceType"] != "OperationOutcome" {
		t.Errorf("%s: %d %s, want 403 with an OperationOutcome", what, resp.StatusCode, body)
		return
	}
	for _, leak := range []string{`"AuditEvent/`, `"entry"`, `"recorded"`} {
		if strings.Contains(string(body), leak) {
			t.Errorf("%s: the refusal shows %s: %s", what, leak, body)
		}
	}
}
