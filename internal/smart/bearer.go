package smart

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"omnichart/internal/ehr"
)

// OpenPath reports whether a request needs no token: the CapabilityStatement and
// the discovery documents, which clients read before they have one.
func OpenPath(r *http.Request) bool {
	p := r.URL.Path
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	return p == "/fhir/metadata" || strings.HasPrefix(p, "/fhir/.well-known/")
}

// RequireBearer wraps the FHIR API: every request but those OpenPath lets through
// must carry a valid access token (RFC 6750), whose principal and grant are put
// in the request context for the engine and its Policy. A missing or invalid
// token is answered 401 with WWW-Authenticate and an OperationOutcome.
func (s *Server) RequireBearer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if OpenPath(r) {
			next.ServeHTTP(w, r)
			return
		}
		h := r.Header.Get("Authorization")
		scheme, raw, _ := strings.Cut(h, " ")
		if h == "" || !strings.EqualFold(scheme, "Bearer") {
			s.cfg.Log.InfoContext(r.Context(), "request refused", "method", r.Method, "status", http.StatusUnauthorized, "reason", "no bearer token")
			unauthorized(w, "", "this request needs a bearer access token (Authorization: Bearer ...)")
			return
		}
		raw = strings.TrimSpace(raw)
		g, err := s.Authenticate(r.Context(), raw)
		if err != nil {
			if !errors.Is(err, errInvalidToken) {
				s.cfg.Log.ErrorContext(r.Context(), "token check failed", "error", err)
				http.Error(w, "the token could not be checked", http.StatusInternalServerError)
				return
			}
			// The reason, never the token or the path, which may identify a patient.
			s.cfg.Log.InfoContext(r.Context(), "request refused", "method", r.Method, "status", http.StatusUnauthorized, "reason", err.Error())
			unauthorized(w, "invalid_token", err.Error())
			return
		}
		ctx := WithGrant(r.Context(), g)
		ctx = ehr.WithPrincipal(ctx, principalOf(g))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// principalOf names the actor of a grant. A user writes for the first source of
// the user's organization; a backend client for its only source, if it has one.
func principalOf(g Grant) ehr.Principal {
	p := ehr.Principal{Subject: "client/" + g.ClientID, Client: g.ClientID, Organization: g.Org,
		Scopes: strings.Fields(g.Scopes.String())}
	switch {
	case g.Username != "":
		p.Subject = "user/" + g.Username
		if len(g.UserSources) > 0 {
			p.Source = g.UserSources[0]
		}
	case len(g.ClientSources) == 1:
		p.Source = g.ClientSources[0]
	}
	return p
}

func unauthorized(w http.ResponseWriter, code, desc string) {
	challenge := `Bearer realm="omnichart"`
	if code != "" {
		challenge += `, error="` + code + `", error_description="` + strings.ReplaceAll(desc, `"`, "'") + `"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	json.NewEncoder(w).Encode(map[string]any{
		"resourceType": "OperationOutcome",
		"issue": []any{map[string]any{"severity": "error", "code": "login", "diagnostics": desc,
			"expression": []any{"Authorization"}}},
	})
}
