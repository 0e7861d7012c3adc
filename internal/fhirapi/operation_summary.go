package fhirapi

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/integrate"
	"omnichart/internal/ips"
	"omnichart/internal/service"
)

var summaryOut = []opParam{{name: "return", use: "out", typ: "Bundle", min: 1, max: "1",
	doc: "An International Patient Summary document Bundle, the Composition first."}}

var patientSummary = &operation{
	id: "Patient-summary", name: "PatientSummary", code: "summary", resource: "Patient", instance: true,
	base: "http://hl7.org/fhir/uv/ips/OperationDefinition/summary",
	description: "An International Patient Summary written from the integrated record of the human this source Patient is linked to " +
		"(the Patient alone when it is linked to no other), under the caller's access scope. Every section is present; one with " +
		"nothing known says so with emptyReason.",
	params: summaryOut, unsupported: []string{"identifier", "profile"},
	serve: (*API).patientSummary,
}

var personSummary = &operation{
	id: "Person-summary", name: "PersonSummary", code: "summary", resource: "Person", instance: true,
	description: "An International Patient Summary written from the integrated record of the Person's human, under the caller's " +
		"access scope; its subject is the first of the Person's Patients the caller may see.",
	params: summaryOut, serve: (*API).personSummary,
}

func (a *API) patientSummary(w http.ResponseWriter, r *http.Request, id string, _ url.Values) {
	patients, err := a.svc.LinkedPatients(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.summary(w, r, patients)
}

func (a *API) personSummary(w http.ResponseWriter, r *http.Request, id string, _ url.Values) {
	_, patients, err := a.svc.PersonPatients(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.summary(w, r, patients)
}

// summary writes the summary of the integrated record of patients; its subject
// is the first of them the caller may see.
func (a *API) summary(w http.ResponseWriter, r *http.Request, patients []string) {
	rec, err := a.svc.Integrated(r.Context(), service.EverythingQuery{Patients: patients})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var subject *ehr.Record
	for _, p := range patients {
		if s := rec.Records["Patient/"+p]; s != nil {
			subject = s
			break
		}
	}
	if subject == nil {
		a.errorf(w, r, ehr.NotFound, "none of the Patients linked here can be seen, so there is no one to summarize")
		return
	}
	res, err := fhir.Decode(subject.Resource)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	base := a.base(r)
	doc := ips.Document(ips.Input{
		Patient: integrate.Record{Ref: subject.Reference(), Source: subject.Source, Resource: res},
		Result:  integrate.Result{Facts: rec.Facts, Conflicts: rec.Conflicts},
		FullURL: func(ref string) string { return base + "/" + ref },
		ID:      newUUID(),
		Now:     a.cfg.Now(),
	})
	a.writeResource(w, r, http.StatusOK, doc)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
