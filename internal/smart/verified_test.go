package smart_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"omnichart/internal/smart"
)

// TestACheckedTokenIsCheckedAgainOnEveryRequest: once a token's signature has
// been checked it is remembered, but revocation, a disabled user or client, and
// expiry still refuse it on the very next request.
func TestACheckedTokenIsCheckedAgainOnEveryRequest(t *testing.T) {
	h := newHarness(t, "sqlite")
	ctx := context.Background()
	use := func(tok string) error {
		_, err := h.auth.Authenticate(ctx, tok)
		return err
	}
	twice := func(what, tok string) {
		t.Helper()
		for i := range 2 {
			if err := use(tok); err != nil {
				t.Fatalf("%s: use %d: %v", what, i+1, err)
			}
		}
	}

	// A user's token, then the user disabled.
	must(t, h.auth.AddUser(ctx, smart.User{Username: "vera", Org: "org-a"}, password))
	tok, err := h.auth.IssueToken(ctx, "user/*.rs", "vera", "", time.Hour)
	must(t, err)
	twice("vera's token", tok)
	must(t, h.auth.DisableUser(ctx, "vera"))
	if err := use(tok); err == nil {
		t.Error("a checked token of a user disabled since was accepted")
	}

	// A client's token, then revoked.
	id, secret, err := h.auth.AddClient(ctx, smart.Client{Kind: smart.ClientSymmetric, Scopes: "system/*.rs", Sources: []string{sourceB}})
	must(t, err)
	_, body := h.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"system/*.rs"}}, id, secret)
	cc, _ := body["access_token"].(string)
	if cc == "" {
		t.Fatalf("no client token: %v", body)
	}
	twice("the client's token", cc)
	if resp, _ := h.post("/oauth/revoke", url.Values{"token": {cc}}, id, secret); resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if err := use(cc); err == nil {
		t.Error("a checked token revoked since was accepted")
	}

	// A token past its expiry.
	short, err := h.auth.IssueToken(ctx, "user/*.rs", "alice", "", time.Minute)
	must(t, err)
	twice("alice's token", short)
	h.clock.t = h.clock.t.Add(2 * time.Minute)
	if err := use(short); err == nil {
		t.Error("a checked token past its expiry was accepted")
	}
}
