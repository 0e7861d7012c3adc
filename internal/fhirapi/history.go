package fhirapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir/search"
)

// historyInstance serves GET [type]/[id]/_history.
// See https://hl7.org/fhir/R4/http.html#history.
func (a *API) historyInstance(w http.ResponseWriter, r *http.Request) {
	a.history(w, r, r.PathValue("type"), r.PathValue("id"))
}

// historyType serves GET [type]/_history.
func (a *API) historyType(w http.ResponseWriter, r *http.Request) {
	a.history(w, r, r.PathValue("type"), "")
}

// historySystem serves GET /_history.
func (a *API) historySystem(w http.ResponseWriter, r *http.Request) {
	a.history(w, r, "", "")
}

func (a *API) history(w http.ResponseWriter, r *http.Request, typ, id string) {
	if !a.checkAccept(w, r) {
		return
	}
	q, err := historyQuery(typ, id, r.URL.Query())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	page, err := a.svc.History(r.Context(), q)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeResource(w, r, http.StatusOK, a.historyBundle(r, q, page))
}

func historyQuery(typ, id string, v url.Values) (ehr.HistoryQuery, error) {
	q := ehr.HistoryQuery{Type: typ, ID: id, Cursor: v.Get("_page")}
	for name, dst := range map[string]*time.Time{"_since": &q.Since, "_at": &q.At} {
		if s := v.Get(name); s != "" {
			t, err := parseInstantParam(s)
			if err != nil {
				return q, ehr.Errorf(ehr.Invalid, "%s must be a FHIR instant or dateTime, got %q", name, s)
			}
			*dst = t
		}
	}
	if s := v.Get("_count"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return q, ehr.Errorf(ehr.Invalid, "_count must be a positive integer, got %q", s)
		}
		q.Count = min(n, search.MaxCount)
	}
	return q, nil
}

// parseInstantParam reads _since/_at: an instant, or a dateTime of any precision
// taken at its start.
func parseInstantParam(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04Z07:00", "2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("malformed instant")
}

func (a *API) historyBundle(r *http.Request, q ehr.HistoryQuery, page *ehr.Page) map[string]any {
	base := a.base(r)
	entries := make([]any, 0, len(page.Records))
	for _, rec := range page.Records {
		e := map[string]any{
			"fullUrl": base + "/" + rec.Type + "/" + rec.ID,
			"request": map[string]any{"method": rec.Method, "url": requestURL(rec)},
			"response": map[string]any{
				"status":       historyStatus(rec),
				"etag":         fmt.Sprintf(`W/"%d"`, rec.Version),
				"lastModified": rec.LastUpdated.UTC().Format("2006-01-02T15:04:05.000000Z"),
			},
		}
		if !rec.Deleted {
			e["resource"] = json.RawMessage(rec.Resource)
		}
		entries = append(entries, e)
	}
	self := r.URL.Query()
	path := base
	if q.Type != "" {
		path += "/" + q.Type
	}
	if q.ID != "" {
		path += "/" + q.ID
	}
	path += "/_history"
	links := []any{map[string]any{"relation": "self", "url": withQuery(path, self)}}
	if page.Next != "" {
		next := r.URL.Query()
		next.Set("_page", page.Next)
		links = append(links, map[string]any{"relation": "next", "url": withQuery(path, next)})
	}
	b := map[string]any{"resourceType": "Bundle", "type": "history", "link": links}
	if page.Total >= 0 {
		b["total"] = page.Total
	}
	if len(entries) > 0 {
		b["entry"] = entries
	}
	return b
}

func requestURL(rec *ehr.Record) string {
	if rec.Method == "POST" {
		return rec.Type
	}
	return rec.Type + "/" + rec.ID
}

func historyStatus(rec *ehr.Record) string {
	switch {
	case rec.Deleted:
		return "204 No Content"
	case rec.Version == 1 && rec.Method != "PATCH":
		return "201 Created"
	}
	return "200 OK"
}

func withQuery(path string, v url.Values) string {
	if enc := v.Encode(); enc != "" {
		return path + "?" + enc
	}
	return path
}
