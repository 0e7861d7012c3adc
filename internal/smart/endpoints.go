package smart

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"omnichart/internal/ehr"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// Capabilities are the SMART capabilities this server implements, as listed in
// its smart-configuration.
var Capabilities = []string{"launch-standalone", "launch-ehr", "context-ehr-patient", "context-ehr-encounter", "client-public", "client-confidential-symmetric",
	"client-confidential-asymmetric", "sso-openid-connect", "context-standalone-patient", "permission-offline",
	"permission-patient", "permission-user", "permission-v1", "permission-v2", "authorize-post"}

// Handler serves the discovery documents, the OAuth endpoints and the JWKS.
func (s *Server) Handler() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /fhir/.well-known/smart-configuration", s.smartConfiguration)
	m.HandleFunc("GET /fhir/.well-known/openid-configuration", s.openIDConfiguration)
	m.HandleFunc("GET /oauth/jwks", s.jwksEndpoint)
	m.HandleFunc("GET /oauth/authorize", s.authorize)
	m.HandleFunc("POST /oauth/authorize", s.authorize)
	m.HandleFunc("POST /oauth/token", s.token)
	m.HandleFunc("POST /oauth/introspect", s.introspect)
	m.HandleFunc("POST /oauth/revoke", s.revoke)
	return withOrigin(m)
}

// FHIRBase is the public FHIR base URL of r.
func (s *Server) FHIRBase(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return strings.TrimSuffix(s.cfg.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/fhir"
}

// OAuthURL is the URL of an OAuth endpoint ("authorize", "token", ...) as r reaches it.
func (s *Server) OAuthURL(r *http.Request, name string) string {
	return strings.TrimSuffix(s.FHIRBase(r), "/fhir") + "/oauth/" + name
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeOAuthError(w http.ResponseWriter, err error) {
	var oe *oauthError
	if !errors.As(err, &oe) {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error", "error_description": "the request could not be completed"})
		return
	}
	if oe.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="omnichart"`)
	}
	writeJSON(w, oe.status, map[string]string{"error": oe.code, "error_description": oe.desc})
}

// smartConfiguration serves SMART App Launch 2.2's discovery document.
func (s *Server) smartConfiguration(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.FHIRBase(r),
		"jwks_uri":                              s.OAuthURL(r, "jwks"),
		"authorization_endpoint":                s.OAuthURL(r, "authorize"),
		"token_endpoint":                        s.OAuthURL(r, "token"),
		"introspection_endpoint":                s.OAuthURL(r, "introspect"),
		"revocation_endpoint":                   s.OAuthURL(r, "revoke"),
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", "client_credentials"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS384", "ES384"},
		"scopes_supported": []string{"openid", "fhirUser", "launch", "launch/patient", "offline_access", "online_access",
			"patient/*.rs", "user/*.cruds", "system/*.rs", "patient/*.read", "user/*.read", "user/*.write", "system/*.read"},
		"response_types_supported":         []string{"code"},
		"code_challenge_methods_supported": []string{"S256"},
		"capabilities":                     Capabilities,
	})
}

// openIDConfiguration is OpenID Connect Discovery's document; the id_token issuer
// is the FHIR base URL.
func (s *Server) openIDConfiguration(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.FHIRBase(r),
		"jwks_uri":                              s.OAuthURL(r, "jwks"),
		"authorization_endpoint":                s.OAuthURL(r, "authorize"),
		"token_endpoint":                        s.OAuthURL(r, "token"),
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"scopes_supported":                      []string{"openid", "fhirUser"},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "nonce", "fhirUser"},
	})
}

func (s *Server) jwksEndpoint(w http.ResponseWriter, r *http.Request) {
	set, err := s.keys.public(r.Context())
	if err != nil {
		s.cfg.Log.ErrorContext(r.Context(), "jwks", "error", err)
		http.Error(w, "keys unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	json.NewEncoder(w).Encode(set)
}

// parseTokenForm reads an application/x-www-form-urlencoded POST body.
func parseTokenForm(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return oauthErr(400, "invalid_request", "the body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return oauthErr(400, "invalid_request", "the form cannot be read: %v", err)
	}
	return nil
}

// token serves the token endpoint (RFC 6749 section 3.2).
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := parseTokenForm(r); err != nil {
		writeOAuthError(w, err)
		return
	}
	s.purgeExpired(r.Context())
	var resp map[string]any
	var err error
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		resp, err = s.codeGrant(r)
	case "refresh_token":
		resp, err = s.refreshGrant(r)
	case "client_credentials":
		resp, err = s.clientCredentialsGrant(r)
	case "":
		err = oauthErr(400, "invalid_request", "grant_type is missing")
	default:
		err = oauthErr(400, "unsupported_grant_type", "grant_type %q is not supported", gt)
	}
	if err != nil {
		var oe *oauthError
		outcome := "internal"
		if errors.As(err, &oe) {
			outcome = oe.code
		} else if !errors.Is(err, errNotAudited) {
			s.cfg.Log.ErrorContext(r.Context(), "token endpoint", "error", err)
		}
		// A refused request is recorded too; the client id is as the form gave it.
		if aerr := s.audit(r.Context(), ehr.AccessEvent{Interaction: "token", Subject: "client/" + r.PostForm.Get("client_id"),
			Client: r.PostForm.Get("client_id"), Outcome: outcome}); aerr != nil && oe != nil {
			err = aerr
		}
		writeOAuthError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

var verifierSyntax = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// pkceMatches checks an RFC 7636 S256 code verifier against its challenge.
func pkceMatches(verifier, challenge string) bool {
	if !verifierSyntax.MatchString(verifier) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(b64(sum[:])), []byte(challenge)) == 1
}

func (s *Server) codeGrant(r *http.Request) (map[string]any, error) {
	ctx := r.Context()
	client, err := s.authenticateClient(r, s.OAuthURL(r, "token"), true)
	if err != nil {
		return nil, err
	}
	code := r.PostForm.Get("code")
	var redirect, challenge, scope, username, patient, encounter, nonce, family, clientID string
	var expires int64
	var used int
	err = s.repo.row(ctx, `SELECT client_id, redirect_uri, challenge, scope, username, patient, encounter, nonce, family, expires, used FROM auth_codes WHERE code_hash = ?`,
		tokenHash(code)).Scan(&clientID, &redirect, &challenge, &scope, &username, &patient, &encounter, &nonce, &family, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, oauthErr(400, "invalid_grant", "unknown authorization code")
	}
	if err != nil {
		return nil, err
	}
	if clientID != client.ID {
		return nil, oauthErr(400, "invalid_grant", "the code was issued to another client")
	}
	if used != 0 {
		// RFC 6749 section 4.1.2: a code used twice revokes what it gave.
		s.repo.revoke(ctx, family, s.cfg.Now().Add(s.cfg.RefreshTTL))
		return nil, oauthErr(400, "invalid_grant", "the authorization code was already used; its tokens are revoked")
	}
	if s.cfg.Now().UnixMicro() > expires {
		return nil, oauthErr(400, "invalid_grant", "the authorization code has expired")
	}
	if r.PostForm.Get("redirect_uri") != redirect {
		return nil, oauthErr(400, "invalid_grant", "redirect_uri differs from the authorization request's")
	}
	if !pkceMatches(r.PostForm.Get("code_verifier"), challenge) {
		return nil, oauthErr(400, "invalid_grant", "code_verifier is missing, malformed or does not match the code_challenge")
	}
	n, err := s.repo.exec(ctx, `UPDATE auth_codes SET used = 1 WHERE code_hash = ? AND used = 0`, tokenHash(code))
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, oauthErr(400, "invalid_grant", "the authorization code was already used")
	}
	u, err := s.repo.user(ctx, username)
	if err != nil || u.Disabled {
		return nil, oauthErr(400, "invalid_grant", "the user can no longer sign in")
	}
	return s.issue(r, client, tokenFacts{scope: scope, clientID: client.ID, username: username, fhirUser: u.FHIRUser,
		patient: patient, encounter: encounter, family: family}, nonce)
}

// issue makes the token response of an authorization-code or refresh grant: an
// access token, a new refresh token of the family when offline or online access
// was granted, the launch context, and an id_token when openid and fhirUser were.
func (s *Server) issue(r *http.Request, client *Client, f tokenFacts, nonce string) (map[string]any, error) {
	ctx := r.Context()
	sc, err := ParseScopes(f.scope)
	if err != nil {
		return nil, err
	}
	access, err := s.signAccess(ctx, f, s.cfg.AccessTTL)
	if err != nil {
		return nil, err
	}
	resp := map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": int(s.cfg.AccessTTL / time.Second), "scope": f.scope}
	if f.patient != "" {
		resp["patient"] = f.patient
	}
	if f.encounter != "" {
		resp["encounter"] = f.encounter
	}
	if sc.Has("offline_access") || sc.Has("online_access") {
		refresh := randomToken()
		if _, err := s.repo.exec(ctx, `INSERT INTO auth_refresh_tokens (token_hash, family, client_id, username, scope, patient, encounter, expires, rotated)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)`, tokenHash(refresh), f.family, client.ID, f.username, f.scope, f.patient, f.encounter,
			micros(s.cfg.Now().Add(s.cfg.RefreshTTL))); err != nil {
			return nil, err
		}
		resp["refresh_token"] = refresh
	}
	if sc.Has("openid") && sc.Has("fhirUser") && f.username != "" {
		id, err := s.idToken(r, client, f, nonce)
		if err != nil {
			return nil, err
		}
		resp["id_token"] = id
	}
	return resp, nil
}

type idClaims struct {
	jwt.Claims
	FHIRUser string `json:"fhirUser,omitempty"`
	Nonce    string `json:"nonce,omitempty"`
}

// idToken is the OpenID Connect ID token; fhirUser is the absolute URL of the
// user's FHIR resource.
func (s *Server) idToken(r *http.Request, client *Client, f tokenFacts, nonce string) (string, error) {
	sig, err := s.signer(r.Context())
	if err != nil {
		return "", err
	}
	now := s.cfg.Now()
	c := idClaims{Claims: jwt.Claims{Issuer: s.FHIRBase(r), Subject: f.username, Audience: jwt.Audience{client.ID},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(s.cfg.AccessTTL))}, Nonce: nonce}
	if f.fhirUser != "" {
		c.FHIRUser = s.FHIRBase(r) + "/" + f.fhirUser
	}
	return jwt.Signed(sig).Claims(c).Serialize()
}

// refreshGrant rotates a refresh token: the old one is spent, a new one of the
// same family (same client, user, scopes and launch context) is returned. A spent
// token presented again means it leaked: the whole family, with the access tokens
// issued under it, is revoked.
func (s *Server) refreshGrant(r *http.Request) (map[string]any, error) {
	ctx := r.Context()
	client, err := s.authenticateClient(r, s.OAuthURL(r, "token"), true)
	if err != nil {
		return nil, err
	}
	h := tokenHash(r.PostForm.Get("refresh_token"))
	var family, clientID, username, scope, patient, encounter string
	var expires int64
	var rotated int
	err = s.repo.row(ctx, `SELECT family, client_id, username, scope, patient, encounter, expires, rotated FROM auth_refresh_tokens WHERE token_hash = ?`, h).
		Scan(&family, &clientID, &username, &scope, &patient, &encounter, &expires, &rotated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, oauthErr(400, "invalid_grant", "unknown refresh token")
	}
	if err != nil {
		return nil, err
	}
	if clientID != client.ID {
		return nil, oauthErr(400, "invalid_grant", "the refresh token was issued to another client")
	}
	if revoked, err := s.repo.revoked(ctx, family); err != nil || revoked {
		if err != nil {
			return nil, err
		}
		return nil, oauthErr(400, "invalid_grant", "the refresh token has been revoked")
	}
	reuse := func() (map[string]any, error) {
		if err := s.repo.revoke(ctx, family, s.cfg.Now().Add(s.cfg.RefreshTTL)); err != nil {
			return nil, err
		}
		s.cfg.Log.WarnContext(ctx, "refresh token reused: family revoked", "client_id", client.ID)
		return nil, oauthErr(400, "invalid_grant", "the refresh token was already used; every token of its family is revoked")
	}
	if rotated != 0 {
		return reuse()
	}
	if s.cfg.Now().UnixMicro() > expires {
		return nil, oauthErr(400, "invalid_grant", "the refresh token has expired")
	}
	if asked := r.PostForm.Get("scope"); asked != "" {
		narrowed, err := narrowScopes(scope, asked)
		if err != nil {
			return nil, err
		}
		scope = narrowed
	}
	n, err := s.repo.exec(ctx, `UPDATE auth_refresh_tokens SET rotated = 1 WHERE token_hash = ? AND rotated = 0`, h)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return reuse()
	}
	u, err := s.repo.user(ctx, username)
	if err != nil || u.Disabled {
		return nil, oauthErr(400, "invalid_grant", "the user can no longer sign in")
	}
	return s.issue(r, client, tokenFacts{scope: scope, clientID: client.ID, username: username, fhirUser: u.FHIRUser,
		patient: patient, encounter: encounter, family: family}, "")
}

// narrowScopes returns asked when every scope of it was granted in granted.
func narrowScopes(granted, asked string) (string, error) {
	g := strings.Fields(granted)
	for _, a := range strings.Fields(asked) {
		if !slices.Contains(g, a) {
			return "", oauthErr(400, "invalid_scope", "scope %q was not granted originally", a)
		}
	}
	return strings.Join(strings.Fields(asked), " "), nil
}

// grantable cuts requested scopes to those the client is registered for and
// the server enforces (enforceable). It refuses a request that is left with no
// resource scope.
func grantable(client *Client, requested string, contexts ...string) (Scopes, error) {
	var ok bool
	asked, err := ParseScopes(requested)
	if err != nil {
		return Scopes{}, oauthErr(400, "invalid_scope", "%v", err)
	}
	allowed, err := ParseScopes(client.Scopes)
	if err != nil {
		return Scopes{}, err
	}
	out := Scopes{Other: asked.Other}
	for _, a := range asked.Resource {
		if !slices.Contains(contexts, a.Context) {
			continue
		}
		if a, ok = enforceable(a); !ok {
			continue
		}
		for _, al := range allowed.Resource {
			if al.Covers(a) {
				out.Resource = append(out.Resource, a)
				break
			}
		}
	}
	if len(out.Resource) == 0 {
		return Scopes{}, oauthErr(400, "invalid_scope", "none of the requested scopes is allowed for this client")
	}
	return out, nil
}

// clientCredentialsGrant is SMART Backend Services: a confidential client gets an
// access token for system/ scopes, without a refresh token.
func (s *Server) clientCredentialsGrant(r *http.Request) (map[string]any, error) {
	client, err := s.authenticateClient(r, s.OAuthURL(r, "token"), false)
	if err != nil {
		return nil, err
	}
	sc, err := grantable(client, r.PostForm.Get("scope"), "system")
	if err != nil {
		return nil, err
	}
	sc.Other = nil
	access, err := s.signAccess(r.Context(), tokenFacts{scope: sc.String(), clientID: client.ID}, s.cfg.AccessTTL)
	if err != nil {
		return nil, err
	}
	return map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": int(s.cfg.AccessTTL / time.Second), "scope": sc.String()}, nil
}

// introspect is RFC 7662, for confidential clients.
func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
	if err := parseTokenForm(r); err != nil {
		writeOAuthError(w, err)
		return
	}
	if _, err := s.authenticateClient(r, s.OAuthURL(r, "introspect"), false); err != nil {
		writeOAuthError(w, err)
		return
	}
	ctx := r.Context()
	c, err := s.verifyAccess(ctx, r.PostForm.Get("token"))
	if err == nil {
		_, err = s.grant(ctx, c)
	}
	if err != nil {
		if !errors.Is(err, errInvalidToken) {
			writeOAuthError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	resp := map[string]any{"active": true, "scope": c.Scope, "client_id": c.ClientID, "token_type": "Bearer", "sub": c.Subject,
		"iss": c.Issuer, "aud": audienceString(c.Audience), "exp": c.Expiry.Time().Unix(), "jti": c.ID}
	if c.IssuedAt != nil {
		resp["iat"] = c.IssuedAt.Time().Unix()
	}
	if c.Username != "" {
		resp["username"] = c.Username
	}
	if c.Patient != "" {
		resp["patient"] = c.Patient
	}
	if c.Encounter != "" {
		resp["encounter"] = c.Encounter
	}
	if c.FHIRUser != "" {
		resp["fhirUser"] = s.FHIRBase(r) + "/" + c.FHIRUser
	}
	writeJSON(w, http.StatusOK, resp)
}

func audienceString(a jwt.Audience) string {
	if len(a) == 1 {
		return a[0]
	}
	return strings.Join(a, " ")
}

// revoke is RFC 7009: a refresh token revokes its family, an access token itself;
// the answer is 200 whether or not the token was known.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	if err := parseTokenForm(r); err != nil {
		writeOAuthError(w, err)
		return
	}
	client, err := s.authenticateClient(r, s.OAuthURL(r, "revoke"), true)
	if err != nil {
		writeOAuthError(w, err)
		return
	}
	if err := s.revokeToken(r.Context(), client, r.PostForm.Get("token")); err != nil {
		writeOAuthError(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

func (s *Server) revokeToken(ctx context.Context, client *Client, tok string) error {
	var family, clientID string
	err := s.repo.row(ctx, `SELECT family, client_id FROM auth_refresh_tokens WHERE token_hash = ?`, tokenHash(tok)).Scan(&family, &clientID)
	switch {
	case err == nil:
		if clientID != client.ID {
			return nil
		}
		return s.repo.revoke(ctx, family, s.cfg.Now().Add(s.cfg.RefreshTTL))
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	c, err := s.verifyAccess(ctx, tok)
	if err != nil || c.ClientID != client.ID {
		// Unknown, invalid, expired or another client's: nothing to do (RFC 7009 2.2).
		return nil
	}
	return s.repo.revoke(ctx, c.ID, c.Expiry.Time())
}

// enforceable cuts a requested scope to what the server enforces, so that the
// granted scope string says exactly what the token allows. A search-parameter
// restriction is compiled into the queries of reads and searches of its type
// (Policy.Scope); it is not evaluated on what a client writes, nor across every
// type, so a restricted scope keeps only its r and s letters, and a restricted
// scope on "*" is not granted (SMART App Launch 2.2 lets a server grant fewer
// scopes than asked, and says the token response lists those granted).
func enforceable(a ResourceScope) (ResourceScope, bool) {
	if a.Params == nil {
		return a, true
	}
	if a.Type == "*" {
		return a, false
	}
	var perms []byte
	for i := range len(a.Perms) {
		if a.Perms[i] == 'r' || a.Perms[i] == 's' {
			perms = append(perms, a.Perms[i])
		}
	}
	if len(perms) == 0 {
		return a, false
	}
	if string(perms) != a.Perms {
		a.Perms = string(perms)
		a.Raw = a.Context + "/" + a.Type + "." + a.Perms + "?" + a.Params.Encode()
	}
	return a, true
}
