package smart_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"omnichart/internal/smart"
)

// kidOf returns the key id in a compact JWS's header.
func kidOf(t *testing.T, raw string) string {
	t.Helper()
	sig, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	must(t, err)
	return sig.Signatures[0].Header.KeyID
}

// TestSigningKeysRotateAndRetire checks that after a rotation new tokens are
// signed by the new key while tokens of the old key keep working, that another
// server process on the database takes the new key up within a minute, and that
// retiring the old key refuses its tokens at once.
func TestSigningKeysRotateAndRetire(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			h := newHarness(t, engine)
			ctx := context.Background()
			other := smart.New(smart.Config{DB: h.db, Postgres: engine != "sqlite", Now: h.clock.now, PasswordIterations: 1000,
				Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			old, err := h.auth.IssueToken(ctx, "user/*.rs", "alice", "", 8*time.Hour)
			must(t, err)
			fromOther, err := other.IssueToken(ctx, "user/*.rs", "alice", "", 8*time.Hour)
			must(t, err)
			if kidOf(t, old) != kidOf(t, fromOther) {
				t.Fatalf("two processes sign with different keys before any rotation")
			}
			h.clock.t = h.clock.t.Add(time.Second)
			kid, err := h.auth.RotateSigningKey(ctx)
			must(t, err)
			fresh, err := h.auth.IssueToken(ctx, "user/*.rs", "alice", "", 8*time.Hour)
			must(t, err)
			if kidOf(t, fresh) != kid || kid == kidOf(t, old) {
				t.Errorf("after rotating, a new token is signed by %s, want the new key %s (old %s)", kidOf(t, fresh), kid, kidOf(t, old))
			}
			for name, tok := range map[string]string{"old": old, "new": fresh} {
				if resp, _ := h.get("/fhir/Patient/pa", tok); resp.StatusCode != http.StatusOK {
					t.Errorf("the %s token after rotating: %d, want 200", name, resp.StatusCode)
				}
			}
			var set struct {
				Keys []any `json:"keys"`
			}
			if resp, body := h.get("/oauth/jwks", ""); resp.StatusCode != http.StatusOK || json.Unmarshal(body, &set) != nil || len(set.Keys) != 2 {
				t.Errorf("the JWKS after rotating: %d, %d keys; want 2", resp.StatusCode, len(set.Keys))
			}
			// The other process signs with the key it read until a minute passes.
			h.clock.t = h.clock.t.Add(2 * time.Minute)
			fromOther, err = other.IssueToken(ctx, "user/*.rs", "alice", "", 8*time.Hour)
			must(t, err)
			if kidOf(t, fromOther) != kid {
				t.Errorf("another process signs with %s a minute after the rotation, want %s", kidOf(t, fromOther), kid)
			}
			h.clock.t = h.clock.t.Add(2 * time.Hour)
			n, err := h.auth.RetireSigningKeys(ctx, time.Hour)
			if err != nil || n != 1 {
				t.Fatalf("RetireSigningKeys = %d, %v; want the one old key", n, err)
			}
			if resp, _ := h.get("/fhir/Patient/pa", old); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("a token of the retired key: %d, want 401", resp.StatusCode)
			}
			if resp, _ := h.get("/fhir/Patient/pa", fresh); resp.StatusCode != http.StatusOK {
				t.Errorf("a token of the current key after retiring: %d, want 200", resp.StatusCode)
			}
			if n, err := h.auth.RetireSigningKeys(ctx, 0); err != nil || n != 0 {
				t.Errorf("retiring everything = %d, %v; want the current key kept", n, err)
			}
		})
	}
}
