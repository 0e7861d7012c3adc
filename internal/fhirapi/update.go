package fhirapi

import (
	"net/http"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
)

// update serves PUT [type]/[id], creating the resource when it does not exist.
// See https://hl7.org/fhir/R4/http.html#update.
func (a *API) update(w http.ResponseWriter, r *http.Request) {
	typ, id := r.PathValue("type"), r.PathValue("id")
	res, version, ok := a.readWrite(w, r, typ)
	if !ok {
		return
	}
	rec, created, err := a.svc.Update(r.Context(), typ, id, res, version)
	a.answerUpdate(w, r, rec, created, err)
}

// conditionalUpdate serves PUT [type]?[criteria].
// See https://hl7.org/fhir/R4/http.html#cond-update.
func (a *API) conditionalUpdate(w http.ResponseWriter, r *http.Request) {
	typ := r.PathValue("type")
	res, version, ok := a.readWrite(w, r, typ)
	if !ok {
		return
	}
	rec, created, err := a.svc.ConditionalUpdate(r.Context(), typ, criteria(r), res, version)
	a.answerUpdate(w, r, rec, created, err)
}

// accept runs the checks every interaction on typ starts with. It returns false when
// it has answered the request.
func (a *API) accept(w http.ResponseWriter, r *http.Request, typ string) bool {
	if !a.checkAccept(w, r) {
		return false
	}
	if err := ehr.CheckType(typ); err != nil {
		a.writeError(w, r, err)
		return false
	}
	return true
}

// readWrite reads what an update needs: the resource body and If-Match.
func (a *API) readWrite(w http.ResponseWriter, r *http.Request, typ string) (fhir.Resource, int64, bool) {
	if !a.accept(w, r, typ) {
		return nil, 0, false
	}
	res, err := a.readBody(r)
	if err != nil {
		a.writeError(w, r, err)
		return nil, 0, false
	}
	version, err := ifMatch(r)
	if err != nil {
		a.writeError(w, r, err)
		return nil, 0, false
	}
	return res, version, true
}

func (a *API) answerUpdate(w http.ResponseWriter, r *http.Request, rec *ehr.Record, created bool, err error) {
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", a.location(r, rec))
	} else {
		w.Header().Set("Content-Location", a.location(r, rec))
	}
	a.writeRecord(w, r, status, rec)
}

// criteria is the query string of a conditional interaction without the parameters
// that only shape the response.
func criteria(r *http.Request) string {
	q := r.URL.Query()
	q.Del("_format")
	q.Del("_pretty")
	return q.Encode()
}
