package smart

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
)

// tokenFacts is what an access token says besides its times.
type tokenFacts struct {
	scope     string
	clientID  string
	username  string
	fhirUser  string
	patient   string
	encounter string
	// family is the refresh-token family the token was issued under, if any:
	// revoking the family revokes its access tokens too.
	family string
}

// accessClaims are the claims of an access token.
type accessClaims struct {
	jwt.Claims
	Scope     string `json:"scope"`
	ClientID  string `json:"client_id"`
	Username  string `json:"username,omitempty"`
	FHIRUser  string `json:"fhirUser,omitempty"`
	Patient   string `json:"patient,omitempty"`
	Encounter string `json:"encounter,omitempty"`
	Family    string `json:"fam,omitempty"`
}

// accessAlgorithms are the only algorithms an access token may carry: those of
// the keys this server makes. Anything else (none, HS256 with the public key as a
// secret, RS256) is refused before a key is looked at.
var accessAlgorithms = []jose.SignatureAlgorithm{jose.ES256}

func (s *Server) signer(ctx context.Context) (jose.Signer, error) {
	key, err := s.keys.signingKey(ctx)
	if err != nil {
		return nil, err
	}
	return jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm), Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), key.KeyID))
}

// signAccess signs an access token of f. It records the issue in the audit log
// first: a token whose record cannot be written is not issued.
func (s *Server) signAccess(ctx context.Context, f tokenFacts, ttl time.Duration) (string, error) {
	if err := s.audit(ctx, tokenEvent(f)); err != nil {
		return "", err
	}
	iss, err := s.issuer(ctx)
	if err != nil {
		return "", err
	}
	sig, err := s.signer(ctx)
	if err != nil {
		return "", err
	}
	now := s.cfg.Now()
	sub := f.username
	if sub == "" {
		sub = f.clientID
	}
	c := accessClaims{
		Claims: jwt.Claims{Issuer: iss, Subject: sub, Audience: jwt.Audience{audience(iss)}, IssuedAt: jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(ttl)), ID: uuid.NewString()},
		Scope: f.scope, ClientID: f.clientID, Username: f.username, FHIRUser: f.fhirUser, Patient: f.patient, Encounter: f.encounter, Family: f.family,
	}
	return jwt.Signed(sig).Claims(c).Serialize()
}

// errInvalidToken is wrapped by every reason a bearer token is refused.
var errInvalidToken = errors.New("invalid token")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errInvalidToken, fmt.Sprintf(format, args...))
}

// claimsHold checks what can change in a token's verified claims with time and
// what they must hold: issuer, audience, expiry and not-before (no leeway: the
// server checks its own tokens by its own clock), an exp, a jti and a client_id.
func (s *Server) claimsHold(ctx context.Context, c *accessClaims) error {
	iss, err := s.issuer(ctx)
	if err != nil {
		return err
	}
	if c.Expiry == nil || c.ID == "" || c.ClientID == "" {
		return invalid("the token lacks exp, jti or client_id")
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: iss, AnyAudience: jwt.Audience{audience(iss)}, Time: s.cfg.Now()}, 0); err != nil {
		return invalid("%v", err)
	}
	return nil
}

// verifyAccess checks an access token completely: algorithm, signature by one of
// this server's keys, issuer, audience, expiry and not-before (no leeway: the
// server checks its own tokens by its own clock), an id, and that neither the
// token nor its refresh family is revoked.
func (s *Server) verifyAccess(ctx context.Context, raw string) (*accessClaims, error) {
	c, kid, ok := s.verified.get(raw, s.cfg.Now())
	if ok {
		// The signature was checked; the key must still be one of ours.
		if _, err := s.keys.verificationKey(ctx, kid); err != nil {
			return nil, invalid("%v", err)
		}
	} else {
		tok, err := jwt.ParseSigned(raw, accessAlgorithms)
		if err != nil {
			return nil, invalid("not a signed JWT of an accepted algorithm")
		}
		if len(tok.Headers) != 1 {
			return nil, invalid("want exactly one signature")
		}
		kid = tok.Headers[0].KeyID
		key, err := s.keys.verificationKey(ctx, kid)
		if err != nil {
			return nil, invalid("%v", err)
		}
		if err := tok.Claims(key, &c); err != nil {
			return nil, invalid("bad signature")
		}
		defer func() { s.verified.put(raw, c, kid, s.cfg.Now()) }()
	}
	if err := s.claimsHold(ctx, &c); err != nil {
		return nil, err
	}
	revoked, err := s.repo.revoked(ctx, c.ID, c.Family)
	if err != nil {
		return nil, err
	}
	if revoked {
		return nil, invalid("the token has been revoked")
	}
	return &c, nil
}

// grant turns verified claims into a Grant, checking that the user and client
// still exist and are enabled.
func (s *Server) grant(ctx context.Context, c *accessClaims) (Grant, error) {
	sc, err := ParseScopes(c.Scope)
	if err != nil {
		return Grant{}, invalid("%v", err)
	}
	g := Grant{Scopes: sc, ClientID: c.ClientID, Username: c.Username, Patient: c.Patient, Encounter: c.Encounter}
	holder, err := s.repo.tokenHolder(ctx, c.ClientID, c.Username)
	if err != nil {
		return Grant{}, invalid("the token's client is not registered")
	}
	if holder.clientDisabled {
		return Grant{}, invalid("the token's client is disabled")
	}
	for _, src := range holder.clientSources {
		if src == "*" {
			g.ClientAllSources = true
		} else {
			g.ClientSources = append(g.ClientSources, src)
		}
	}
	if c.Username != "" {
		if !holder.userFound {
			return Grant{}, invalid("the token's user does not exist")
		}
		if holder.userDisabled {
			return Grant{}, invalid("the token's user is disabled")
		}
		if g.UserSources, err = s.repo.orgSources(ctx, holder.org); err != nil {
			return Grant{}, err
		}
		g.Org, g.MayBreakGlass = holder.org, holder.mayBreakGlass
	}
	return g, nil
}

// Authenticate verifies a bearer access token and returns its grant.
//
// The generation of the auth_* tables is read first, so that a grant read
// after it is remembered under it: any change made since changes the
// generation, and the next request reads the grant again.
func (s *Server) Authenticate(ctx context.Context, raw string) (Grant, error) {
	gen, err := s.repo.grantGeneration(ctx)
	if err != nil {
		return Grant{}, err
	}
	now := s.cfg.Now()
	if g, c, kid, ok := s.verified.grantAt(raw, gen, now); ok {
		if _, err := s.keys.verificationKey(ctx, kid); err != nil {
			return Grant{}, invalid("%v", err)
		}
		if err := s.claimsHold(ctx, &c); err != nil {
			return Grant{}, err
		}
		return g, nil
	}
	c, err := s.verifyAccess(ctx, raw)
	if err != nil {
		return Grant{}, err
	}
	g, err := s.grant(ctx, c)
	if err != nil {
		return Grant{}, err
	}
	s.verified.keepGrant(raw, gen, g)
	return g, nil
}
