package fhirapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
	"omnichart/internal/service"
)

// everythingParams are the parameters both $everything operations take.
var everythingParams = []opParam{
	{name: "_since", use: "in", typ: "instant", min: 0, max: "1", doc: "Only resources last updated at or after this instant."},
	{name: "_type", use: "in", typ: "code", min: 0, max: "*", doc: "Only resources of these types (comma-separated or repeated). Shared resources referred to are kept to these types too."},
	{name: "_count", use: "in", typ: "integer", min: 0, max: "1", doc: fmt.Sprintf("Page size (default %d, at most %d).", search.DefaultCount, search.MaxCount)},
	{name: "_page", use: "in", typ: "string", min: 0, max: "1", doc: "Continues a previous page; taken from a next link, never made by hand."},
}

var patientEverything = &operation{
	id: "Patient-everything", name: "PatientEverything", code: "everything", resource: "Patient", instance: true,
	base: "http://hl7.org/fhir/OperationDefinition/Patient-everything",
	description: "The source Patient, every resource in its Patient compartment, and the shared resources (practitioners, organizations, " +
		"medications, locations...) these refer to, under the caller's access scope, paged. With _mdm=true, the same for every source Patient " +
		"linked to it through the master patient index (Person.link with assurance level3 or level4).",
	params: append(append([]opParam{}, everythingParams...),
		opParam{name: "_mdm", use: "in", typ: "boolean", min: 0, max: "1", doc: "true: expand to every source Patient linked to this one through its Person."},
		opParam{name: "return", use: "out", typ: "Bundle", min: 1, max: "1", doc: "A searchset Bundle; entries of mode include are referred-to shared resources."}),
	unsupported: []string{"start", "end"},
	serve:       (*API).patientEverything,
}

var personEverything = &operation{
	id: "Person-everything", name: "PersonEverything", code: "everything", resource: "Person", instance: true,
	description: "The integrated record of one human: the Person, and $everything of every source Patient it links " +
		"(assurance level3 or level4), under the caller's access scope, paged.",
	params: append(append([]opParam{}, everythingParams...),
		opParam{name: "return", use: "out", typ: "Bundle", min: 1, max: "1", doc: "A searchset Bundle; the Person comes with the first Patient it links."}),
	serve: (*API).personEverything,
}

// patientEverything serves Patient/[id]/$everything.
func (a *API) patientEverything(w http.ResponseWriter, r *http.Request, id string, in url.Values) {
	q, err := everythingQuery(in)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	q.Patients = []string{id}
	switch in.Get("_mdm") {
	case "", "false":
		if _, err := a.svc.Read(r.Context(), "Patient", id); err != nil {
			a.writeError(w, r, err)
			return
		}
	case "true":
		if q.Patients, err = a.svc.LinkedPatients(r.Context(), id); err != nil {
			a.writeError(w, r, err)
			return
		}
		a.integratedEverything(w, r, "Patient/"+id, q, in)
		return
	default:
		a.errorf(w, r, ehr.Invalid, "_mdm must be true or false, got %q", in.Get("_mdm"))
		return
	}
	a.everything(w, r, "Patient/"+id, q, nil, in)
}

// personEverything serves Person/[id]/$everything.
func (a *API) personEverything(w http.ResponseWriter, r *http.Request, id string, in url.Values) {
	q, err := everythingQuery(in)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	person, patients, err := a.svc.PersonPatients(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	q.Patients = patients
	// The Person is in the compartment of each Patient it links, and so is
	// listed with the first; a Person that links none is listed alone.
	if len(patients) == 0 {
		var lead *ehr.Record
		if q.Cursor == "" && (q.Types == nil || slices.Contains(q.Types, "Person")) {
			lead = person
		}
		a.everything(w, r, "Person/"+id, q, lead, in)
		return
	}
	a.integratedEverything(w, r, "Person/"+id, q, in)
}

// everythingQuery reads the shared parameters of $everything.
func everythingQuery(in url.Values) (service.EverythingQuery, error) {
	var q service.EverythingQuery
	if v := in.Get("_since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return q, &ehr.Error{Code: ehr.Invalid, Message: fmt.Sprintf("_since must be an instant such as 2024-01-31T12:00:00Z, got %q", v),
				Issues: []fhir.Issue{fhir.ErrorIssue("invalid", "_since", "not an instant")}}
		}
		q.Since = t
	}
	for _, v := range in["_type"] {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				q.Types = append(q.Types, t)
			}
		}
	}
	if v := in.Get("_count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return q, &ehr.Error{Code: ehr.Invalid, Message: fmt.Sprintf("_count must be a positive integer, got %q", v),
				Issues: []fhir.Issue{fhir.ErrorIssue("invalid", "_count", "not a positive integer")}}
		}
		q.Count = n
	}
	q.Cursor = in.Get("_page")
	return q, nil
}

// everything answers one page of $everything at path ("Patient/1") as a searchset
// Bundle: lead (the Person) first when given, the page's records (mode match), then
// the shared resources they refer to (mode include), with self and next links that
// repeat the invocation's parameters.
func (a *API) everything(w http.ResponseWriter, r *http.Request, path string, q service.EverythingQuery, lead *ehr.Record, in url.Values) {
	page, err := a.svc.Everything(r.Context(), q)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	base := a.base(r)
	var entries []any
	add := func(rec *ehr.Record, mode string) {
		entries = append(entries, map[string]any{
			"fullUrl":  base + "/" + rec.Reference(),
			"resource": json.RawMessage(rec.Resource),
			"search":   map[string]any{"mode": mode},
		})
	}
	if lead != nil {
		add(lead, "match")
	}
	for _, rec := range page.Records {
		add(rec, "match")
	}
	for _, rec := range page.Included {
		add(rec, "include")
	}
	link := func(rel string, cursor string) map[string]any {
		v := url.Values{}
		for k, vs := range in {
			if k != "_page" {
				v[k] = vs
			}
		}
		if cursor != "" {
			v.Set("_page", cursor)
		}
		u := base + "/" + path + "/$everything"
		if enc := v.Encode(); enc != "" {
			u += "?" + enc
		}
		return map[string]any{"relation": rel, "url": u}
	}
	links := []any{link("self", q.Cursor)}
	if page.Next != "" {
		links = append(links, link("next", page.Next))
	}
	bundle := map[string]any{"resourceType": "Bundle", "type": "searchset", "link": links}
	if len(entries) > 0 {
		bundle["entry"] = entries
	}
	a.writeResource(w, r, http.StatusOK, bundle)
}
