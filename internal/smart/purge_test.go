package smart_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestExpiredRowsArePurged(t *testing.T) {
	h := newHarness(t, "sqlite")
	client := h.publicClient("user/*.rs")
	h.authorizeCode(client, "user/*.rs", goodVerifier, "")
	count := func() int {
		var n int
		must(t, h.db.QueryRow(`SELECT count(*) FROM auth_codes`).Scan(&n))
		return n
	}
	if count() != 1 {
		t.Fatalf("%d codes stored, want 1", count())
	}
	// Still valid: a token request leaves it.
	ask := func() {
		resp, _ := h.post("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {client}}, "", "")
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("unknown refresh token: %d", resp.StatusCode)
		}
	}
	ask()
	if count() != 1 {
		t.Fatalf("a valid code was purged")
	}
	h.clock.t = h.clock.t.Add(3 * time.Minute)
	ask()
	if count() != 0 {
		t.Errorf("%d expired codes left after a token request, want 0", count())
	}
}
