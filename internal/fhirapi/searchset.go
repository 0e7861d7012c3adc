package fhirapi

import (
	"encoding/json"
	"net/url"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir/search"
)

// searchSet builds a searchset Bundle for a page of search results, with self,
// next and previous links under base.
func searchSet(base string, q *search.Query, page *ehr.Page) map[string]any {
	base = strings.TrimSuffix(base, "/")
	entries := make([]any, 0, len(page.Records)+len(page.Included))
	add := func(recs []*ehr.Record, mode string) {
		for _, r := range recs {
			entries = append(entries, map[string]any{
				"fullUrl":  base + "/" + r.Type + "/" + r.ID,
				"resource": json.RawMessage(r.Resource),
				"search":   map[string]any{"mode": mode},
			})
		}
	}
	add(page.Records, "match")
	add(page.Included, "include")
	link := func(rel string, values url.Values) map[string]any {
		u := base
		if q.Type != "" {
			u += "/" + q.Type
		}
		if enc := values.Encode(); enc != "" {
			u += "?" + enc
		}
		return map[string]any{"relation": rel, "url": u}
	}
	self := q.Encode()
	if q.Cursor != "" {
		self.Set("_page", q.Cursor)
	}
	links := []any{link("self", self)}
	if page.Next != "" {
		next := q.Encode()
		next.Set("_page", page.Next)
		links = append(links, link("next", next))
	}
	if page.Prev != "" {
		prev := q.Encode()
		prev.Set("_page", page.Prev)
		links = append(links, link("previous", prev))
	}
	b := map[string]any{"resourceType": "Bundle", "type": "searchset", "link": links}
	if page.Total >= 0 {
		b["total"] = page.Total
	}
	if len(entries) > 0 {
		b["entry"] = entries
	}
	return b
}
