package smart

import (
	"context"
	"fmt"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// totpOptions are RFC 6238's defaults, which authenticator apps expect: 6 digits,
// 30-second steps, HMAC-SHA-1; one step of clock difference either way is allowed.
var totpOptions = totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// EnableTOTP gives a user a new TOTP secret, replacing any earlier one, and
// returns the otpauth:// URL to load into an authenticator app. From then on the
// user's sign-in needs a current one-time code besides the password.
func (s *Server) EnableTOTP(ctx context.Context, username string) (string, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Omnichart", AccountName: username})
	if err != nil {
		return "", err
	}
	stored, err := s.sealSecret(username, key.Secret())
	if err != nil {
		return "", err
	}
	n, err := s.repo.exec(ctx, `UPDATE auth_users SET totp_secret = ?, totp_last_step = 0 WHERE username = ?`, stored, username)
	if err == nil && n == 0 {
		err = fmt.Errorf("no user %q", username)
	}
	if err != nil {
		return "", err
	}
	return key.URL(), nil
}

// totpAccepts checks a one-time code and spends it: a code is accepted once, so
// the time step it was accepted at must be later than the last accepted one.
func (s *Server) totpAccepts(ctx context.Context, u *userRow, code string) (bool, error) {
	now := s.cfg.Now()
	secret, err := s.openSecret(u.Username, u.totpSecret)
	if err != nil {
		return false, err
	}
	ok, err := totp.ValidateCustom(code, secret, now, totpOptions)
	if err != nil || !ok {
		return false, nil
	}
	step := now.Unix() / int64(totpOptions.Period)
	n, err := s.repo.exec(ctx, `UPDATE auth_users SET totp_last_step = ? WHERE username = ? AND totp_last_step < ?`, step, u.Username, step)
	return n == 1, err
}
