package fhirapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/service"
)

// Config holds what the API needs besides the service.
type Config struct {
	// BaseURL is the public FHIR base, e.g. "https://ehr.example.org/fhir". Empty
	// derives it from each request's Host.
	BaseURL string
	// MaxBodyBytes bounds request bodies; larger ones get 413.
	MaxBodyBytes int64
	// Version is the software version shown in the CapabilityStatement.
	Version string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// API is the FHIR REST handler.
type API struct {
	svc *service.Service
	cfg Config
	log *slog.Logger
	mux *http.ServeMux
}

// New returns the API over svc, serving under /fhir.
func New(svc *service.Service, cfg Config, log *slog.Logger) *API {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	a := &API{svc: svc, cfg: cfg, log: log, mux: http.NewServeMux()}
	a.routes()
	return a
}

func (a *API) routes() {
	m := a.mux
	m.HandleFunc("GET /fhir/metadata", a.capabilities)
	m.HandleFunc("POST /fhir", a.bundle)
	m.HandleFunc("POST /fhir/{$}", a.bundle)
	m.HandleFunc("GET /fhir", a.searchSystem)
	m.HandleFunc("GET /fhir/{$}", a.searchSystem)
	m.HandleFunc("GET /fhir/_history", a.historySystem)
	m.HandleFunc("GET /fhir/{type}", a.searchType)
	m.HandleFunc("POST /fhir/{type}/_search", a.searchType)
	m.HandleFunc("POST /fhir/{type}", a.create)
	m.HandleFunc("PUT /fhir/{type}", a.conditionalUpdate)
	m.HandleFunc("PATCH /fhir/{type}", a.conditionalPatch)
	m.HandleFunc("DELETE /fhir/{type}", a.conditionalDelete)
	m.HandleFunc("GET /fhir/{type}/_history", a.historyType)
	m.HandleFunc("GET /fhir/{type}/{id}", a.read)
	m.HandleFunc("PUT /fhir/{type}/{id}", a.update)
	m.HandleFunc("PATCH /fhir/{type}/{id}", a.patch)
	m.HandleFunc("DELETE /fhir/{type}/{id}", a.delete)
	m.HandleFunc("GET /fhir/{type}/{id}/_history", a.historyInstance)
	m.HandleFunc("GET /fhir/{type}/{id}/_history/{vid}", a.vread)
	m.HandleFunc("GET /fhir/{type}/{id}/{comp}", a.searchCompartment)
	m.HandleFunc("/fhir/", a.unknownRoute)
}

// ServeHTTP gives every request an id, a principal and a body limit, then routes it.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > 64 {
		var b [8]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	w.Header().Set("X-Request-Id", id)
	ctx := context.WithValue(r.Context(), requestIDKey{}, id)
	// Until SMART on FHIR authentication is wired, every HTTP caller is anonymous;
	// the policy decides what anonymous may do.
	ctx = ehr.WithPrincipal(ctx, ehr.PrincipalFrom(ctx))
	r = r.WithContext(ctx)
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes)
	}
	a.mux.ServeHTTP(w, r)
}

type requestIDKey struct{}

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey{}).(string)
	return id
}

func (a *API) unknownRoute(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/fhir/")
	first, _, _ := strings.Cut(path, "/")
	if first != "" && !strings.HasPrefix(first, "$") && !strings.HasPrefix(first, "_") {
		if err := ehr.CheckType(first); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	if allow := allowedMethods(path); allow != "" {
		w.Header().Set("Allow", allow)
		a.writeResource(w, r, http.StatusMethodNotAllowed, fhir.OperationOutcome([]fhir.Issue{{Severity: "error", Code: "not-supported",
			Diagnostics: fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, allow)}}))
		return
	}
	a.errorf(w, r, ehr.NotSupported, "%s %s is not a supported FHIR interaction", r.Method, r.URL.Path)
}

// allowedMethods lists the methods of the interactions served at path (relative to
// the base), or "" when none is.
func allowedMethods(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if !fhir.R4().IsResourceType(parts[0]) {
		return ""
	}
	switch {
	case len(parts) == 1:
		return "GET, HEAD, POST, PUT, PATCH, DELETE"
	case len(parts) == 2 && parts[1] == "_history":
		return "GET, HEAD"
	case len(parts) == 2 && parts[1] == "_search":
		return "POST"
	case len(parts) == 2 && !strings.HasPrefix(parts[1], "$"):
		return "GET, HEAD, PUT, PATCH, DELETE"
	case len(parts) == 3 && parts[2] == "_history", len(parts) == 4 && parts[2] == "_history":
		return "GET, HEAD"
	case len(parts) == 3 && parts[0] == "Patient" && fhir.R4().IsResourceType(parts[2]):
		return "GET, HEAD"
	}
	return ""
}

// base returns the FHIR base URL for links in responses.
func (a *API) base(r *http.Request) string {
	if a.cfg.BaseURL != "" {
		return strings.TrimSuffix(a.cfg.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/fhir"
}
