package web

import (
	"net/http"
	"net/url"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// maxResults bounds the patients one search shows.
const maxResults = 50

type searchData struct {
	Name, BirthDate, Identifier string
	Searched                    bool
	Results                     []resultView
	More                        bool
}

type resultView struct {
	ID, Name, BirthDate, Sex string
	Identifiers              []identifierView
	Source                   sourceView
	// Linked are the sources of the other records of the same person the
	// caller may see; Linked true when there are any.
	LinkedSources []sourceView
	Linked        bool
}

func (h *Handler) searchPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	d := searchData{Name: strings.TrimSpace(q.Get("name")), BirthDate: strings.TrimSpace(q.Get("birthdate")), Identifier: strings.TrimSpace(q.Get("identifier"))}
	values := url.Values{}
	if d.Name != "" {
		values.Set("name", d.Name)
	}
	if d.BirthDate != "" {
		values.Set("birthdate", d.BirthDate)
	}
	if d.Identifier != "" {
		values.Set("identifier", fhir.EscapeSearchValue(d.Identifier))
	}
	if len(values) > 0 {
		d.Searched = true
		values.Set("_count", "51")
		values.Set("_sort", "family,given")
		sq, err := search.Parse("Patient", values)
		if err != nil {
			h.fail(w, r, ehr.Errorf(ehr.Invalid, "%v", err))
			return
		}
		page, err := h.cfg.Service.Search(ctx, sq)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		names, err := h.sourceNames(ctx)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		recs := page.Records
		if len(recs) > maxResults {
			recs, d.More = recs[:maxResults], true
		}
		for _, rec := range recs {
			res, err := fhir.Decode(rec.Resource)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			v := resultView{ID: rec.ID, Name: humanName(res), BirthDate: parseDate(fhir.String(res, "birthDate")).Text,
				Sex: fhir.String(res, "gender"), Identifiers: identifiers(res), Source: sourceOf(names, rec.Source)}
			linked, err := h.linkedRecords(r, rec.ID)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			for _, l := range linked[1:] {
				v.LinkedSources = append(v.LinkedSources, sourceOf(names, l.Source))
			}
			v.Linked = len(v.LinkedSources) > 0
			d.Results = append(d.Results, v)
		}
	}
	h.render(w, r, http.StatusOK, "search", "Find a patient", viewerFrom(ctx), d)
}

// linkedRecords returns Patient/id and the other Patients of the same person
// that the caller may see, id first.
func (h *Handler) linkedRecords(r *http.Request, id string) ([]*ehr.Record, error) {
	ctx := r.Context()
	ids, err := h.cfg.Service.LinkedPatients(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]*ehr.Record, 0, len(ids))
	for _, pid := range ids {
		rec, err := h.cfg.Service.Read(ctx, "Patient", pid)
		if code := ehr.ErrorCode(err); code == ehr.NotFound || code == ehr.Gone {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}
