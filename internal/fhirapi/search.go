package fhirapi

import (
	"mime"
	"net/http"
	"net/url"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir/search"
)

// searchType serves GET [type]?... and POST [type]/_search (form parameters and URL
// parameters combined). See https://hl7.org/fhir/R4/search.html.
func (a *API) searchType(w http.ResponseWriter, r *http.Request) {
	typ := r.PathValue("type")
	if err := ehr.CheckType(typ); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.search(w, r, typ)
}

// searchSystem serves GET [base]?... across all types.
func (a *API) searchSystem(w http.ResponseWriter, r *http.Request) {
	a.search(w, r, "")
}

func (a *API) search(w http.ResponseWriter, r *http.Request, typ string) {
	if !a.checkAccept(w, r) {
		return
	}
	values := r.URL.Query()
	if r.Method == http.MethodPost {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "application/x-www-form-urlencoded" {
			a.errorf(w, r, ehr.Invalid, "POST _search needs Content-Type application/x-www-form-urlencoded")
			return
		}
		if err := r.ParseForm(); err != nil {
			a.writeError(w, r, ehr.Errorf(ehr.Invalid, "malformed form body: %v", err))
			return
		}
		values = url.Values{}
		for k, v := range r.Form {
			values[k] = v
		}
	}
	q, err := search.Parse(typ, values)
	if err != nil {
		a.writeError(w, r, ehr.Errorf(ehr.Invalid, "%v", err))
		return
	}
	page, err := a.svc.Search(r.Context(), q)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeResource(w, r, http.StatusOK, ehr.SearchSet(a.base(r), q, page))
}
