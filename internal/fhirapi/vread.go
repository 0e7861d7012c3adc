package fhirapi

import (
	"net/http"
	"strconv"

	"omnichart/internal/ehr"
)

// vread serves GET [type]/[id]/_history/[vid]. A version that is a deletion is 410.
// See https://hl7.org/fhir/R4/http.html#vread.
func (a *API) vread(w http.ResponseWriter, r *http.Request) {
	if !a.checkAccept(w, r) {
		return
	}
	typ, id := r.PathValue("type"), r.PathValue("id")
	vid, err := strconv.ParseInt(r.PathValue("vid"), 10, 64)
	if err != nil || vid < 1 {
		a.errorf(w, r, ehr.NotFound, "%q is not a version of %s/%s", r.PathValue("vid"), typ, id)
		return
	}
	rec, err := a.svc.VRead(r.Context(), typ, id, vid)
	if err != nil {
		if rec != nil {
			setVersionHeaders(w, rec)
		}
		a.writeError(w, r, err)
		return
	}
	setVersionHeaders(w, rec)
	a.writeResource(w, r, http.StatusOK, rec.Resource)
}
