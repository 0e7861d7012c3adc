package fhirapi

import (
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
	// MaxRequestsPerClient bounds the requests of one client (one IP address, or
	// one IPv6 /64) in progress at once; more get 429. 0 means
	// DefaultMaxRequestsPerClient, a negative value no limit.
	MaxRequestsPerClient int
	// PatientIndex serves Patient/$match and Task/{id}/$decide; nil leaves
	// them out.
	PatientIndex PatientIndex
	// InsecureNoAuth says that the server runs without authorization; the
	// CapabilityStatement then says so.
	InsecureNoAuth bool
	// SMART says that SMART on FHIR authorization guards the API; the
	// CapabilityStatement then declares its OAuth endpoints.
	SMART bool
}

// API is the FHIR REST handler.
type API struct {
	svc *service.Service
	cfg Config
	log *slog.Logger
	mux *http.ServeMux
	// clients counts requests in progress per client; nil when unlimited.
	clients *clientLimiter
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
	if cfg.MaxRequestsPerClient == 0 {
		cfg.MaxRequestsPerClient = DefaultMaxRequestsPerClient
	}
	a := &API{svc: svc, cfg: cfg, log: log, mux: http.NewServeMux()}
	if cfg.MaxRequestsPerClient > 0 {
		a.clients = &clientLimiter{max: cfg.MaxRequestsPerClient, inFlight: map[string]int{}}
	}
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
	a.routeOperations(m, operations())
	a.mpiRoutes()
	m.HandleFunc("/fhir/", a.unknownRoute)
}

// ServeHTTP gives every request an id, a principal and a body limit, routes it, and
// logs it once it is answered (see logRequest).
//
// The request id is the caller's X-Request-ID when it is sane (see saneRequestID),
// otherwise a new one; either way it is returned in the X-Request-ID response
// header. A body whose Content-Length is over the limit is refused with 413 before
// any of it is read; a chunked body is cut off at the limit as it is read. A client
// with MaxRequestsPerClient requests in progress gets 429 (see admit).
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	r = withRequestID(w, r)
	rec := &statusRecorder{ResponseWriter: w}
	ctx := r.Context()
	// Until SMART on FHIR authentication is wired, every HTTP caller is anonymous;
	// the policy decides what anonymous may do.
	ctx = ehr.WithPrincipal(ctx, ehr.PrincipalFrom(ctx))
	ctx = ehr.WithOrigin(ctx, remoteHost(r))
	r = r.WithContext(ctx)
	defer func() { a.logRequest(r, rec.status(), time.Since(start)) }()
	done, ok := a.admit(rec, r)
	if !ok {
		return
	}
	defer done()
	if r.ContentLength > a.cfg.MaxBodyBytes {
		// Tell the client not to send the rest on this connection.
		rec.Header().Set("Connection", "close")
		a.errorf(rec, r, ehr.TooLarge, "the request body of %d bytes is larger than the limit of %d bytes", r.ContentLength, a.cfg.MaxBodyBytes)
		return
	}
	if r.Body != nil {
		r.Body = timedBody{http.MaxBytesReader(rec, r.Body, a.cfg.MaxBodyBytes)}
	}
	a.mux.ServeHTTP(rec, r)
}

// RequestIDs gives every request through next its request id (see ServeHTTP)
// before anything else answers it, so that the answers of middleware in front of
// the API (a 401 of the bearer check) carry X-Request-ID too.
func RequestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, withRequestID(w, r))
	})
}

// withRequestID puts the request id in r's context and the X-Request-ID
// response header, unless a handler in front did already.
func withRequestID(w http.ResponseWriter, r *http.Request) *http.Request {
	if ehr.RequestID(r.Context()) != "" {
		return r
	}
	id := r.Header.Get("X-Request-ID")
	if !saneRequestID(id) {
		id = newRequestID()
	}
	w.Header().Set("X-Request-ID", id)
	return r.WithContext(ehr.WithRequestID(r.Context(), id))
}

// logRequest writes one log record per request: method, route pattern, status,
// duration and request id. It never logs the path, the query string or the body,
// which may identify a patient.
func (a *API) logRequest(r *http.Request, status int, d time.Duration) {
	route := r.Pattern
	if route == "" {
		route = "(none)"
	}
	a.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.String("request_id", requestID(r)))
}

// saneRequestID reports whether a caller's request id can be used and logged as it
// is: 1 to 64 letters, digits and "-", "_", ".", ":".
func saneRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
		if !ok {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusRecorder remembers the status a handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// status is the status sent, 200 when the handler wrote nothing.
func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}

// requestID is the id ServeHTTP gave the request.
func requestID(r *http.Request) string { return ehr.RequestID(r.Context()) }

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
