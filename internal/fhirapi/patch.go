package fhirapi

import (
	"net/http"

	"omnichart/internal/ehr"
)

const jsonPatch = "application/json-patch+json"

// patch serves PATCH [type]/[id] with a JSON Patch body.
// See https://hl7.org/fhir/R4/http.html#patch.
func (a *API) patch(w http.ResponseWriter, r *http.Request) {
	if !a.checkAccept(w, r) {
		return
	}
	typ, id := r.PathValue("type"), r.PathValue("id")
	if err := ehr.CheckType(typ); err != nil {
		a.writeError(w, r, err)
		return
	}
	body, err := a.readRaw(r, jsonPatch)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	version, err := ifMatch(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	rec, err := a.svc.Patch(r.Context(), typ, id, body, version)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Location", a.location(r, rec))
	a.writeRecord(w, r, http.StatusOK, rec)
}

// conditionalPatch serves PATCH [type]?[criteria].
func (a *API) conditionalPatch(w http.ResponseWriter, r *http.Request) {
	if !a.checkAccept(w, r) {
		return
	}
	typ := r.PathValue("type")
	if err := ehr.CheckType(typ); err != nil {
		a.writeError(w, r, err)
		return
	}
	body, err := a.readRaw(r, jsonPatch)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	version, err := ifMatch(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	rec, err := a.svc.ConditionalPatch(r.Context(), typ, criteria(r), body, version)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Location", a.location(r, rec))
	a.writeRecord(w, r, http.StatusOK, rec)
}
