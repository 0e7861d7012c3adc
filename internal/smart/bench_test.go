package smart_test

import (
	"context"
	"testing"
	"time"
)

// BenchmarkAuthenticate measures what the bearer check adds to each FHIR request:
// verifying the ES256 signature and claims, and reading the revocation, client,
// user and organization rows (SQLite).
func BenchmarkAuthenticate(b *testing.B) {
	h := newHarness(b, "sqlite")
	tok, err := h.auth.IssueToken(context.Background(), "user/*.rs", "alice", "", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := h.auth.Authenticate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}
