package smart

import (
	"context"
	"errors"
	"net"
	"net/http"

	"omnichart/internal/ehr"
)

// errNotAudited fails a sign-in or a token request whose audit record could not
// be written: nothing is granted without its record.
var errNotAudited = errors.New("the audit record could not be written")

// withOrigin puts the network address of each request on its context, for the
// audit records of sign-ins and tokens.
func withOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		next.ServeHTTP(w, r.WithContext(ehr.WithOrigin(r.Context(), host)))
	})
}

// audit appends ev, filled with the request's origin and time, to the audit log
// when the server has one.
func (s *Server) audit(ctx context.Context, ev ehr.AccessEvent) error {
	if s.cfg.Auditor == nil {
		return nil
	}
	ev.Time = s.cfg.Now().UTC()
	if ev.Address == "" {
		ev.Address = ehr.Origin(ctx)
	}
	if ev.Outcome == "" {
		ev.Outcome = "ok"
	}
	if err := s.cfg.Auditor.Record(ctx, ev); err != nil {
		s.cfg.Log.ErrorContext(ctx, "audit record not written", "interaction", ev.Interaction, "error", err)
		return errNotAudited
	}
	return nil
}

// tokenEvent is the audit event of an access token issued with f.
func tokenEvent(f tokenFacts) ehr.AccessEvent {
	ev := ehr.AccessEvent{Interaction: "token", Subject: "client/" + f.clientID, Client: f.clientID, Detail: "scope " + f.scope}
	if f.username != "" {
		ev.Subject = "user/" + f.username
	}
	if f.patient != "" {
		ev.Patients = []string{"Patient/" + f.patient}
	}
	return ev
}
