package fhirapi

import (
	"net/http"

	"omnichart/internal/ehr"
)

// read serves GET [type]/[id], with If-None-Match and If-Modified-Since answered 304.
// See https://hl7.org/fhir/R4/http.html#read.
func (a *API) read(w http.ResponseWriter, r *http.Request) {
	if !a.checkAccept(w, r) {
		return
	}
	typ, id := r.PathValue("type"), r.PathValue("id")
	if typ == "AuditEvent" {
		// The audit log is served from its own table, read-only; writes of
		// AuditEvents reach the engine, which refuses them.
		a.auditRead(w, r)
		return
	}
	if a.builtinDefinition(w, r, typ, id) {
		return
	}
	rec, err := a.svc.Read(r.Context(), typ, id)
	if err != nil {
		if rec != nil && ehr.ErrorCode(err) == ehr.Gone {
			setVersionHeaders(w, rec)
		}
		a.writeError(w, r, err)
		return
	}
	setVersionHeaders(w, rec)
	if notModified(r, rec) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	a.writeResource(w, r, http.StatusOK, rec.Resource)
}

// notModified reports whether the conditional read headers say the client's copy is
// current.
func notModified(r *http.Request, rec *ehr.Record) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		v, err := ehr.ParseETag(inm)
		return err == nil && v == rec.Version
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		if t, ok := httpTime(ims); ok {
			return !rec.LastUpdated.Truncate(1e9).After(t)
		}
	}
	return false
}
