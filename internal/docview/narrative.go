package docview

import (
	"html/template"
	"slices"
	"strings"
)

// The CDA narrative block (CDA R2 section 4.3.5, schema type StrucDoc.Text) is
// converted element by element into the HTML that FHIR narrative allows, and the
// result goes through the policy like any other markup:
//
//	paragraph          p
//	content            span (styleCode as classes; revised="delete" struck out)
//	list / item        ul or ol (listType="ordered") / li; a list caption becomes a p before it
//	table and parts    the same HTML elements; th gets a scope
//	linkHtml           a, only for http and https; otherwise its text
//	br, sub, sup       the same
//	caption            a table's caption; elsewhere a labelled span
//	footnote           a span marked as a note; footnoteRef a superscript mark
//	renderMultiMedia   a placeholder naming what is not shown
//
// Elements it does not know keep their text; script, style and foreign markup
// are dropped with their content.

// styleClasses are the CDA styleCode values (CDA R2 section 4.3.5.11) shown, as
// classes from the package stylesheet: a style attribute would need
// 'unsafe-inline' in the page's Content-Security-Policy.
var styleClasses = map[string]string{
	"Bold":      "dv-bold",
	"Italics":   "dv-italic",
	"Underline": "dv-underline",
	"Emphasis":  "dv-emphasis",
	"Lrule":     "dv-lrule",
	"Rrule":     "dv-rrule",
	"Toprule":   "dv-toprule",
	"Botrule":   "dv-botrule",
}

// cdaElements are the narrative block elements that map one to one.
var cdaElements = map[string]string{
	"paragraph": "p", "content": "span", "item": "li", "br": "br", "sub": "sub", "sup": "sup",
	"table": "table", "thead": "thead", "tbody": "tbody", "tfoot": "tfoot", "tr": "tr",
	"th": "th", "td": "td", "col": "col", "colgroup": "colgroup",
}

// maxNarrativeDepth bounds the nesting written out; deeper content keeps its text.
const maxNarrativeDepth = 64

// cdaNarrative converts a section's <text> into sanitised HTML, or "" when it has
// none.
func cdaNarrative(text *xnode) template.HTML {
	if text == nil || text.textContent() == "" && !hasElement(text, "renderMultiMedia") && !hasElement(text, "img") {
		return ""
	}
	w := &narrativeWriter{}
	w.b.WriteString(`<div class="dv-narrative">`)
	w.kids(text, 0, false)
	w.b.WriteString(`</div>`)
	return sanitize(w.b.String())
}

func hasElement(n *xnode, name string) bool {
	for _, k := range n.kids {
		if k.name == name || hasElement(k, name) {
			return true
		}
	}
	return false
}

type narrativeWriter struct {
	b strings.Builder
	// head counts the thead elements being written, whose th cells head columns.
	head int
}

func (w *narrativeWriter) kids(n *xnode, depth int, pre bool) {
	for _, k := range n.kids {
		w.node(k, depth, pre)
	}
}

// node writes one node.
func (w *narrativeWriter) node(n *xnode, depth int, pre bool) {
	if n.name == "" {
		if pre {
			w.text(n.text)
		} else {
			w.text(collapse(n.text))
		}
		return
	}
	if n.space != nsV3 && n.space != "" && n.space != nsXHTML || isDropped(n.name) {
		// Foreign markup (SVG, MathML, a vendor's own namespace) is not narrative.
		if n.space == "http://www.w3.org/2000/svg" || n.space == "http://www.w3.org/1998/Math/MathML" || isDropped(n.name) {
			return
		}
		w.kids(n, depth+1, pre)
		return
	}
	if depth >= maxNarrativeDepth {
		w.text(" " + n.textContent() + " ")
		return
	}
	switch n.name {
	case "list":
		for _, c := range n.children("caption") {
			w.open("p", "dv-caption")
			w.kids(c, depth+1, pre)
			w.close("p")
		}
		tag := "ul"
		if n.attr("listType") == "ordered" {
			tag = "ol"
		}
		w.open(tag, classes(n))
		w.kidsExcept(n, "caption", depth, pre)
		w.close(tag)
	case "table":
		w.open("table", classes(n))
		for _, c := range n.children("caption") {
			w.open("caption", "")
			w.kids(c, depth+1, pre)
			w.close("caption")
		}
		w.kidsExcept(n, "caption", depth, pre)
		w.close("table")
	case "caption":
		// A caption outside a list or table (in a paragraph, item or content)
		// labels what follows it.
		w.open("span", "dv-caption")
		w.kids(n, depth+1, pre)
		w.close("span")
		w.text(" ")
	case "th", "td":
		w.cell(n, depth, pre)
	case "linkHtml", "a":
		href := strings.TrimSpace(n.attr("href"))
		if httpURL.MatchString(href) {
			w.b.WriteString(`<a href="`)
			w.b.WriteString(template.HTMLEscapeString(href))
			w.b.WriteString(`">`)
			w.kids(n, depth+1, pre)
			w.close("a")
		} else {
			w.kids(n, depth+1, pre)
		}
	case "footnote":
		w.text(" ")
		w.open("span", "dv-footnote")
		w.text("[Note: ")
		w.kids(n, depth+1, pre)
		w.text("]")
		w.close("span")
	case "footnoteRef":
		w.open("sup", "dv-footnote-ref")
		w.text("*")
		w.close("sup")
	case "renderMultiMedia":
		label := n.child("caption").textContent()
		w.open("span", "dv-media")
		if label == "" {
			w.text("[multimedia not shown]")
		} else {
			w.text("[multimedia not shown: " + label + "]")
		}
		w.close("span")
	case "img":
		src := strings.Join(strings.Fields(n.attr("src")), "")
		if !dataImage.MatchString(src) {
			w.open("span", "dv-image")
			w.text(imageLabel(n.attr("alt")))
			w.close("span")
			return
		}
		w.b.WriteString(`<img src="` + template.HTMLEscapeString(src) + `" alt="` + template.HTMLEscapeString(n.attr("alt")) + `"/>`)
	case "br", "hr", "col":
		w.b.WriteString("<" + n.name + "/>")
	case "pre":
		w.open("pre", classes(n))
		w.kids(n, depth+1, true)
		w.close("pre")
	default:
		tag, ok := cdaElements[n.name]
		if !ok && slices.Contains(narrativeElements, n.name) {
			// Vendors put XHTML straight into the narrative block.
			tag, ok = n.name, true
		}
		if !ok {
			w.kids(n, depth+1, pre)
			return
		}
		cls := classes(n)
		if n.name == "content" && n.attr("revised") == "delete" {
			cls = strings.TrimSpace(cls + " dv-deleted")
		}
		if n.name == "paragraph" || n.name == "item" {
			// A caption opens its paragraph or item.
			w.open(tag, cls)
			for _, c := range n.children("caption") {
				w.open("span", "dv-caption")
				w.kids(c, depth+1, pre)
				w.close("span")
				w.text(" ")
			}
			w.kidsExcept(n, "caption", depth, pre)
			w.close(tag)
			return
		}
		if n.name == "thead" {
			w.head++
			defer func() { w.head-- }()
		}
		w.open(tag, cls)
		w.kids(n, depth+1, pre)
		w.close(tag)
	}
}

// cell writes a th or td. A header cell says what it heads: its own scope when
// it gives one, else the column in a thead and the row elsewhere.
func (w *narrativeWriter) cell(n *xnode, depth int, pre bool) {
	w.b.WriteString("<" + n.name)
	if c := classes(n); c != "" {
		w.b.WriteString(` class="` + c + `"`)
	}
	if n.name == "th" {
		scope := n.attr("scope")
		switch scope {
		case "row", "col", "rowgroup", "colgroup":
		default:
			scope = "row"
			if w.head > 0 {
				scope = "col"
			}
		}
		w.b.WriteString(` scope="` + scope + `"`)
	}
	for _, a := range []string{"colspan", "rowspan"} {
		if v := n.attr(a); digits.MatchString(v) {
			w.b.WriteString(" " + a + `="` + v + `"`)
		}
	}
	w.b.WriteString(">")
	w.kids(n, depth+1, pre)
	w.close(n.name)
}

func (w *narrativeWriter) kidsExcept(n *xnode, skip string, depth int, pre bool) {
	for _, k := range n.kids {
		if k.name == skip {
			continue
		}
		w.node(k, depth+1, pre)
	}
}

func (w *narrativeWriter) open(tag, class string) {
	w.b.WriteString("<" + tag)
	if class != "" {
		w.b.WriteString(` class="` + class + `"`)
	}
	w.b.WriteString(">")
}

func (w *narrativeWriter) close(tag string) { w.b.WriteString("</" + tag + ">") }

func (w *narrativeWriter) text(s string) { w.b.WriteString(template.HTMLEscapeString(s)) }

// classes turns a styleCode into the package's classes; unknown codes are dropped.
func classes(n *xnode) string {
	var out []string
	for _, s := range strings.Fields(n.attr("styleCode")) {
		if c, ok := styleClasses[s]; ok && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return strings.Join(out, " ")
}

// collapse turns each run of white space into one space, as HTML shows it; it
// keeps the golden files and the page source readable.
func collapse(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}
