package smart_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"omnichart/internal/audit"
	"omnichart/internal/ehr"
	"omnichart/internal/store"
)

var auditKey = []byte("0123456789abcdef0123456789abcdef")

func withAuditLog(t testing.TB) func(*store.Store) ehr.Auditor {
	return func(st *store.Store) ehr.Auditor {
		l, err := audit.New(audit.Options{Store: st, Key: auditKey})
		must(t, err)
		return l
	}
}

// TestSignInsAndTokensAreAudited signs in with a wrong and a right password,
// exchanges the code, uses the token, and checks the records the log holds
// for the user, in order, with the client, the organization and the address.
func TestSignInsAndTokensAreAudited(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			h := newHarness(t, engine, withAuditLog(t))
			client := h.publicClient("user/*.rs")
			if resp, _ := h.signInForm(client, "alice", "wrong password!"); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("wrong password: %d", resp.StatusCode)
			}
			code := h.authorizeCode(client, "user/Observation.rs", goodVerifier, "")
			resp, tok := h.post("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
				"client_id": {client}, "code_verifier": {goodVerifier}}, "", "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("code exchange: %d %v", resp.StatusCode, tok)
			}
			if resp, body := h.get("/fhir/Observation/oa", tok["access_token"].(string)); resp.StatusCode != http.StatusOK {
				t.Fatalf("read with the token: %d %s", resp.StatusCode, body)
			}
			entries, err := h.store.AuditEntries(context.Background(), ehr.AuditQuery{Agent: "user/alice"})
			must(t, err)
			var got []string
			for i := len(entries) - 1; i >= 0; i-- {
				ev, err := audit.Event(entries[i])
				must(t, err)
				got = append(got, ev.Interaction+" "+ev.Outcome)
				if ev.Client != client || ev.Address != "127.0.0.1" {
					t.Errorf("record %d (%s) has client %q and address %q; want %q and 127.0.0.1", entries[i].Seq, ev.Interaction, ev.Client, ev.Address, client)
				}
				if ev.Interaction == "read" && (ev.Organization != "org-a" || len(ev.Patients) != 1 || ev.Patients[0] != "Patient/pa") {
					t.Errorf("the read's record names organization %q and patients %v; want org-a and Patient/pa", ev.Organization, ev.Patients)
				}
			}
			want := []string{"login unauthorized", "login ok", "token ok", "read ok"}
			if len(got) != len(want) {
				t.Fatalf("the user's records are %v; want %v", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("the user's records are %v; want %v", got, want)
				}
			}
		})
	}
}

// refusingAuditor keeps nothing, and fails every record once refuse is set.
type refusingAuditor struct{ refuse *atomic.Bool }

func (a refusingAuditor) Record(context.Context, ehr.AccessEvent) error {
	if a.refuse.Load() {
		return errors.New("log full")
	}
	return nil
}

func (a refusingAuditor) RecordTx(ctx context.Context, _ ehr.Tx, ev ehr.AccessEvent) error {
	return a.Record(ctx, ev)
}

// TestNoSignInOrTokenWithoutItsRecord checks that a sign-in and a token whose
// audit record cannot be written are refused.
func TestNoSignInOrTokenWithoutItsRecord(t *testing.T) {
	refuse := &atomic.Bool{}
	h := newHarness(t, "sqlite", func(*store.Store) ehr.Auditor { return refusingAuditor{refuse: refuse} })
	client := h.publicClient("user/*.rs")
	refuse.Store(true)
	resp, body := h.signInForm(client, "alice", password)
	if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Location") != "" {
		t.Errorf("sign-in without its record = %d, Location %q: %s; want 500 and no redirect", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if _, err := h.auth.IssueToken(context.Background(), "user/*.rs", "alice", "", 0); err == nil {
		t.Errorf("IssueToken without its record succeeded; want an error")
	}
}
