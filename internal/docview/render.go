package docview

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"sync"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed docview.css
var stylesheet []byte

// templates are parsed once, on first use; html/template escapes every string
// by context.
var templates = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("docview").Funcs(template.FuncMap{
		"heading": heading,
	}).ParseFS(templateFS, "templates/*.html"))
})

// heading writes <hN id="anchor">title</hN> for a level the package chose
// (3 to 6), escaping the title.
func heading(level int, anchor, title string) template.HTML {
	level = min(max(level, 2), 6)
	return template.HTML(fmt.Sprintf(`<h%d id="%s">%s</h%d>`, level, //nolint:gosec // both strings escaped
		template.HTMLEscapeString(anchor), template.HTMLEscapeString(title), level))
}

// CSS returns the stylesheet for the classes the fragments use ("dv-bold",
// "dv-caption", ...). The page serves it as a static file.
func CSS() []byte { return bytes.Clone(stylesheet) }

// RenderCCDA writes doc as an <article> fragment: a header with the document's
// type, date, patient, authors and custodian, then one <section> with a heading
// per CDA section, nested as in the document. Headings start at h2 for the
// title and h3 for top-level sections.
func RenderCCDA(w io.Writer, doc *Document) error {
	return templates().ExecuteTemplate(w, "ccda", doc)
}

// RenderHL7v2 writes msg as an <article> fragment: one <section> per segment
// with a table of its non-empty fields (position, name, value), repetitions as
// a list and components labelled by position.
func RenderHL7v2(w io.Writer, msg *Message) error {
	return templates().ExecuteTemplate(w, "hl7v2", msg)
}

// HTML renders the document as RenderCCDA does, for inclusion in a page template.
func (d *Document) HTML() (template.HTML, error) {
	var b bytes.Buffer
	if err := RenderCCDA(&b, d); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil //nolint:gosec // rendered by html/template
}

// HTML renders the message as RenderHL7v2 does, for inclusion in a page template.
func (m *Message) HTML() (template.HTML, error) {
	var b bytes.Buffer
	if err := RenderHL7v2(&b, m); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil //nolint:gosec // rendered by html/template
}
