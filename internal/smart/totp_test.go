package smart_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"omnichart/internal/smart"
	"strings"
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

// TestTOTPSecretsAreSealed: with a secrets key the TOTP secret is stored sealed
// (the database holds neither the secret nor its base32 form), opens only for
// its own user and with the key, and a secret stored before there was a key
// still works.
func TestTOTPSecretsAreSealed(t *testing.T) {
	h := newHarness(t, "sqlite")
	ctx := context.Background()
	key := []byte("0123456789abcdef0123456789abcdef")
	sealed := smart.New(smart.Config{DB: h.db, Now: h.clock.now, PasswordIterations: 1000, SecretsKey: key,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	must(t, h.auth.AddUser(ctx, smart.User{Username: "bob", Org: "org-a"}, password))
	u, err := sealed.EnableTOTP(ctx, "alice")
	must(t, err)
	otpKey, err := otp.NewKeyFromURL(u)
	must(t, err)
	stored := func(user string) string {
		var v string
		must(t, h.db.QueryRow(`SELECT totp_secret FROM auth_users WHERE username = ?`, user).Scan(&v))
		return v
	}
	if s := stored("alice"); !strings.HasPrefix(s, "aesgcm1:") || strings.Contains(s, otpKey.Secret()) {
		t.Fatalf("alice's stored secret %q is not sealed", s)
	}
	code := func(secret string) string {
		c, err := totp.GenerateCodeCustom(secret, h.clock.now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		must(t, err)
		return c
	}
	if _, err := sealed.SignIn(ctx, "alice", password, code(otpKey.Secret())); err != nil {
		t.Fatalf("alice's sign-in with the key: %v", err)
	}
	h.clock.t = h.clock.t.Add(time.Minute) // a new step: codes are spent once
	if _, err := h.auth.SignIn(ctx, "alice", password, code(otpKey.Secret())); err == nil {
		t.Error("a server without the key opened a sealed secret")
	}
	// alice's sealed secret copied into bob's row does not open for bob.
	_, err = h.db.Exec(`UPDATE auth_users SET totp_secret = ? WHERE username = 'bob'`, stored("alice"))
	must(t, err)
	h.clock.t = h.clock.t.Add(time.Minute)
	if _, err := sealed.SignIn(ctx, "bob", password, code(otpKey.Secret())); err == nil {
		t.Error("alice's sealed secret opened in bob's row")
	}
	// A secret stored in the clear (before the key) still works.
	plain, err := h.auth.EnableTOTP(ctx, "bob")
	must(t, err)
	bobKey, err := otp.NewKeyFromURL(plain)
	must(t, err)
	if s := stored("bob"); s != bobKey.Secret() {
		t.Fatalf("without a key the secret is stored as it is; got %q", s)
	}
	h.clock.t = h.clock.t.Add(time.Minute)
	if _, err := sealed.SignIn(ctx, "bob", password, code(bobKey.Secret())); err != nil {
		t.Errorf("a secret stored in the clear, read by a server with a key: %v", err)
	}
}
