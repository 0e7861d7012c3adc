package web

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"strings"

	"omnichart/internal/ehr"
)

// pageNames are the pages, each templates/<name>.html rendered inside
// templates/layout.html.
var pageNames = []string{"signin", "search", "chart", "trend", "note", "sources", "review", "quarantine", "audit", "error",
	"directory", "product", "compare", "glossary"}

func parsePages() map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html"))
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html"))
	}
	return out
}

var funcs = template.FuncMap{
	"join":    strings.Join,
	"explain": explain,
}

// layoutData is what the layout reads; Data is the page's own.
type layoutData struct {
	Title    string
	CSS      string
	Viewer   viewer
	Insecure bool
	Data     any
}

// render writes page name with status. Templates are rendered into a buffer
// first so that a template error becomes an error page, not half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name, title string, v viewer, data any) {
	var buf bytes.Buffer
	err := h.pages[name].Execute(&buf, layoutData{Title: title, CSS: h.cssPath, Viewer: v, Insecure: h.cfg.InsecureNoAuth, Data: data})
	if err != nil {
		if name == "error" {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type errorData struct {
	Status  int
	Heading string
	Message string
	Request string
}

// fail is the one place an error becomes an error page: a coded error shows its
// message; any other is logged with the request id and shown generically.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := ehr.ErrorCode(err)
	d := errorData{Request: requestID(r.Context())}
	var e *ehr.Error
	if errors.As(err, &e) {
		d.Message = e.Message
	}
	switch code {
	case ehr.NotFound, ehr.Gone:
		d.Status, d.Heading = http.StatusNotFound, "Not found"
	case ehr.Forbidden:
		d.Status, d.Heading = http.StatusForbidden, "Not allowed"
	case ehr.Unauthorized:
		d.Status, d.Heading = http.StatusUnauthorized, "Please sign in"
	case ehr.Invalid, ehr.NotSupported:
		d.Status, d.Heading = http.StatusBadRequest, "That request cannot be done"
	case ehr.Conflict, ehr.PreconditionFailed:
		d.Status, d.Heading = http.StatusConflict, "That was changed or decided already"
	case ehr.TooLarge:
		d.Status, d.Heading = http.StatusRequestEntityTooLarge, "Too much to show"
	default:
		d.Status, d.Heading = http.StatusInternalServerError, "Something went wrong"
		d.Message = "The page could not be shown. The error was logged; quote request " + d.Request + " when you report it."
		h.cfg.Log.ErrorContext(r.Context(), "web page failed", "method", r.Method, "request", d.Request, "error", err)
	}
	if d.Message == "" {
		d.Message = d.Heading + "."
	}
	h.render(w, r, d.Status, "error", d.Heading, viewerFrom(r.Context()), d)
}
