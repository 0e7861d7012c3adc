package smart

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
)

// DefaultPasswordIterations is the PBKDF2-HMAC-SHA-256 iteration count of new
// passwords (OWASP's 2023 recommendation). The count is stored with each hash, so
// it can be raised without invalidating existing passwords.
const DefaultPasswordIterations = 600_000

// hashPassword returns a new random salt and the PBKDF2-HMAC-SHA-256 of pw, hex.
func hashPassword(pw string, iter int) (hash, salt string, err error) {
	s := make([]byte, 16)
	rand.Read(s)
	h, err := pbkdf2.Key(sha256.New, pw, s, iter, 32)
	if err != nil {
		return "", "", err
	}
	return hex.EncodeToString(h), hex.EncodeToString(s), nil
}

// passwordMatches compares in constant time.
func passwordMatches(pw, hash, salt string, iter int) bool {
	s, err := hex.DecodeString(salt)
	if err != nil {
		return false
	}
	want, err := hex.DecodeString(hash)
	if err != nil {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, pw, s, iter, 32)
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

// randomToken returns 32 random bytes, base64url (codes, refresh tokens, secrets).
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return b64(b)
}

// tokenHash is how codes, refresh tokens, secrets and assertion ids are stored:
// the SHA-256 of the value, hex. They are random with 256 bits, so a plain hash
// suffices; the database never holds a usable value.
func tokenHash(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])
}
