package smart_test

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"slices"
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

// TestAnotherProcesssChangeTakesEffectOnTheNextRequest: a second authorization
// server on the same database (another server process, or an admin command)
// disables a user, gives the user's organization another source, lets the user
// break the glass and revokes a token; the first server, which remembers the
// grants of the tokens it checked, sees each change on the very next request.
func TestAnotherProcesssChangeTakesEffectOnTheNextRequest(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			h := newHarness(t, engine)
			ctx := context.Background()
			other := smart.New(smart.Config{DB: h.db, Postgres: engine != "sqlite", Now: h.clock.now, PasswordIterations: 1000,
				Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			must(t, h.auth.AddUser(ctx, smart.User{Username: "wade", Org: "org-a"}, password))
			tok, err := h.auth.IssueToken(ctx, "user/*.rs", "wade", "", time.Hour)
			must(t, err)
			grant := func() smart.Grant {
				t.Helper()
				g, err := h.auth.Authenticate(ctx, tok)
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				return g
			}
			g := grant()
			grant() // remembered
			if g.MayBreakGlass || slices.Contains(g.UserSources, sourceB) {
				t.Fatalf("wade's first grant: %+v", g)
			}
			must(t, other.AddOrgSource(ctx, "org-a", sourceB))
			if g := grant(); !slices.Contains(g.UserSources, sourceB) {
				t.Errorf("after another process gave org-a source b: %v", g.UserSources)
			}
			must(t, other.SetBreakGlass(ctx, "wade", true))
			if g := grant(); !g.MayBreakGlass {
				t.Error("after another process let wade break the glass, the grant does not say so")
			}
			second, err := h.auth.IssueToken(ctx, "user/*.rs", "alice", "", time.Hour)
			must(t, err)
			if _, err := h.auth.Authenticate(ctx, second); err != nil {
				t.Fatal(err)
			}
			must(t, other.DisableUser(ctx, "wade"))
			if _, err := h.auth.Authenticate(ctx, tok); err == nil {
				t.Error("a token of a user another process disabled was accepted")
			}
			if _, err := h.auth.Authenticate(ctx, second); err != nil {
				t.Errorf("alice's token after wade was disabled: %v", err)
			}
		})
	}
}
