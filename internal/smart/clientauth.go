package smart

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// assertionType is the client_assertion_type of private_key_jwt (RFC 7523).
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionAlgorithms are those SMART Backend Services requires servers to support.
var assertionAlgorithms = []jose.SignatureAlgorithm{jose.RS384, jose.ES384}

// assertionSkew is the clock difference allowed between a client and this server.
const assertionSkew = 30 * time.Second

// maxAssertionLifetime bounds exp - now of a client assertion (SMART: at most 5 min).
const maxAssertionLifetime = 5*time.Minute + assertionSkew

// oauthError is an RFC 6749 section 5.2 error.
type oauthError struct {
	status int
	code   string
	desc   string
}

func (e *oauthError) Error() string { return e.code + ": " + e.desc }

func oauthErr(status int, code, format string, args ...any) *oauthError {
	return &oauthError{status: status, code: code, desc: fmt.Sprintf(format, args...)}
}

func parseJWKS(raw []byte) (*jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("the JWKS is not a JSON Web Key Set: %v", err)
	}
	if len(set.Keys) == 0 {
		return nil, errors.New("the JWKS has no keys")
	}
	for _, k := range set.Keys {
		if !k.IsPublic() {
			return nil, fmt.Errorf("JWKS key %q holds private key material; register public keys only", k.KeyID)
		}
	}
	return &set, nil
}

// jwksCache keeps fetched JWKS URLs for a few minutes.
type jwksCache struct {
	client  *http.Client
	mu      sync.Mutex
	entries map[string]jwksEntry
}

type jwksEntry struct {
	set     *jose.JSONWebKeySet
	fetched time.Time
}

func (c *jwksCache) get(ctx context.Context, url string, refresh bool) (*jose.JSONWebKeySet, error) {
	c.mu.Lock()
	e, ok := c.entries[url]
	c.mu.Unlock()
	if ok && !refresh && time.Since(e.fetched) < 5*time.Minute {
		return e.set, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch the client's JWKS: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch the client's JWKS: %s", resp.Status)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	set, err := parseJWKS(raw)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.entries[url] = jwksEntry{set: set, fetched: time.Now()}
	c.mu.Unlock()
	return set, nil
}

// clientKeys returns the keys of an asymmetric client.
func (s *Server) clientKeys(ctx context.Context, c *Client, refresh bool) (*jose.JSONWebKeySet, error) {
	if c.JWKS != "" {
		return parseJWKS([]byte(c.JWKS))
	}
	return s.jwks.get(ctx, c.JWKSURL, refresh)
}

// authenticateClient identifies the client of a token, introspection or
// revocation request: a symmetric client by its secret (HTTP Basic or form), an
// asymmetric one by a private_key_jwt assertion, a public one by client_id alone
// (allowed only where publicOK).
func (s *Server) authenticateClient(r *http.Request, endpoint string, publicOK bool) (*Client, error) {
	ctx := r.Context()
	if a := r.PostForm.Get("client_assertion"); a != "" || r.PostForm.Get("client_assertion_type") != "" {
		if r.PostForm.Get("client_assertion_type") != assertionType {
			return nil, oauthErr(400, "invalid_client", "client_assertion_type must be %s", assertionType)
		}
		return s.verifyAssertion(ctx, a, endpoint)
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id == "" {
		return nil, oauthErr(401, "invalid_client", "no client authentication")
	}
	c, err := s.repo.client(ctx, id)
	if err != nil || c.Disabled || c.Kind == clientCLI {
		return nil, oauthErr(401, "invalid_client", "unknown or disabled client")
	}
	switch c.Kind {
	case ClientSymmetric:
		if secret == "" || subtle.ConstantTimeCompare([]byte(tokenHash(secret)), []byte(c.secretHash)) != 1 {
			return nil, oauthErr(401, "invalid_client", "wrong client secret")
		}
	case ClientPublic:
		if !publicOK {
			return nil, oauthErr(401, "invalid_client", "a public client cannot use this endpoint")
		}
		if secret != "" {
			return nil, oauthErr(401, "invalid_client", "a public client has no secret")
		}
	default:
		return nil, oauthErr(401, "invalid_client", "this client authenticates with private_key_jwt")
	}
	return c, nil
}

// verifyAssertion checks a private_key_jwt client assertion (RFC 7523 section 3,
// SMART Backend Services): RS384 or ES384, signed by a registered key of the
// client, iss = sub = client_id, aud = the token endpoint, exp at most five
// minutes ahead, nbf and iat not in the future (with assertionSkew), and a jti
// not seen before within its lifetime.
func (s *Server) verifyAssertion(ctx context.Context, raw, endpoint string) (*Client, error) {
	bad := func(format string, args ...any) error { return oauthErr(401, "invalid_client", format, args...) }
	tok, err := jwt.ParseSigned(raw, assertionAlgorithms)
	if err != nil || len(tok.Headers) != 1 {
		return nil, bad("the client assertion is not a JWT signed with RS384 or ES384")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil || unverified.Issuer == "" {
		return nil, bad("the client assertion has no iss")
	}
	c, err := s.repo.client(ctx, unverified.Issuer)
	if err != nil || c.Disabled || c.Kind != ClientAsymmetric {
		return nil, bad("unknown, disabled or non-asymmetric client %q", unverified.Issuer)
	}
	var claims jwt.Claims
	verified := false
	for attempt := 0; attempt < 2 && !verified; attempt++ {
		keys, err := s.clientKeys(ctx, c, attempt > 0)
		if err != nil {
			return nil, bad("%v", err)
		}
		candidates := keys.Keys
		if kid := tok.Headers[0].KeyID; kid != "" {
			candidates = keys.Key(kid)
		}
		for _, k := range candidates {
			if tok.Claims(k, &claims) == nil {
				verified = true
				break
			}
		}
		if c.JWKSURL == "" {
			break
		}
	}
	if !verified {
		return nil, bad("the client assertion's signature matches no registered key of the client")
	}
	now := s.cfg.Now()
	if claims.Subject != c.ID {
		return nil, bad("the client assertion's sub must equal its iss")
	}
	if claims.Expiry == nil || claims.ID == "" {
		return nil, bad("the client assertion needs exp and jti")
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: c.ID, AnyAudience: jwt.Audience{endpoint}, Time: now}, assertionSkew); err != nil {
		return nil, bad("client assertion: %v", err)
	}
	exp := claims.Expiry.Time()
	if exp.Sub(now) > maxAssertionLifetime {
		return nil, bad("the client assertion's exp is more than five minutes ahead")
	}
	// Ids of expired assertions can no longer be replayed (exp is checked
	// first), so they are dropped to keep the table small.
	if _, err := s.repo.exec(ctx, `DELETE FROM auth_assertions WHERE expires < ?`, micros(now)); err != nil {
		return nil, err
	}
	n, err := s.repo.exec(ctx, `INSERT INTO auth_assertions (jti_hash, expires) VALUES (?, ?) ON CONFLICT (jti_hash) DO NOTHING`,
		tokenHash(c.ID+"\x00"+claims.ID), micros(exp.Add(assertionSkew)))
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, bad("the client assertion's jti was used before")
	}
	return c, nil
}
