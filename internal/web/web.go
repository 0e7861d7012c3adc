// Package web is the clinician's web UI: sign-in, patient search, the
// integrated chart of a person, and the operations pages (connected sources,
// the patient-matching review queue, the import quarantine).
//
// Every page reads through the interaction engine (package service) with the
// signed-in user's grant in the request context, so the same Policy and scope
// conditions apply as to a user/*.cruds token of that user on the FHIR API. Pages
// are server-rendered html/template with embedded static files; they need no
// script. See docs/web.md.
package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"omnichart/internal/docview"
	"omnichart/internal/ehr"
	"omnichart/internal/ingest"
	"omnichart/internal/mpi"
	"omnichart/internal/service"
	"omnichart/internal/smart"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Authenticator signs users in and gives the grant a signed-in user reads with;
// *smart.Server is one.
type Authenticator interface {
	SignIn(ctx context.Context, username, password, code string) (smart.User, error)
	UserGrant(ctx context.Context, username string) (smart.Grant, error)
}

// ReviewQueue is the patient-matching review queue; *mpi.MPI is one.
// Launcher starts SMART apps from the chart (an EHR launch); smart.Server is one.
type Launcher interface {
	// LaunchApps lists the apps the chart offers.
	LaunchApps(ctx context.Context) ([]smart.App, error)
	// EHRLaunch records the launch context and returns where to send the browser.
	EHRLaunch(r *http.Request, clientID, patient, encounter string) (string, error)
}

type ReviewQueue interface {
	Queue(ctx context.Context, all bool) ([]mpi.ReviewItem, error)
	Decide(ctx context.Context, taskID string, v mpi.Verdict, reason string) (*ehr.Record, error)
}

// Quarantine is the import quarantine: what failed, and replaying it.
type Quarantine interface {
	Quarantined(ctx context.Context, all bool) ([]ingest.QuarantineEntry, error)
	Replay(ctx context.Context, id string) (*ingest.Report, error)
}

// ImporterQuarantine is the Quarantine of an importer, replaying as the
// sources registered in Directory.
type ImporterQuarantine struct {
	Importer  *ingest.Importer
	Directory *ingest.Directory
}

// Quarantined lists the quarantine entries (see ingest.Importer.Quarantined).
func (q ImporterQuarantine) Quarantined(ctx context.Context, all bool) ([]ingest.QuarantineEntry, error) {
	return q.Importer.Quarantined(ctx, all)
}

// Replay imports entry id's original again (see ingest.Importer.Replay).
func (q ImporterQuarantine) Replay(ctx context.Context, id string) (*ingest.Report, error) {
	return q.Importer.Replay(ctx, q.Directory, id)
}

// DocumentRenderer renders an original document or a note (a DocumentReference
// or Composition record) as safe HTML. It is the hook of the document viewer;
// without one the pages show a note's text escaped, as plain text.
type DocumentRenderer func(ctx context.Context, rec *ehr.Record) (template.HTML, error)

// Config configures the web UI.
type Config struct {
	// Service is the interaction engine every page reads and writes through.
	Service *service.Service
	// Auth signs users in; it is not used with InsecureNoAuth.
	Auth Authenticator
	// Launcher, when set, offers the SMART apps registered with a launch URL on
	// every chart (an EHR launch for the chart's patient).
	Launcher Launcher
	// InsecureNoAuth serves every page as an unrestricted local user, and says
	// so on every page.
	InsecureNoAuth bool
	// Operators are the usernames who may open the operations pages.
	Operators []string
	// Reviews is the patient-matching review queue; nil hides its page.
	Reviews ReviewQueue
	// Quarantine is the import quarantine; nil hides its page.
	Quarantine Quarantine
	// Documents renders original documents and notes (DocumentViewer); nil
	// shows notes as escaped plain text.
	Documents DocumentRenderer
	// AuditLog, when set, replaces the built-in audit-log page under /ops/audit
	// (for operators) with a handler of its own; nil serves the page over Audit.
	AuditLog http.Handler
	// Audit is the store of the audit log the audit-log page lists (filtered by
	// patient, user and time) when AuditLog is nil; nil says the log is not
	// available.
	Audit ehr.AuditStore
	// IdleTimeout ends a session not used for this long; 15 minutes when 0.
	IdleTimeout time.Duration
	// SecureCookies marks cookies Secure; set it when serving over TLS.
	SecureCookies bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Handler is the web UI.
type Handler struct {
	cfg      Config
	mux      *http.ServeMux
	pages    map[string]*template.Template
	sessions *sessions
	// cssPath is the content-hashed URL of the style sheet.
	cssPath string
	// localCSRF is the CSRF token of the local user without authorization: one
	// per process, so that another site still cannot post the forms.
	localCSRF string
}

// New returns the web UI, to be mounted at "/".
func New(cfg Config) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 15 * time.Minute
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux(), sessions: newSessions(cfg.IdleTimeout, cfg.Now), localCSRF: newID(32)}
	css, err := fs.ReadFile(staticFS, "static/style.css")
	if err != nil {
		panic(err) // embedded at build time: cannot be missing
	}
	// The document viewer's classes come with the one style sheet, so that the
	// Content-Security-Policy keeps allowing styles from 'self' only.
	css = append(append(css, '\n'), docview.CSS()...)
	sum := sha256.Sum256(css)
	h.cssPath = "/static/" + hex.EncodeToString(sum[:6]) + "/style.css"
	h.pages = parsePages()
	h.routes(css)
	return h
}

func (h *Handler) routes(css []byte) {
	m := h.mux
	m.HandleFunc("GET "+h.cssPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Write(css)
	})
	m.HandleFunc("GET /signin", h.signInPage)
	m.HandleFunc("POST /signin", h.signIn)
	m.Handle("POST /signout", h.authed(h.signOut))
	m.Handle("GET /{$}", h.authed(h.searchPage))
	m.Handle("GET /patients/{id}", h.authed(h.chartPage))
	m.Handle("GET /patients/{id}/trend", h.authed(h.trendPage))
	m.Handle("GET /patients/{id}/notes/{type}/{nid}", h.authed(h.notePage))
	m.Handle("POST /patients/{id}/reconcile", h.authed(h.reconcileDecide))
	m.Handle("POST /patients/{id}/launch", h.authed(h.launchApp))
	m.Handle("GET /directory", h.authed(h.directoryPage))
	m.Handle("GET /directory/products/{id}", h.authed(h.productPage))
	m.Handle("GET /directory/compare", h.authed(h.comparePage))
	m.Handle("GET /directory/glossary", h.authed(h.glossaryPage))
	m.Handle("GET /ops/sources", h.operator(h.sourcesPage))
	m.Handle("POST /ops/sources", h.operator(h.sourceAdd))
	m.Handle("GET /ops/review", h.operator(h.reviewPage))
	m.Handle("POST /ops/review/{task}", h.operator(h.reviewDecide))
	m.Handle("GET /ops/quarantine", h.operator(h.quarantinePage))
	m.Handle("POST /ops/quarantine/{task}/replay", h.operator(h.quarantineReplay))
	m.Handle("GET /ops/audit", h.operator(h.auditPage))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, ehr.Errorf(ehr.NotFound, "there is no page at this address"))
	})
}

// ServeHTTP sets the security headers every answer carries and a request id,
// then serves the page.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	if hd.Get("Cache-Control") == "" {
		hd.Set("Cache-Control", "no-store")
	}
	id := newID(8)
	hd.Set("X-Request-Id", id)
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	// The address goes with the audit records of what the page does.
	r = r.WithContext(ehr.WithOrigin(context.WithValue(r.Context(), requestIDKey{}, id), host))
	h.mux.ServeHTTP(w, r)
}

type requestIDKey struct{}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// newID returns n random bytes, hex-encoded.
func newID(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b)
}

func (h *Handler) isOperator(user string) bool {
	return h.cfg.InsecureNoAuth || slices.Contains(h.cfg.Operators, user)
}
