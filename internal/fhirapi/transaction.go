package fhirapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
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
	base := a.base(r)
	kind, changes, err := ehr.ParseBundle(b, base)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	outs, err := a.svc.Apply(r.Context(), kind, changes, ehr.ApplyOptions{Base: base})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeResource(w, r, http.StatusOK, responseBundle(kind+"-response", base, changes, outs, preferReturn(r) == "minimal"))
}

// responseBundle renders the outcomes of a transaction or batch.
func responseBundle(kind, base string, changes []ehr.Change, outs []ehr.Outcome, minimal bool) map[string]any {
	entries := make([]any, len(outs))
	for i, o := range outs {
		c := changes[i]
		entry := map[string]any{}
		if c.FullURL != "" {
			entry["fullUrl"] = c.FullURL
		}
		switch {
		case o.Err != nil:
			code := ehr.ErrorCode(o.Err)
			issues := ehr.ErrorIssues(o.Err)
			msg := ehr.ErrorMessage(o.Err)
			if code == ehr.Internal {
				issues = nil
			}
			if len(issues) == 0 {
				issues = []fhir.Issue{fhir.ErrorIssue(ehr.IssueType(code), "", msg)}
			}
			entry["response"] = map[string]any{"status": statusLine(httpStatus(code)), "outcome": fhir.OperationOutcome(issues)}
		case c.Method == "DELETE":
			entry["response"] = map[string]any{"status": statusLine(http.StatusNoContent)}
		case o.Page != nil:
			q, _ := o.Query.(*search.Query)
			entry["response"] = map[string]any{"status": statusLine(http.StatusOK)}
			set := searchSet(base, q, o.Page)
			addIgnoredOutcome(set, q)
			entry["resource"] = set
		case o.Record != nil:
			status := http.StatusOK
			if o.Created {
				status = http.StatusCreated
			}
			resp := recordResponse(o.Record, status)
			if len(o.Conflicts) > 0 {
				var issues []fhir.Issue
				for _, t := range o.Conflicts {
					issues = append(issues, fhir.Issue{Severity: "warning", Code: "conflict",
						Diagnostics: fmt.Sprintf("identity conflict: recorded apart from a record with the same identifier; review %s", t)})
				}
				resp["outcome"] = fhir.OperationOutcome(issues)
			}
			entry["response"] = resp
			if (!minimal && c.Method != "HEAD") || c.Method == "GET" {
				entry["resource"] = json.RawMessage(o.Record.Resource)
			}
		default:
			entry["response"] = map[string]any{"status": statusLine(http.StatusOK)}
		}
		entries[i] = entry
	}
	return map[string]any{"resourceType": "Bundle", "type": kind, "entry": entries}
}

func recordResponse(rec *ehr.Record, status int) map[string]any {
	return map[string]any{
		"status":       statusLine(status),
		"location":     fmt.Sprintf("%s/%s/_history/%d", rec.Type, rec.ID, rec.Version),
		"etag":         fmt.Sprintf(`W/"%d"`, rec.Version),
		"lastModified": rec.LastUpdated.UTC().Format("2006-01-02T15:04:05.000000Z"),
	}
}

// statusLine is an HTTP status as Bundle responses carry it: "201 Created".
func statusLine(status int) string {
	return strconv.Itoa(status) + " " + http.StatusText(status)
}
