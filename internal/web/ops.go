package web

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"omnichart/internal/connected"
	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/ingest"
	"omnichart/internal/mpi"
)

func decodeBase64(s string) string {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return ""
	}
	return string(b)
}

// sourcesData is the sources page: the connected sources and the form that
// registers another.
type sourcesData struct {
	CSRF    string
	Sources []connected.Health
	// Form holds what was entered when registering failed, with Error saying why;
	// Added names the source just registered.
	Form         ingest.Source
	Error, Added string
}

func (h *Handler) sourcesPage(w http.ResponseWriter, r *http.Request) {
	h.renderSources(w, r, http.StatusOK, sourcesData{Added: r.URL.Query().Get("added")})
}

func (h *Handler) renderSources(w http.ResponseWriter, r *http.Request, status int, d sourcesData) {
	list, err := connected.List(opsContext(r.Context()), h.cfg.Service)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d.CSRF, d.Sources = viewerFrom(r.Context()).CSRF, list
	h.render(w, r, status, "sources", "Connected sources", viewerFrom(r.Context()), d)
}

// sourceAdd registers a source from the form of the sources page, as
// "omnichart admin source add" does: the product and endpoint it names must be
// in the EMR directory, and a source whose product is not there is registered
// without them.
func (h *Handler) sourceAdd(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	src := ingest.Source{Slug: strings.TrimSpace(f.Get("slug")), Name: strings.TrimSpace(f.Get("name")),
		Vendor: strings.TrimSpace(f.Get("vendor")), Product: strings.TrimSpace(f.Get("product")),
		DirectoryProduct: strings.TrimSpace(f.Get("directory_product")), DirectoryEndpoint: strings.TrimSpace(f.Get("directory_endpoint")),
		Active: true}
	ctx := opsContext(r.Context())
	target := ingest.ServiceTarget{Service: h.cfg.Service}
	form := src
	err := connected.ResolveDirectoryLinks(ctx, target, &src)
	if err == nil {
		src, err = ingest.NewDirectory(target).Add(ctx, src)
	}
	if err != nil {
		if code := ehr.ErrorCode(err); code == ehr.Internal || code == ehr.Unavailable {
			h.fail(w, r, err)
			return
		}
		h.renderSources(w, r, http.StatusUnprocessableEntity, sourcesData{Form: form, Error: err.Error()})
		return
	}
	http.Redirect(w, r, "/ops/sources?added="+url.QueryEscape(src.Slug), http.StatusSeeOther)
}

type reviewData struct {
	CSRF      string
	Available bool
	All       bool
	Items     []reviewView
}

type reviewView struct {
	mpi.ReviewItem
	Records [2]*reviewRecord
	Fields  []fieldWeight
	Summary string
}

type reviewRecord struct {
	ID, Name, BirthDate, Sex, Address, Phone string
	Identifiers                              []identifierView
	Source                                   sourceView
}

// fieldWeight is one line of the matcher's explanation: a field and its weight.
type fieldWeight struct {
	Field, Level, Weight, Detail string
}

func (h *Handler) reviewPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d := reviewData{CSRF: viewerFrom(ctx).CSRF, Available: h.cfg.Reviews != nil, All: r.URL.Query().Get("all") == "1"}
	if d.Available {
		items, err := h.cfg.Reviews.Queue(ctx, d.All)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		names, err := h.sourceNames(ctx)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, it := range items {
			v := reviewView{ReviewItem: it, Fields: explanation(it.Explanation), Summary: strings.SplitN(it.Explanation, "\n", 2)[0]}
			for i := 0; i < 2 && i < len(it.Patients); i++ {
				rec, err := h.cfg.Service.Read(ctx, "Patient", it.Patients[i])
				if err != nil {
					h.fail(w, r, err)
					return
				}
				res, err := fhir.Decode(rec.Resource)
				if err != nil {
					h.fail(w, r, err)
					return
				}
				rr := &reviewRecord{ID: rec.ID, Name: humanName(res), BirthDate: parseDate(fhir.String(res, "birthDate")).Text,
					Sex: fhir.String(res, "gender"), Identifiers: identifiers(res), Source: sourceOf(names, rec.Source)}
				if a := firstObject(res, "address"); a != nil {
					var lines []string
					for _, l := range fhir.Array(a, "line") {
						s, _ := l.(string)
						lines = append(lines, s)
					}
					rr.Address = strings.Join(append(lines, fhir.String(a, "city"), fhir.String(a, "state"), fhir.String(a, "postalCode")), ", ")
				}
				if t := firstObject(res, "telecom"); t != nil {
					rr.Phone = fhir.String(t, "value")
				}
				v.Records[i] = rr
			}
			d.Items = append(d.Items, v)
		}
	}
	h.render(w, r, http.StatusOK, "review", "Patient-matching review", viewerFrom(ctx), d)
}

// explanation reads the matcher's explanation (match.Explanation.String): a
// summary line, then one line per field with its agreement level and weight.
func explanation(s string) []fieldWeight {
	var out []fieldWeight
	for _, line := range strings.Split(s, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		fw := fieldWeight{Field: f[0], Level: f[1], Weight: f[2]}
		if len(f) > 3 {
			fw.Detail = strings.Trim(strings.Join(f[3:], " "), "()")
		}
		out = append(out, fw)
	}
	return out
}

func (h *Handler) reviewDecide(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Reviews == nil {
		h.fail(w, r, ehr.Errorf(ehr.NotFound, "there is no review queue on this server"))
		return
	}
	v, err := mpi.ParseVerdict(r.PostForm.Get("decision"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if _, err := h.cfg.Reviews.Decide(r.Context(), r.PathValue("task"), v, r.PostForm.Get("reason")); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/ops/review?all=1#task-"+r.PathValue("task"), http.StatusSeeOther)
}

type quarantineData struct {
	CSRF      string
	Available bool
	All       bool
	Entries   []ingest.QuarantineEntry
	Replayed  string
	Result    string
}

func (h *Handler) quarantinePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := quarantineData{CSRF: viewerFrom(r.Context()).CSRF, Available: h.cfg.Quarantine != nil, All: q.Get("all") == "1", Replayed: q.Get("replayed"), Result: q.Get("result")}
	if d.Available {
		list, err := h.cfg.Quarantine.Quarantined(opsContext(r.Context()), d.All)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		d.Entries = list
	}
	h.render(w, r, http.StatusOK, "quarantine", "Import quarantine", viewerFrom(r.Context()), d)
}

func (h *Handler) quarantineReplay(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Quarantine == nil {
		h.fail(w, r, ehr.Errorf(ehr.NotFound, "there is no import quarantine on this server"))
		return
	}
	id := r.PathValue("task")
	rep, err := h.cfg.Quarantine.Replay(opsContext(r.Context()), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	result := "imported"
	for _, u := range rep.Units {
		if u.Err != nil {
			result = "failed again: " + u.Err.Error()
		}
	}
	h.cfg.Log.InfoContext(r.Context(), "quarantine replay", "task", id, "user", viewerFrom(r.Context()).User, "result", strings.SplitN(result, ":", 2)[0])
	http.Redirect(w, r, "/ops/quarantine?all=1&replayed="+id+"&result="+urlQuery(result), http.StatusSeeOther)
}

func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request) {
	switch {
	case h.cfg.AuditLog != nil:
		h.cfg.AuditLog.ServeHTTP(w, r)
	case h.cfg.Audit != nil:
		h.auditLogPage(w, r)
	default:
		h.render(w, r, http.StatusOK, "audit", "Audit log", viewerFrom(r.Context()), (*auditData)(nil))
	}
}

func urlQuery(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
