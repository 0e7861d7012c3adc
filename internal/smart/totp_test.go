package smart_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

func TestTOTPSecondFactor(t *testing.T) {
	h := newHarness(t, "sqlite")
	client := h.publicClient("user/*.rs")
	_, refused := h.signInForm(client, "nobody", "x")
	u, err := h.auth.EnableTOTP(context.Background(), "alice")
	must(t, err)
	key, err := otp.NewKeyFromURL(u)
	must(t, err)
	code := func(at time.Time) string {
		c, err := totp.GenerateCodeCustom(key.Secret(), at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		must(t, err)
		return c
	}
	now := h.clock.now()
	cases := []struct {
		name, otp string
		want      int
	}{
		{"no code", "", http.StatusUnauthorized},
		{"wrong code", "000000", http.StatusUnauthorized},
		{"a code of ten minutes ago", code(now.Add(-10 * time.Minute)), http.StatusUnauthorized},
		{"the current code", code(now), http.StatusFound},
		{"the same code again", code(now), http.StatusUnauthorized},
	}
	for _, c := range cases {
		if c.otp == "000000" && c.otp == code(now) {
			continue
		}
		resp, body := h.signInFormOTP(client, "alice", password, c.otp)
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.want)
		}
		if c.want == http.StatusUnauthorized && body != refused {
			t.Errorf("%s: the page differs from an unknown user's", c.name)
		}
	}
	// The next time step's code works.
	h.clock.t = now.Add(30 * time.Second)
	if resp, _ := h.signInFormOTP(client, "alice", password, code(h.clock.t)); resp.StatusCode != http.StatusFound {
		t.Errorf("the next step's code: %d, want 302", resp.StatusCode)
	}
}
