package fhirapi

import (
	"net/http"

	"omnichart/internal/ehr"
)

// bundle serves POST [base] with a transaction or batch Bundle.
// See https://hl7.org/fhir/R4/http.html#transaction.
func (a *API) bundle(w http.ResponseWriter, r *http.Request) {
	if !a.checkAccept(w, r) {
		return
	}
	b, err := a.readBody(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	resp, err := a.svc.Bundle(r.Context(), b, ehr.BundleOptions{Base: a.base(r), ReturnMinimal: preferReturn(r) == "minimal"})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeResource(w, r, http.StatusOK, resp)
}
