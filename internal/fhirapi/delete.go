package fhirapi

import (
	"fmt"
	"net/http"

	"omnichart/internal/ehr"
)

// delete serves DELETE [type]/[id]. Deleting what is absent or already deleted is
// 204 too, as the spec allows.
// See https://hl7.org/fhir/R4/http.html#delete.
func (a *API) delete(w http.ResponseWriter, r *http.Request) {
	typ, id := r.PathValue("type"), r.PathValue("id")
	version, err := ifMatch(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	rec, err := a.svc.Delete(r.Context(), typ, id, version)
	a.answerDelete(w, r, rec, err)
}

// conditionalDelete serves DELETE [type]?[criteria] in single mode: several matches
// are 412.
func (a *API) conditionalDelete(w http.ResponseWriter, r *http.Request) {
	rec, err := a.svc.ConditionalDelete(r.Context(), r.PathValue("type"), criteria(r))
	a.answerDelete(w, r, rec, err)
}

func (a *API) answerDelete(w http.ResponseWriter, r *http.Request, rec *ehr.Record, err error) {
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if rec != nil {
		w.Header().Set("ETag", fmt.Sprintf(`W/"%d"`, rec.Version))
	}
	w.WriteHeader(http.StatusNoContent)
}
