package fhirapi

import (
	"net/http"

	"omnichart/internal/ehr"
)

// create serves POST [type], and conditional create with If-None-Exist.
// See https://hl7.org/fhir/R4/http.html#create.
func (a *API) create(w http.ResponseWriter, r *http.Request) {
	typ := r.PathValue("type")
	if !a.accept(w, r, typ) {
		return
	}
	res, err := a.readBody(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if rt, _ := res["resourceType"].(string); rt != typ {
		a.errorf(w, r, ehr.Invalid, "the body is a %q, but the URL is for %s", rt, typ)
		return
	}
	rec, created, err := a.svc.Create(r.Context(), res, r.Header.Get("If-None-Exist"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", a.location(r, rec))
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	a.writeRecord(w, r, status, rec)
}
