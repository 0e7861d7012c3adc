package smart

import (
	"context"
	"crypto/subtle"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/google/uuid"

	"omnichart/internal/ehr"
)

// codeTTL is how long an authorization code may wait for its exchange.
const codeTTL = 2 * time.Minute

// MaxSignInFailures is how many wrong passwords in a row lock an account.
const MaxSignInFailures = 10

// lockoutDuration is how long a locked account stays locked.
const lockoutDuration = 15 * time.Minute

// signInFailed is the one answer to every failed sign-in, whether the user is
// unknown, disabled, locked or gave a wrong password.
const signInFailed = "Invalid username or password."

var (
	challengeSyntax = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	idSyntax        = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)
)

// authRequest is an authorization request (RFC 6749 section 4.1.1 with RFC 7636
// and SMART's aud and launch).
type authRequest struct {
	ResponseType, ClientID, RedirectURI, Scope, State, Aud, Challenge, Method, Nonce, Launch string
}

func readAuthRequest(f url.Values) authRequest {
	return authRequest{ResponseType: f.Get("response_type"), ClientID: f.Get("client_id"), RedirectURI: f.Get("redirect_uri"),
		Scope: f.Get("scope"), State: f.Get("state"), Aud: f.Get("aud"), Challenge: f.Get("code_challenge"),
		Method: f.Get("code_challenge_method"), Nonce: f.Get("nonce"), Launch: f.Get("launch")}
}

var signInPage = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to Omnichart</title></head>
<body><main>
<h1>Sign in to Omnichart</h1>
<p>{{.ClientName}} asks for: {{.Scope}}</p>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
<form method="post" action="authorize">
<input type="hidden" name="csrf" value="{{.CSRF}}">
{{range $k, $v := .Hidden}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<label>Username <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<label>One-time code (if you use one) <input name="otp" inputmode="numeric" autocomplete="one-time-code"></label>
{{if .AskPatient}}<label>Patient id <input name="patient" required></label>
{{end}}{{if .AskEncounter}}<label>Encounter id <input name="encounter"></label>
{{end}}<button type="submit">Sign in</button>
</form></main></body></html>
`))

// authorize serves the authorization endpoint by GET and by POST (authorize-post).
// Until the request carries credentials it shows the sign-in form; with valid
// ones it redirects back to the client with a code.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the request cannot be read", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	req := readAuthRequest(r.Form)
	client, err := s.repo.client(ctx, req.ClientID)
	if err != nil || client.Disabled || client.Kind == clientCLI || client.Kind == ClientAsymmetric && len(client.RedirectURIs) == 0 {
		// Never redirect to a URI of a client we cannot vouch for (RFC 6749 4.1.2.1).
		http.Error(w, "unknown or disabled client_id", http.StatusBadRequest)
		return
	}
	if req.RedirectURI == "" && len(client.RedirectURIs) == 1 {
		req.RedirectURI = client.RedirectURIs[0]
	}
	if !slices.Contains(client.RedirectURIs, req.RedirectURI) {
		http.Error(w, "redirect_uri is not registered for this client", http.StatusBadRequest)
		return
	}
	fail := func(code, desc string) {
		q := url.Values{"error": {code}, "error_description": {desc}}
		if req.State != "" {
			q.Set("state", req.State)
		}
		http.Redirect(w, r, withQuery(req.RedirectURI, q), http.StatusFound)
	}
	switch {
	case req.ResponseType != "code":
		fail("unsupported_response_type", "response_type must be code")
		return
	case req.Method != "S256":
		fail("invalid_request", "PKCE with code_challenge_method=S256 is required")
		return
	case !challengeSyntax.MatchString(req.Challenge):
		fail("invalid_request", "code_challenge must be the base64url SHA-256 of the code verifier (43 characters)")
		return
	case req.Aud != s.FHIRBase(r):
		fail("invalid_request", "aud must be this server's FHIR base URL, "+s.FHIRBase(r))
		return
	}
	var ehrLaunch *launchContext
	if v := r.Form.Get("launch"); v != "" {
		lc, ok, err := s.launch(ctx, v)
		if err != nil {
			s.cfg.Log.ErrorContext(ctx, "read launch", "error", err)
			http.Error(w, "sign-in is unavailable", http.StatusInternalServerError)
			return
		}
		if !ok {
			fail("invalid_request", "the launch parameter names no current EHR launch")
			return
		}
		ehrLaunch = &lc
	}
	scopes, err := grantable(client, req.Scope, "patient", "user")
	if err != nil {
		var oe *oauthError
		errors.As(err, &oe)
		fail("invalid_scope", oe.desc)
		return
	}
	if ehrLaunch != nil && !scopes.Has("launch") {
		fail("invalid_scope", "an EHR launch needs the launch scope")
		return
	}
	askPatient := scopes.Has("launch/patient") && ehrLaunch == nil
	page := map[string]any{"ClientName": client.Name, "Scope": scopes.String(), "AskPatient": askPatient,
		"AskEncounter": askPatient && scopes.Has("launch/encounter"), "Hidden": hiddenFields(req)}
	if client.Name == "" {
		page["ClientName"] = client.ID
	}
	page["CSRF"] = signInToken(w, r)
	if r.Method != http.MethodPost || r.PostForm.Get("username") == "" {
		renderSignIn(w, http.StatusOK, page)
		return
	}
	if !signInFromOurForm(r) {
		// Credentials not typed into a form this server gave this browser
		// (login cross-site request forgery): nothing is checked or counted.
		page["Error"] = "This sign-in form has expired or did not come from Omnichart; sign in again."
		renderSignIn(w, http.StatusForbidden, page)
		return
	}
	u, err := s.signIn(ctx, r.PostForm.Get("username"), r.PostForm.Get("password"), r.PostForm.Get("otp"))
	login := ehr.AccessEvent{Interaction: "login", Subject: "user/" + r.PostForm.Get("username"), Client: client.ID}
	switch {
	case errors.Is(err, errSignIn):
		login.Outcome = string(ehr.Unauthorized)
	case err != nil:
		login.Outcome = string(ehr.Internal)
	default:
		login.Organization = u.Org
	}
	if aerr := s.audit(ctx, login); aerr != nil {
		http.Error(w, "sign-in is unavailable", http.StatusInternalServerError)
		return
	}
	if err != nil {
		if !errors.Is(err, errSignIn) {
			s.cfg.Log.ErrorContext(ctx, "sign-in", "error", err)
			http.Error(w, "sign-in is unavailable", http.StatusInternalServerError)
			return
		}
		page["Error"] = signInFailed
		renderSignIn(w, http.StatusUnauthorized, page)
		return
	}
	patient, encounter := r.PostForm.Get("patient"), r.PostForm.Get("encounter")
	if ehrLaunch != nil {
		patient, encounter = ehrLaunch.patient, ehrLaunch.encounter
	}
	if askPatient && !idSyntax.MatchString(patient) || encounter != "" && !idSyntax.MatchString(encounter) {
		page["Error"] = "Enter a valid patient (and encounter) id."
		renderSignIn(w, http.StatusBadRequest, page)
		return
	}
	if askPatient && s.cfg.PatientVisible != nil {
		visible, err := s.patientVisible(ctx, u, patient)
		if err != nil {
			s.cfg.Log.ErrorContext(ctx, "check the picked patient", "error", err)
			http.Error(w, "sign-in is unavailable", http.StatusInternalServerError)
			return
		}
		if !visible {
			page["Error"] = "No patient with that id is visible to you."
			renderSignIn(w, http.StatusBadRequest, page)
			return
		}
	}
	if !askPatient && ehrLaunch == nil {
		patient, encounter = "", ""
	}
	code := randomToken()
	if _, err := s.repo.exec(ctx, `INSERT INTO auth_codes (code_hash, client_id, redirect_uri, challenge, scope, username, patient, encounter, nonce, family, expires, used)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`, tokenHash(code), client.ID, req.RedirectURI, req.Challenge, scopes.String(), u.Username,
		patient, encounter, req.Nonce, uuid.NewString(), micros(s.cfg.Now().Add(codeTTL))); err != nil {
		s.cfg.Log.ErrorContext(ctx, "store authorization code", "error", err)
		http.Error(w, "sign-in is unavailable", http.StatusInternalServerError)
		return
	}
	q := url.Values{"code": {code}}
	if req.State != "" {
		q.Set("state", req.State)
	}
	http.Redirect(w, r, withQuery(req.RedirectURI, q), http.StatusFound)
}

// patientVisible asks PatientVisible, as the user with a read grant on Patients
// of the user's organization.
func (s *Server) patientVisible(ctx context.Context, u *userRow, id string) (bool, error) {
	sources, err := s.repo.orgSources(ctx, u.Org)
	if err != nil {
		return false, err
	}
	scopes, err := ParseScopes("user/Patient.r")
	if err != nil {
		return false, err
	}
	g := Grant{Scopes: scopes, Username: u.Username, UserSources: sources, Org: u.Org}
	ctx = WithGrant(ctx, g)
	ctx = ehr.WithPrincipal(ctx, principalOf(g))
	return s.cfg.PatientVisible(ctx, id)
}

func hiddenFields(req authRequest) map[string]string {
	out := map[string]string{}
	for k, v := range map[string]string{"response_type": req.ResponseType, "client_id": req.ClientID, "redirect_uri": req.RedirectURI,
		"scope": req.Scope, "state": req.State, "aud": req.Aud, "code_challenge": req.Challenge, "code_challenge_method": req.Method, "nonce": req.Nonce, "launch": req.Launch} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

func renderSignIn(w http.ResponseWriter, status int, page map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	signInPage.Execute(w, page)
}

func withQuery(uri string, q url.Values) string {
	u, err := url.Parse(uri)
	if err != nil {
		return uri
	}
	merged := u.Query()
	for k, v := range q {
		merged[k] = v
	}
	u.RawQuery = merged.Encode()
	return u.String()
}

var errSignIn = errors.New("sign-in failed")

// signIn checks a password and, for a user with TOTP, the one-time code. Every
// failure is errSignIn, and an unknown user costs the same PBKDF2 work as a known
// one, so the answer tells nothing about which users exist or use TOTP.
// MaxSignInFailures failures in a row (a wrong password or a wrong, missing or
// reused code) lock the account for lockoutDuration; a locked account refuses even
// the right credentials.
func (s *Server) signIn(ctx context.Context, username, password, code string) (*userRow, error) {
	u, err := s.repo.user(ctx, username)
	if err != nil {
		passwordMatches(password, dummyHash, dummySalt, s.cfg.PasswordIterations)
		return nil, errSignIn
	}
	now := s.cfg.Now()
	ok := passwordMatches(password, u.hash, u.salt, u.iter)
	if u.Disabled || u.lockedUntil > now.UnixMicro() {
		return nil, errSignIn
	}
	if ok && u.totpSecret != "" {
		if ok, err = s.totpAccepts(ctx, u, code); err != nil {
			return nil, err
		}
	}
	if !ok {
		locked := int64(0)
		if u.failures+1 >= MaxSignInFailures {
			locked = micros(now.Add(lockoutDuration))
		}
		if _, err := s.repo.exec(ctx, `UPDATE auth_users SET failures = failures + 1, locked_until = ? WHERE username = ?`, locked, username); err != nil {
			return nil, err
		}
		return nil, errSignIn
	}
	if u.failures > 0 {
		if _, err := s.repo.exec(ctx, `UPDATE auth_users SET failures = 0, locked_until = 0 WHERE username = ?`, username); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// dummyHash and dummySalt are compared against when the user is unknown.
const (
	dummyHash = "0000000000000000000000000000000000000000000000000000000000000000"
	dummySalt = "00000000000000000000000000000000"
)

// signInCookie holds the random value the sign-in form repeats in its csrf
// field (a double-submit token): a page of another site can make a browser post
// credentials here, but cannot read or set this cookie, so it cannot sign the
// browser in as someone else.
const signInCookie = "omnichart_signin"

// signInToken returns the browser's sign-in token, setting a new one when it
// has none.
func signInToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(signInCookie); err == nil && tokenSyntax.MatchString(c.Value) {
		return c.Value
	}
	v := randomToken()
	http.SetCookie(w, &http.Cookie{Name: signInCookie, Value: v, Path: "/oauth/", MaxAge: 3600,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	return v
}

// signInFromOurForm reports whether a posted sign-in carries the browser's
// sign-in token in its csrf field.
func signInFromOurForm(r *http.Request) bool {
	c, err := r.Cookie(signInCookie)
	if err != nil || !tokenSyntax.MatchString(c.Value) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostForm.Get("csrf"))) == 1
}

// tokenSyntax is the form of randomToken: 32 bytes in unpadded base64url.
var tokenSyntax = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
