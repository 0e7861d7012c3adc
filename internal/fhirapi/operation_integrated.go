package fhirapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir/search"
	"omnichart/internal/integrate"
	"omnichart/internal/service"
)

// integratedEverything answers $everything for a human (Person/[id]/$everything,
// Patient/[id]/$everything?_mdm=true) with the integrated record: each fact once,
// its other records named in an also-recorded-as extension, a DetectedIssue right
// after the second record of each disagreement, then the shared resources referred
// to (mode include). The record is built whole for each page; _page is the offset
// of the page in it. See docs/integrated-record.md.
func (a *API) integratedEverything(w http.ResponseWriter, r *http.Request, path string, q service.EverythingQuery, in url.Values) {
	offset := 0
	if q.Cursor != "" {
		n, err := strconv.Atoi(q.Cursor)
		if err != nil || n < 0 {
			a.errorf(w, r, ehr.Invalid, "the _page cursor is not one this operation made; start again from the first page")
			return
		}
		offset = n
	}
	rec, err := a.svc.Integrated(r.Context(), q)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	base := a.base(r)
	entries := integratedEntries(base, rec)
	count := q.Count
	if count <= 0 {
		count = search.DefaultCount
	}
	count = min(count, search.MaxCount)
	if offset > len(entries) {
		a.errorf(w, r, ehr.Invalid, "the _page cursor is past the end of the record; start again from the first page")
		return
	}
	end := min(offset+count, len(entries))
	link := func(rel string, at int) map[string]any {
		v := url.Values{}
		for k, vs := range in {
			if k != "_page" {
				v[k] = vs
			}
		}
		if at > 0 {
			v.Set("_page", strconv.Itoa(at))
		}
		u := base + "/" + path + "/$everything"
		if enc := v.Encode(); enc != "" {
			u += "?" + enc
		}
		return map[string]any{"relation": rel, "url": u}
	}
	links := []any{link("self", offset)}
	if end < len(entries) {
		links = append(links, link("next", end))
	}
	if offset > 0 {
		links = append(links, link("previous", max(offset-count, 0)))
	}
	bundle := map[string]any{"resourceType": "Bundle", "type": "searchset", "total": len(rec.Facts), "link": links}
	if end > offset {
		bundle["entry"] = entries[offset:end]
	}
	a.writeResource(w, r, http.StatusOK, bundle)
}

// integratedEntries lays out the integrated record as Bundle entries.
func integratedEntries(base string, rec *service.Integrated) []any {
	// Each DetectedIssue follows the later of the two facts it implicates.
	position := integrate.Result{Facts: rec.Facts}.FactIndex()
	after := map[int][]int{}
	for k, c := range rec.Conflicts {
		at := max(position[c.Records[0].Ref], position[c.Records[1].Ref])
		after[at] = append(after[at], k)
	}
	var entries []any
	for i, f := range rec.Facts {
		var res any = json.RawMessage(rec.Records[f.Record.Ref].Resource)
		if len(f.Also) > 0 {
			res = f.Annotated()
		}
		entries = append(entries, map[string]any{"fullUrl": base + "/" + f.Record.Ref, "resource": res, "search": map[string]any{"mode": "match"}})
		for _, k := range after[i] {
			c := rec.Conflicts[k]
			patient := ""
			if stored := rec.Records[c.Records[0].Ref]; stored != nil && strings.HasPrefix(stored.Compartment, "Patient/") {
				patient = stored.Compartment
			}
			entries = append(entries, map[string]any{"fullUrl": "urn:uuid:" + c.ID(), "resource": c.DetectedIssue(patient), "search": map[string]any{"mode": "include"}})
		}
	}
	for _, r := range rec.Included {
		entries = append(entries, map[string]any{"fullUrl": base + "/" + r.Reference(), "resource": json.RawMessage(r.Resource), "search": map[string]any{"mode": "include"}})
	}
	return entries
}
