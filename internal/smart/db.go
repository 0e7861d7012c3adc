package smart

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// DB is what the authorization server needs of a database: the store's pool
// (store.Store.DB), whose migrations created the auth_* tables. It never goes
// through the FHIR service: these tables hold no FHIR resources.
type DB interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// repo runs the authorization server's SQL, written with "?" placeholders and
// rewritten to "$n" for PostgreSQL.
type repo struct {
	db       DB
	numbered bool
	// generation is the statement every request runs (grantGeneration),
	// prepared once; shared by the copies of the repo.
	generation *preparedQuery
}

// preparedQuery is a query prepared on first use where the DB can prepare
// statements (a *sql.DB keeps one per connection), so that the statement the
// token check runs on every request is parsed once rather than per request.
type preparedQuery struct {
	query string
	once  sync.Once
	stmt  *sql.Stmt
}

type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// row runs the query with args, prepared when the DB allows it.
func (p *preparedQuery) row(ctx context.Context, db DB, args ...any) *sql.Row {
	p.once.Do(func() {
		if pr, ok := db.(preparer); ok {
			// Prepared without the request's context: the statement outlives it.
			if st, err := pr.PrepareContext(context.WithoutCancel(ctx), p.query); err == nil {
				p.stmt = st
			}
		}
	})
	if p.stmt != nil {
		return p.stmt.QueryRowContext(ctx, args...)
	}
	return db.QueryRowContext(ctx, p.query, args...)
}

func (r repo) q(query string) string {
	if !r.numbered {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// exec runs one change of the auth_* tables and, in the same transaction,
// gives the tables a new generation (grantGeneration): a server that remembers
// the grant of a token (Server.Authenticate) reads the generation on every
// request and reads the grant again when it changed, so no change of a user,
// client, organization, key or revocation goes unseen by any process.
func (r repo) exec(ctx context.Context, query string, args ...any) (int64, error) {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, r.q(query), args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, r.q(`INSERT INTO auth_settings (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`), grantGenerationSetting, uuid.NewString()); err != nil {
		return 0, fmt.Errorf("auth generation: %w", err)
	}
	return n, tx.Commit()
}

// grantGenerationSetting names the auth_settings row that changes with every
// change of the auth_* tables (see exec).
const grantGenerationSetting = "grant-generation"

// grantGeneration reads the current generation of the auth_* tables; "" before
// the first change.
func (r repo) grantGeneration(ctx context.Context) (string, error) {
	var v string
	err := r.generation.row(ctx, r.db, grantGenerationSetting).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func (r repo) row(ctx context.Context, query string, args ...any) *sql.Row {
	return r.db.QueryRowContext(ctx, r.q(query), args...)
}

func micros(t time.Time) int64 { return t.UnixMicro() }

// setting returns a stored setting, creating it with make() when absent; two
// processes racing get the same value (the first insert wins).
func (r repo) setting(ctx context.Context, name string, make func() string) (string, error) {
	var v string
	err := r.row(ctx, `SELECT value FROM auth_settings WHERE name = ?`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	if _, err := r.exec(ctx, `INSERT INTO auth_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, make()); err != nil {
		return "", err
	}
	err = r.row(ctx, `SELECT value FROM auth_settings WHERE name = ?`, name).Scan(&v)
	return v, err
}

// User is a person who signs in: a clinician or administrator of an organization.
type User struct {
	Username string
	Org      string
	// FHIRUser is the user's FHIR resource, e.g. "Practitioner/123" (the
	// fhirUser claim), or "".
	FHIRUser string
	Disabled bool
	// MayBreakGlass lets the user open a patient's records at every source in
	// an emergency (ehr.BreakGlass), always with a reason and audited.
	MayBreakGlass bool
}

// Client is a registered application.
type Client struct {
	ID   string
	Name string
	// Kind is "public", "symmetric" (client secret) or "asymmetric"
	// (private_key_jwt with a registered JWKS).
	Kind         string
	secretHash   string
	RedirectURIs []string
	JWKS         string
	JWKSURL      string
	// Scopes are the scopes the client may be granted.
	Scopes string
	// Sources are the sources a backend (system/) client may reach; "*" is all.
	Sources  []string
	Disabled bool
	// LaunchURL is the app's launch URL: the chart starts an EHR launch by sending
	// the browser there with iss and launch. Empty for apps not launched from the chart.
	LaunchURL string
}

// Client kinds.
const (
	ClientPublic     = "public"
	ClientSymmetric  = "symmetric"
	ClientAsymmetric = "asymmetric"
	// clientCLI is the row of tokens made by "omnichart admin token"; it cannot
	// authenticate at the token endpoint.
	clientCLI = "cli"
)

func (r repo) client(ctx context.Context, id string) (*Client, error) {
	c := &Client{ID: id}
	var uris, sources string
	var disabled int
	err := r.row(ctx, `SELECT name, kind, secret_hash, redirect_uris, jwks, jwks_url, scopes, sources, disabled, launch_url FROM auth_clients WHERE client_id = ?`, id).
		Scan(&c.Name, &c.Kind, &c.secretHash, &uris, &c.JWKS, &c.JWKSURL, &c.Scopes, &sources, &disabled, &c.LaunchURL)
	if err != nil {
		return nil, err
	}
	c.RedirectURIs, c.Sources, c.Disabled = strings.Fields(uris), strings.Fields(sources), disabled != 0
	return c, nil
}

func (r repo) addClient(ctx context.Context, c *Client, now time.Time) error {
	_, err := r.exec(ctx, `INSERT INTO auth_clients (client_id, name, kind, secret_hash, redirect_uris, jwks, jwks_url, scopes, sources, disabled, created, launch_url)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`, c.ID, c.Name, c.Kind, c.secretHash, strings.Join(c.RedirectURIs, " "),
		c.JWKS, c.JWKSURL, c.Scopes, strings.Join(c.Sources, " "), micros(now), c.LaunchURL)
	return err
}

// userRow is a user with the fields sign-in needs.
type userRow struct {
	User
	hash, salt  string
	iter        int
	failures    int
	lockedUntil int64
	totpSecret  string
}

func (r repo) user(ctx context.Context, name string) (*userRow, error) {
	u := &userRow{}
	u.Username = name
	var disabled, breakGlass int
	err := r.row(ctx, `SELECT org, fhir_user, pw_hash, pw_salt, pw_iter, disabled, failures, locked_until, totp_secret, break_glass FROM auth_users WHERE username = ?`, name).
		Scan(&u.Org, &u.FHIRUser, &u.hash, &u.salt, &u.iter, &disabled, &u.failures, &u.lockedUntil, &u.totpSecret, &breakGlass)
	if err != nil {
		return nil, err
	}
	u.Disabled = disabled != 0
	u.MayBreakGlass = breakGlass != 0
	return u, nil
}

// orgSources lists the sources an organization's users see. The first is the
// one they write for (ehr.Principal.Source): the source whose slug is the
// organization's name when it has one (organization "st-marys" writes for
// urn:omnichart:source:st-marys whatever else it sees), else the first by URI.
func (r repo) orgSources(ctx context.Context, org string) ([]string, error) {
	rows, err := r.db.QueryContext(ctx, r.q(`SELECT source FROM auth_org_sources WHERE org = ?
		ORDER BY CASE WHEN source = ? THEN 0 ELSE 1 END, source`), org, ownSourcePrefix+org)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ownSourcePrefix and an organization's name make the URI of the source the
// organization writes for, as the source directory makes URIs from slugs.
const ownSourcePrefix = "urn:omnichart:source:"

// revoked reports whether any of ids (token ids, refresh families) is revoked,
// in one statement.
func (r repo) revoked(ctx context.Context, ids ...string) (bool, error) {
	var args []any
	for _, id := range ids {
		if id != "" {
			args = append(args, id)
		}
	}
	if len(args) == 0 {
		return false, nil
	}
	var n int
	q := `SELECT count(*) FROM auth_revoked WHERE id IN (?` + strings.Repeat(", ?", len(args)-1) + `)`
	if err := r.row(ctx, q, args...).Scan(&n); err != nil {
		return false, err
	}
	return n > 0, nil
}

// tokenHolder is what a request's token depends on beyond its signature: its
// client and, for a user's token, its user.
type tokenHolder struct {
	clientSources                          []string
	clientDisabled                         bool
	userFound, userDisabled, mayBreakGlass bool
	org                                    string
}

// tokenHolder reads the client and the user (none when username is "") of a
// token in one statement; sql.ErrNoRows when the client is not registered.
func (r repo) tokenHolder(ctx context.Context, clientID, username string) (tokenHolder, error) {
	var h tokenHolder
	var sources, user, org string
	var clientDisabled, userDisabled, breakGlass int
	err := r.row(ctx, `SELECT c.sources, c.disabled, COALESCE(u.username, ''), COALESCE(u.org, ''), COALESCE(u.disabled, 0), COALESCE(u.break_glass, 0)
		FROM auth_clients c LEFT JOIN auth_users u ON u.username = ?
		WHERE c.client_id = ?`, username, clientID).Scan(&sources, &clientDisabled, &user, &org, &userDisabled, &breakGlass)
	if err != nil {
		return h, err
	}
	h.clientSources, h.clientDisabled = strings.Fields(sources), clientDisabled != 0
	h.userFound = username != "" && user == username
	h.userDisabled, h.mayBreakGlass, h.org = userDisabled != 0, breakGlass != 0, org
	return h, nil
}

func (r repo) revoke(ctx context.Context, id string, until time.Time) error {
	_, err := r.exec(ctx, `INSERT INTO auth_revoked (id, expires) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, id, micros(until))
	return err
}
