// Package smart is Omnichart's OAuth 2.0 authorization server for SMART App Launch
// 2.2 and SMART Backend Services, and the bridge from access tokens to the
// engine's principals and scopes: it signs tokens with go-jose, keeps users,
// clients, codes, refresh-token families, revocations and signing keys in the
// store's auth_* tables, and its Policy turns granted scopes into the ehr.Scope
// the store compiles into every query. See docs/security.md.
package smart

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"

	"omnichart/internal/ehr"
)

// Config configures a Server.
type Config struct {
	DB DB
	// Postgres selects "$n" placeholders.
	Postgres bool
	// BaseURL is the public FHIR base URL; empty derives it from each request.
	BaseURL string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// AccessTTL and RefreshTTL are token lifetimes (1 hour and 30 days by default).
	AccessTTL, RefreshTTL time.Duration
	// PasswordIterations for new passwords; DefaultPasswordIterations when 0.
	PasswordIterations int
	// HTTPClient fetches clients' JWKS URLs; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	Log        *slog.Logger
	// PatientVisible, when set, checks the patient a user picks on the sign-in
	// form: it is called with a context carrying the user's principal and a grant
	// to read Patients of the user's organization, and reports whether the
	// patient exists there. Without it a picked id is checked for syntax only.
	PatientVisible func(ctx context.Context, id string) (bool, error)
	// Auditor, when set, records every sign-in (successful or not) and every
	// access token issued; one that cannot be recorded is refused.
	Auditor ehr.Auditor
	// SecretsKey (SecretsKeySize bytes), when set, seals the users' TOTP
	// secrets in the database (secrets.go). Every server and command on one
	// database must be given the same key.
	SecretsKey []byte
}

// Server is the authorization server.
type Server struct {
	repo repo
	cfg  Config
	keys *keyring
	// verified remembers the access tokens whose signature was checked.
	verified verifiedTokens
	jwks     *jwksCache
	// iss caches the issuer, which never changes once stored.
	issMu sync.Mutex
	iss   string
	// lastPurge is when this process last deleted expired rows (purge.go).
	purgeMu   sync.Mutex
	lastPurge time.Time
}

// New returns a server over cfg.DB, whose auth_* tables the store's migrations made.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = time.Hour
	}
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = 30 * 24 * time.Hour
	}
	if cfg.PasswordIterations <= 0 {
		cfg.PasswordIterations = DefaultPasswordIterations
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	r := repo{db: cfg.DB, numbered: cfg.Postgres}
	r.generation = &preparedQuery{query: r.q(`SELECT value FROM auth_settings WHERE name = ?`)}
	return &Server{repo: r, cfg: cfg, keys: &keyring{repo: r, now: cfg.Now}, jwks: &jwksCache{client: cfg.HTTPClient, entries: map[string]jwksEntry{}}}
}

func nowUTC() time.Time { return time.Now().UTC() }

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// issuer is this installation's token issuer: a name stored in the database, so
// every server process on it (and "omnichart admin token") issues and accepts the
// same tokens whatever URL they are reached by.
func (s *Server) issuer(ctx context.Context) (string, error) {
	s.issMu.Lock()
	defer s.issMu.Unlock()
	if s.iss != "" {
		return s.iss, nil
	}
	iss, err := s.repo.setting(ctx, "issuer", func() string { return "urn:omnichart:issuer:" + uuid.NewString() })
	if err != nil {
		return "", err
	}
	s.iss = iss
	return iss, nil
}

// audience is the aud of access tokens: the FHIR API of this installation.
func audience(iss string) string { return iss + "/fhir" }

// AddOrgSource lets the users of org see the records source owns.
func (s *Server) AddOrgSource(ctx context.Context, org, source string) error {
	if org == "" || source == "" {
		return errors.New("an organization and a source are needed")
	}
	_, err := s.repo.exec(ctx, `INSERT INTO auth_org_sources (org, source) VALUES (?, ?) ON CONFLICT (org, source) DO NOTHING`, org, source)
	return err
}

// RotateSigningKey makes a new signing key and signs with it from now on (other
// processes on the database take it up within a minute). Tokens signed by the
// old keys stay valid until RetireSigningKeys removes those keys: rotate, wait
// longer than the access-token lifetime, then retire.
func (s *Server) RotateSigningKey(ctx context.Context) (string, error) {
	return s.keys.rotate(ctx)
}

// RetireSigningKeys deletes the signing keys made more than olderThan ago, but
// never the current one; tokens they signed are refused from then on. It
// returns how many keys it deleted.
func (s *Server) RetireSigningKeys(ctx context.Context, olderThan time.Duration) (int64, error) {
	if olderThan < 0 {
		return 0, errors.New("olderThan must not be negative")
	}
	return s.keys.retire(ctx, s.cfg.Now().Add(-olderThan))
}

// AddUser creates a user of org with a password.
func (s *Server) AddUser(ctx context.Context, u User, password string) error {
	if u.Username == "" || u.Org == "" {
		return errors.New("a user needs a name and an organization")
	}
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, salt, err := hashPassword(password, s.cfg.PasswordIterations)
	if err != nil {
		return err
	}
	breakGlass := 0
	if u.MayBreakGlass {
		breakGlass = 1
	}
	n, err := s.repo.exec(ctx, `INSERT INTO auth_users (username, org, fhir_user, pw_hash, pw_salt, pw_iter, disabled, failures, locked_until, created, break_glass)
		VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, ?, ?) ON CONFLICT (username) DO NOTHING`, u.Username, u.Org, u.FHIRUser, hash, salt, s.cfg.PasswordIterations, micros(s.cfg.Now()), breakGlass)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("user %q already exists", u.Username)
	}
	return nil
}

func checkPassword(pw string) error {
	if len(pw) < 12 {
		return errors.New("a password needs at least 12 characters")
	}
	return nil
}

// ResetPassword sets a new password, lifts a lockout and enables the user.
func (s *Server) ResetPassword(ctx context.Context, username, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, salt, err := hashPassword(password, s.cfg.PasswordIterations)
	if err != nil {
		return err
	}
	n, err := s.repo.exec(ctx, `UPDATE auth_users SET pw_hash = ?, pw_salt = ?, pw_iter = ?, failures = 0, locked_until = 0, disabled = 0 WHERE username = ?`,
		hash, salt, s.cfg.PasswordIterations, username)
	if err == nil && n == 0 {
		err = fmt.Errorf("no user %q", username)
	}
	return err
}

// DisableUser stops a user from signing in; the user's tokens stop working at once.
func (s *Server) DisableUser(ctx context.Context, username string) error {
	n, err := s.repo.exec(ctx, `UPDATE auth_users SET disabled = 1 WHERE username = ?`, username)
	if err == nil && n == 0 {
		err = fmt.Errorf("no user %q", username)
	}
	return err
}

// DisableClient stops a client from getting tokens; the tokens it has stop
// working at once.
func (s *Server) DisableClient(ctx context.Context, clientID string) error {
	n, err := s.repo.exec(ctx, `UPDATE auth_clients SET disabled = 1 WHERE client_id = ?`, clientID)
	if err == nil && n == 0 {
		err = fmt.Errorf("no client %q", clientID)
	}
	return err
}

// SetBreakGlass allows or forbids username to break the glass; it takes effect
// on the user's next request.
func (s *Server) SetBreakGlass(ctx context.Context, username string, allowed bool) error {
	v := 0
	if allowed {
		v = 1
	}
	n, err := s.repo.exec(ctx, `UPDATE auth_users SET break_glass = ? WHERE username = ?`, v, username)
	if err == nil && n == 0 {
		err = fmt.Errorf("no user %q", username)
	}
	return err
}

// AddClient registers c. A symmetric client gets a new secret, returned once; only
// its hash is kept.
func (s *Server) AddClient(ctx context.Context, c Client) (id, secret string, err error) {
	switch c.Kind {
	case ClientPublic, ClientSymmetric:
	case ClientAsymmetric:
		if (c.JWKS == "") == (c.JWKSURL == "") {
			return "", "", errors.New("an asymmetric client needs a JWKS or a JWKS URL, not both")
		}
		if c.JWKS != "" {
			if _, err := parseJWKS([]byte(c.JWKS)); err != nil {
				return "", "", err
			}
		}
	default:
		return "", "", fmt.Errorf("client kind %q: want public, symmetric or asymmetric", c.Kind)
	}
	if _, err := ParseScopes(c.Scopes); err != nil {
		return "", "", err
	}
	if err := checkLaunchURL(c.LaunchURL); err != nil {
		return "", "", err
	}
	if c.ID == "" {
		c.ID = uuid.NewString()
	}
	if c.Kind == ClientSymmetric {
		secret = randomToken()
		c.secretHash = tokenHash(secret)
	}
	if err := s.repo.addClient(ctx, &c, s.cfg.Now()); err != nil {
		return "", "", fmt.Errorf("client %q: %w", c.ID, err)
	}
	return c.ID, secret, nil
}

// lookupUser returns the user, or an error when unknown.
func (s *Server) lookupUser(ctx context.Context, name string) (*userRow, error) {
	u, err := s.repo.user(ctx, name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("no user %q", name)
	}
	return u, err
}

// IssueToken makes an access token without a client flow, for "omnichart admin
// token": scopes as given, the user's organization (when user is set) and the
// launch patient. System scopes reach every source.
func (s *Server) IssueToken(ctx context.Context, scope, user, patient string, ttl time.Duration) (string, error) {
	sc, err := ParseScopes(scope)
	if err != nil {
		return "", err
	}
	if len(sc.Resource) == 0 {
		return "", errors.New("--scope grants no resource access")
	}
	for _, c := range sc.Contexts() {
		switch {
		case c == "user" && user == "":
			return "", errors.New("user/ scopes need --user")
		case c == "patient" && patient == "":
			return "", errors.New("patient/ scopes need --patient")
		}
	}
	if user != "" {
		u, err := s.lookupUser(ctx, user)
		if err != nil {
			return "", err
		}
		if u.Disabled {
			return "", fmt.Errorf("user %q is disabled", user)
		}
	}
	if _, err := s.repo.exec(ctx, `INSERT INTO auth_clients (client_id, name, kind, sources, scopes, disabled, created)
		VALUES (?, ?, ?, '*', '', 0, ?) ON CONFLICT (client_id) DO NOTHING`, cliClientID, "omnichart admin token", clientCLI, micros(s.cfg.Now())); err != nil {
		return "", err
	}
	if ttl <= 0 {
		ttl = s.cfg.AccessTTL
	}
	return s.signAccess(ctx, tokenFacts{scope: sc.String(), clientID: cliClientID, username: user, patient: patient}, ttl)
}

// cliClientID is the client of tokens "omnichart admin token" makes.
const cliClientID = "omnichart-admin-cli"
