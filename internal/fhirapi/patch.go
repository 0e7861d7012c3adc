package fhirapi

import (
	"net/http"

	"omnichart/internal/ehr"
)

const jsonPatch = "application/json-patch+json"

// patch serves PATCH [type]/[id] with a JSON Patch body.
// See https://hl7.org/fhir/R4/http.html#patch.
func (a *API) patch(w http.ResponseWriter, r *http.Request) {
	typ, id := r.PathValue("type"), r.PathValue("id")
	body, version, ok := a.readPatch(w, r, typ)
	if !ok {
		return
	}
	rec, err := a.svc.Patch(r.Context(), typ, id, body, version)
	a.answerPatch(w, r, rec, err)
}

// conditionalPatch serves PATCH [type]?[criteria].
func (a *API) conditionalPatch(w http.ResponseWriter, r *http.Request) {
	typ := r.PathValue("type")
	body, version, ok := a.readPatch(w, r, typ)
	if !ok {
		return
	}
	rec, err := a.svc.ConditionalPatch(r.Context(), typ, criteria(r), body, version)
	a.answerPatch(w, r, rec, err)
}

func (a *API) readPatch(w http.ResponseWriter, r *http.Request, typ string) ([]byte, int64, bool) {
	if !a.accept(w, r, typ) {
		return nil, 0, false
	}
	body, err := a.readRaw(r, jsonPatch)
	if err != nil {
		a.writeError(w, r, err)
		return nil, 0, false
	}
	version, err := ifMatch(r)
	if err != nil {
		a.writeError(w, r, err)
		return nil, 0, false
	}
	return body, version, true
}

func (a *API) answerPatch(w http.ResponseWriter, r *http.Request, rec *ehr.Record, err error) {
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Location", a.location(r, rec))
	a.writeRecord(w, r, http.StatusOK, rec)
}
