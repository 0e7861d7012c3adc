package smart

import (
	"crypto/sha256"
	"sync"
	"time"
)

// verifiedTokens remembers the access tokens whose signature this server has
// checked, by the SHA-256 of the token, until they expire, and the grant each
// was last found to carry with the generation of the auth_* tables it was read
// at (repo.exec). A signature that was good stays good, so a token's second
// request skips the parse and the ECDSA verification; its grant (revocation,
// client, user, organization) is reused while the generation is unchanged, so
// one statement checks that nothing changed. Expiry and the signing key being
// still known are checked on every request.
type verifiedTokens struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]verifiedToken
}

type verifiedToken struct {
	claims accessClaims
	kid    string
	expiry time.Time
	// grant, when set, is the token's grant as read at generation gen.
	grant *Grant
	gen   string
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

// grantAt returns the grant remembered for raw at generation gen.
func (v *verifiedTokens) grantAt(raw, gen string, now time.Time) (Grant, accessClaims, string, bool) {
	key := sha256.Sum256([]byte(raw))
	v.mu.Lock()
	defer v.mu.Unlock()
	t, ok := v.m[key]
	if !ok || t.grant == nil || t.gen != gen || !now.Before(t.expiry) {
		return Grant{}, accessClaims{}, "", false
	}
	return t.grant.clone(), t.claims, t.kid, true
}

// keepGrant remembers g as raw's grant at generation gen; raw's signature must
// have been remembered by put.
func (v *verifiedTokens) keepGrant(raw, gen string, g Grant) {
	key := sha256.Sum256([]byte(raw))
	v.mu.Lock()
	defer v.mu.Unlock()
	if t, ok := v.m[key]; ok {
		c := g.clone()
		t.grant, t.gen = &c, gen
		v.m[key] = t
	}
}
