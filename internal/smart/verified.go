package smart

import (
	"crypto/sha256"
	"sync"
	"time"
)

// verifiedTokens remembers the access tokens whose signature this server has
// checked, by the SHA-256 of the token, until they expire. A signature that was
// good stays good, so a token's second request skips the parse and the ECDSA
// verification (about a third of a request's authentication); everything that
// can change (expiry, the signing key still being known, revocation, the client
// and user) is checked on every request as before.
type verifiedTokens struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]verifiedToken
}

type verifiedToken struct {
	claims accessClaims
	kid    string
	expiry time.Time
}

// maxVerifiedTokens bounds the memory of the cache: about 1 KiB a token.
const maxVerifiedTokens = 8192

func (v *verifiedTokens) get(raw string, now time.Time) (accessClaims, string, bool) {
	key := sha256.Sum256([]byte(raw))
	v.mu.Lock()
	defer v.mu.Unlock()
	t, ok := v.m[key]
	if !ok || !now.Before(t.expiry) {
		return accessClaims{}, "", false
	}
	return t.claims, t.kid, true
}

func (v *verifiedTokens) put(raw string, c accessClaims, kid string, now time.Time) {
	if c.Expiry == nil {
		return
	}
	key := sha256.Sum256([]byte(raw))
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil {
		v.m = map[[sha256.Size]byte]verifiedToken{}
	}
	if len(v.m) >= maxVerifiedTokens {
		for k, t := range v.m {
			if !now.Before(t.expiry) {
				delete(v.m, k)
			}
		}
		if len(v.m) >= maxVerifiedTokens {
			clear(v.m)
		}
	}
	v.m[key] = verifiedToken{claims: c, kid: kid, expiry: c.Expiry.Time()}
}
