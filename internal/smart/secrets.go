package smart

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
)

// Users' TOTP secrets are kept sealed with AES-256-GCM under Config.SecretsKey,
// a key kept outside the database (omnichart serve derives it from the audit
// key file), so that a copy of the database alone does not give anyone the
// second factor of every user. The username is the associated data: a sealed
// secret copied into another user's row does not open. A secret stored before
// there was a key (or by a server given none) is read as it is and sealed the
// next time it is set.

// sealedPrefix marks a sealed secret: version 1, AES-256-GCM, base64url of
// nonce and ciphertext.
const sealedPrefix = "aesgcm1:"

// SecretsKeySize is the size of Config.SecretsKey.
const SecretsKeySize = 32

var errSecretSealed = errors.New("a TOTP secret is sealed and this server has no key (or another key) to open it")

func (s *Server) secretAEAD() (cipher.AEAD, error) {
	if len(s.cfg.SecretsKey) != SecretsKeySize {
		return nil, nil
	}
	block, err := aes.NewCipher(s.cfg.SecretsKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealSecret seals a user's secret for storage; without a key it is stored as
// it is.
func (s *Server) sealSecret(username, secret string) (string, error) {
	aead, err := s.secretAEAD()
	if err != nil || aead == nil {
		return secret, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sealed := aead.Seal(nonce, nonce, []byte(secret), []byte(username))
	return sealedPrefix + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// openSecret returns a user's stored secret in the clear.
func (s *Server) openSecret(username, stored string) (string, error) {
	rest, sealed := strings.CutPrefix(stored, sealedPrefix)
	if !sealed {
		return stored, nil
	}
	aead, err := s.secretAEAD()
	if err != nil {
		return "", err
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if aead == nil || err != nil || len(raw) < aead.NonceSize() {
		return "", errSecretSealed
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(username))
	if err != nil {
		return "", errSecretSealed
	}
	return string(plain), nil
}
