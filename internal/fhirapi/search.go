package fhirapi

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
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
	if typ == "AuditEvent" {
		a.auditSearch(w, r)
		return
	}
	a.search(w, r, typ, "")
}

// searchSystem serves GET [base]?... across all types.
func (a *API) searchSystem(w http.ResponseWriter, r *http.Request) {
	a.search(w, r, "", "")
}

func (a *API) search(w http.ResponseWriter, r *http.Request, typ, compartment string) {
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
			a.writeError(w, r, formError(err))
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
	q.Strict = preferHandling(r) == "strict"
	q.Compartment = compartment
	page, err := a.svc.Search(r.Context(), q)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	bundle := searchSet(a.base(r), q, page)
	if compartment != "" {
		rewriteSelfPath(bundle, a.base(r)+"/"+typ, a.base(r)+"/"+compartment+"/"+typ)
	}
	if err := shapeEntries(bundle, q); err != nil {
		a.writeError(w, r, err)
		return
	}
	addIgnoredOutcome(bundle, q)
	a.writeResource(w, r, http.StatusOK, bundle)
}

// addIgnoredOutcome adds to a searchset an OperationOutcome entry (search mode
// outcome) with one warning per parameter that lenient handling ignored, so that a
// result that is not filtered by a parameter is not taken for one that is. A search
// that ignored nothing gets no such entry.
// See https://hl7.org/fhir/R4/search.html#errors.
func addIgnoredOutcome(bundle map[string]any, q *search.Query) {
	issues := ignoredIssues(q)
	if len(issues) == 0 {
		return
	}
	entries, _ := bundle["entry"].([]any)
	bundle["entry"] = append(entries, map[string]any{
		"resource": fhir.OperationOutcome(issues),
		"search":   map[string]any{"mode": "outcome"},
	})
}

// ignoredIssues describes each parameter in q.Ignored once, in order.
func ignoredIssues(q *search.Query) []fhir.Issue {
	var issues []fhir.Issue
	seen := map[string]bool{}
	for _, key := range q.Ignored {
		if seen[key] {
			continue
		}
		seen[key] = true
		name, _, _ := strings.Cut(key, ":")
		reason, ok := q.IgnoredReasons[key]
		switch {
		case q.Malformed[key] || !ok:
			if !ok {
				reason = "its value is malformed"
			}
			issues = append(issues, fhir.WarningIssue("invalid", name,
				fmt.Sprintf("search parameter %q was ignored because its value cannot be used (%s), so the results are not filtered by it", key, reason)))
		default:
			issues = append(issues, fhir.WarningIssue("not-supported", name,
				fmt.Sprintf("search parameter %q was ignored (%s), so the results are not filtered by it", key, reason)))
		}
	}
	return issues
}

// searchCompartment serves GET Patient/[id]/[type]?...: a search limited to one
// patient's compartment. See https://hl7.org/fhir/R4/compartmentdefinition.html.
func (a *API) searchCompartment(w http.ResponseWriter, r *http.Request) {
	ctype, id, typ := r.PathValue("type"), r.PathValue("id"), r.PathValue("comp")
	if strings.HasPrefix(typ, "$") {
		a.errorf(w, r, ehr.NotSupported, "operation %s is not supported on %s", typ, ctype)
		return
	}
	if ctype != "Patient" {
		a.errorf(w, r, ehr.NotSupported, "only the Patient compartment can be searched")
		return
	}
	if err := ehr.CheckType(typ); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.search(w, r, typ, "Patient/"+id)
}

// preferHandling reads the handling preference of the Prefer header.
func preferHandling(r *http.Request) string { return prefer(r, "handling", "lenient") }

func rewriteSelfPath(bundle map[string]any, from, to string) {
	links, _ := bundle["link"].([]any)
	for _, l := range links {
		m := l.(map[string]any)
		if u, ok := m["url"].(string); ok && strings.HasPrefix(u, from) {
			m["url"] = to + strings.TrimPrefix(u, from)
		}
	}
}
