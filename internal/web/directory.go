package web

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"omnichart/internal/directory"
	"omnichart/internal/ehr"
)

// The EMR software directory's pages: search by criteria, developer and
// status; one product; two or three side by side; the glossary. They read the
// directory's resources through the interaction engine like every page (the
// directory is public reference data every user may read).

// keyCriteria are the criteria the search form offers as boxes to tick, those
// that decide how an EMR can be connected and what it can exchange.
var keyCriteria = []string{
	"170.315 (g)(10)", "170.315 (b)(1)", "170.315 (b)(2)", "170.315 (b)(6)", "170.315 (b)(10)", "170.315 (e)(1)",
	"170.315 (f)(1)", "170.315 (f)(2)", "170.315 (f)(3)", "170.315 (g)(9)", "170.315 (h)(1)", "170.315 (d)(10)",
}

type criterionBox struct {
	Number  string
	Words   template.HTML
	Checked bool
}

type directoryData struct {
	Criteria  []criterionBox
	Developer string
	Status    string
	ByName    bool
	Searched  bool
	Page      *directory.ProductPage
	Next      string
}

// explain writes text escaped, with every glossary abbreviation in it marked up
// as <abbr> with its expansion, so that it is explained where it appears.
func explain(text string) template.HTML {
	var b strings.Builder
	rest := text
	for _, a := range directory.Abbreviations(text) {
		t, _ := directory.Lookup(a)
		i := strings.Index(rest, a)
		if i < 0 {
			continue
		}
		b.WriteString(template.HTMLEscapeString(rest[:i]))
		b.WriteString(`<abbr title="` + template.HTMLEscapeString(t.Expansion) + `">` + template.HTMLEscapeString(a) + `</abbr>`)
		rest = rest[i+len(a):]
	}
	b.WriteString(template.HTMLEscapeString(rest))
	return template.HTML(b.String())
}

func (h *Handler) directoryPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := directoryData{Developer: strings.TrimSpace(q.Get("developer")), Status: q.Get("status"), ByName: q.Get("sort") == "name"}
	if d.Status != "" && d.Status != "Active" && d.Status != "any" {
		h.fail(w, r, ehr.Errorf(ehr.Invalid, "status is Active or any"))
		return
	}
	chosen := q["criterion"]
	for _, c := range keyCriteria {
		d.Criteria = append(d.Criteria, criterionBox{Number: c, Words: explain(directory.CriterionWords(c)), Checked: slices.Contains(chosen, c)})
	}
	if len(q) == 0 {
		h.render(w, r, http.StatusOK, "directory", "EMR software directory", viewerFrom(r.Context()), d)
		return
	}
	d.Searched = true
	pq := directory.ProductQuery{Criteria: chosen, Developer: d.Developer, ByName: d.ByName, Cursor: q.Get("page"), Count: 50}
	if d.Status == "Active" {
		pq.Status = "Active"
	}
	page, err := directory.FindProducts(r.Context(), h.cfg.Service, pq)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d.Page = page
	if page.Next != "" {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("page", page.Next)
		d.Next = "/directory?" + next.Encode()
	}
	h.render(w, r, http.StatusOK, "directory", "EMR software directory", viewerFrom(r.Context()), d)
}

type productData struct {
	Product   directory.ProductView
	Criteria  []criterionRow
	Endpoints *directory.EndpointPage
	Next      string
}

type criterionRow struct {
	Number, Title string
	Words         template.HTML
}

func (h *Handler) productPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := directory.FindProduct(ctx, h.cfg.Service, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := productData{Product: p}
	for _, c := range p.Criteria {
		d.Criteria = append(d.Criteria, criterionRow{Number: c.Number, Title: c.Title, Words: explain(c.Words)})
	}
	if d.Endpoints, err = directory.ProductEndpoints(ctx, h.cfg.Service, p.ID, 50, r.URL.Query().Get("page")); err != nil {
		h.fail(w, r, err)
		return
	}
	if d.Endpoints.Next != "" {
		d.Next = "/directory/products/" + url.PathEscape(p.ID) + "?page=" + url.QueryEscape(d.Endpoints.Next) + "#endpoints"
	}
	h.render(w, r, http.StatusOK, "product", p.Name+" "+p.Version, viewerFrom(ctx), d)
}

type compareData struct {
	Comparison *directory.Comparison
	Rows       []compareRow
}

type compareRow struct {
	Number string
	Words  template.HTML
	Meets  []bool
}

func (h *Handler) comparePage(w http.ResponseWriter, r *http.Request) {
	c, err := directory.Compare(r.Context(), h.cfg.Service, r.URL.Query()["id"])
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := compareData{Comparison: c}
	for _, row := range c.Rows {
		d.Rows = append(d.Rows, compareRow{Number: row.Criterion.Number, Words: explain(row.Criterion.Words), Meets: row.Meets})
	}
	h.render(w, r, http.StatusOK, "compare", "Compare products", viewerFrom(r.Context()), d)
}

func (h *Handler) glossaryPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "glossary", "Glossary", viewerFrom(r.Context()), directory.Glossary)
}
