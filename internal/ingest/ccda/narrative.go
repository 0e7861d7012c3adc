package ccda

import (
	"strings"
)

// cdaToXHTML renames the CDA narrative block elements to their XHTML equivalents.
// See CDA R2 section 4.3.5 (Section Narrative Block) and the C-CDA on FHIR IG's
// narrative guidance.
var cdaToXHTML = map[string]string{
	"content":          "span",
	"paragraph":        "p",
	"item":             "li",
	"linkHtml":         "a",
	"footnote":         "span",
	"footnoteRef":      "span",
	"sub":              "sub",
	"sup":              "sup",
	"br":               "br",
	"caption":          "caption",
	"table":            "table",
	"thead":            "thead",
	"tbody":            "tbody",
	"tfoot":            "tfoot",
	"tr":               "tr",
	"th":               "th",
	"td":               "td",
	"col":              "col",
	"colgroup":         "colgroup",
	"renderMultiMedia": "",
}

// xhtmlAllowed are the elements FHIR narrative allows (R4 "xhtml" data type,
// https://hl7.org/fhir/R4/narrative.html#xhtml). Vendors sometimes put XHTML
// elements straight into the CDA narrative, so these pass through too.
var xhtmlAllowed = map[string]bool{
	"a": true, "abbr": true, "acronym": true, "b": true, "big": true, "blockquote": true, "br": true,
	"caption": true, "cite": true, "code": true, "col": true, "colgroup": true, "dd": true, "dfn": true,
	"div": true, "dl": true, "dt": true, "em": true, "h1": true, "h2": true, "h3": true, "h4": true,
	"h5": true, "h6": true, "hr": true, "i": true, "img": true, "kbd": true, "li": true, "ol": true,
	"p": true, "pre": true, "q": true, "samp": true, "small": true, "span": true, "strong": true,
	"sub": true, "sup": true, "table": true, "tbody": true, "td": true, "tfoot": true, "th": true,
	"thead": true, "tr": true, "tt": true, "ul": true, "var": true,
}

// dropped elements lose their content too: it is code or metadata, not narrative.
var xhtmlDropped = map[string]bool{
	"script": true, "style": true, "object": true, "embed": true, "iframe": true, "frame": true,
	"frameset": true, "applet": true, "form": true, "input": true, "button": true, "textarea": true,
	"select": true, "link": true, "meta": true, "base": true, "head": true, "title": true,
	"svg": true, "math": true, "renderMultiMedia": true,
}

// attrAllowed are the attributes kept, after renaming ID to id.
var attrAllowed = map[string]bool{
	"id": true, "class": true, "style": true, "title": true, "lang": true, "dir": true,
	"href": true, "name": true, "colspan": true, "rowspan": true, "align": true, "valign": true,
	"border": true, "width": true, "cellpadding": true, "cellspacing": true, "scope": true,
	"summary": true, "abbr": true, "axis": true, "headers": true, "char": true, "charoff": true,
	"span": true, "src": true, "alt": true, "start": true, "type": true,
}

// styleCodes turns CDA styleCode values into inline CSS.
var styleCodes = map[string]string{
	"Bold":      "font-weight:bold",
	"Italics":   "font-style:italic",
	"Underline": "text-decoration:underline",
	"Emphasis":  "font-style:italic",
}

// narrative converts a section <text> to a sanitised FHIR narrative div. It
// returns "" when nothing readable is left.
func narrative(text *node) string {
	if text == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(`<div xmlns="http://www.w3.org/1999/xhtml">`)
	hasText := false
	for _, k := range text.kids {
		writeNarrative(&b, k, 0, &hasText)
	}
	b.WriteString(`</div>`)
	if !hasText {
		return ""
	}
	return b.String()
}

func writeNarrative(b *strings.Builder, n *node, depth int, hasText *bool) {
	if n.name == "" {
		if strings.TrimSpace(n.text) != "" {
			*hasText = true
		}
		b.WriteString(escapeText(collapseSpace(n)))
		return
	}
	if depth > 64 || xhtmlDropped[n.name] {
		return
	}
	tag, known := cdaToXHTML[n.name]
	if !known {
		if n.name == "list" {
			tag = "ul"
			if n.attr("listType") == "ordered" {
				tag = "ol"
			}
		} else if xhtmlAllowed[strings.ToLower(n.name)] {
			tag = strings.ToLower(n.name)
		}
	}
	// A list caption is not valid XHTML inside ul/ol; it becomes a paragraph before it.
	if n.name == "list" {
		for _, k := range n.children("caption") {
			b.WriteString("<p>")
			for _, kk := range k.kids {
				writeNarrative(b, kk, depth+1, hasText)
			}
			b.WriteString("</p>")
		}
	}
	if n.name == "caption" && n.parent != nil && n.parent.name == "list" {
		return
	}
	if tag == "a" {
		if href := safeHref(n.attr("href")); href == "" {
			tag = "span"
		}
	}
	if tag == "img" && !safeImage(n.attr("src")) {
		return
	}
	if tag == "" {
		for _, k := range n.kids {
			writeNarrative(b, k, depth+1, hasText)
		}
		return
	}
	b.WriteByte('<')
	b.WriteString(tag)
	var styles []string
	for _, a := range n.attrs {
		name := a.Name.Local
		if a.Name.Space != "" && a.Name.Space != nsV3 && a.Name.Space != "http://www.w3.org/1999/xhtml" {
			continue
		}
		val := a.Value
		switch {
		case name == "ID":
			name = "id"
		case name == "styleCode":
			for _, s := range strings.Fields(val) {
				if css, ok := styleCodes[s]; ok {
					styles = append(styles, css)
				}
			}
			continue
		case name == "href":
			if tag != "a" {
				continue
			}
			val = safeHref(val)
		case name == "src":
			if tag != "img" {
				continue
			}
		case name == "style":
			if !safeStyle(val) {
				continue
			}
			styles = append(styles, val)
			continue
		case name == "type" || name == "start":
			if tag != "ol" && tag != "ul" && tag != "li" {
				continue
			}
		}
		if !attrAllowed[name] || val == "" {
			continue
		}
		b.WriteByte(' ')
		b.WriteString(name)
		b.WriteString(`="`)
		b.WriteString(escapeAttr(val))
		b.WriteByte('"')
	}
	if len(styles) > 0 {
		b.WriteString(` style="`)
		b.WriteString(escapeAttr(strings.Join(styles, ";")))
		b.WriteByte('"')
	}
	if tag == "br" || tag == "col" || tag == "hr" || tag == "img" {
		b.WriteString("/>")
		if tag == "img" {
			*hasText = true
		}
		return
	}
	b.WriteByte('>')
	for _, k := range n.kids {
		writeNarrative(b, k, depth+1, hasText)
	}
	b.WriteString("</")
	b.WriteString(tag)
	b.WriteByte('>')
}

// safeHref keeps links that cannot run code: web, mail and in-page links.
func safeHref(h string) string {
	h = strings.TrimSpace(h)
	l := strings.ToLower(strings.Join(strings.Fields(h), ""))
	switch {
	case strings.HasPrefix(l, "#"), strings.HasPrefix(l, "http://"), strings.HasPrefix(l, "https://"), strings.HasPrefix(l, "mailto:"):
		return h
	}
	return ""
}

// safeImage allows only images inside the resource; FHIR forbids external ones.
func safeImage(src string) bool {
	s := strings.ToLower(strings.TrimSpace(src))
	return strings.HasPrefix(s, "#") || strings.HasPrefix(s, "data:image/")
}

func safeStyle(s string) bool {
	l := strings.ToLower(s)
	for _, bad := range []string{"url(", "expression", "javascript:", "@import", "behavior", "\\"} {
		if strings.Contains(l, bad) {
			return false
		}
	}
	return true
}

var (
	textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
)

func escapeText(s string) string { return textEscaper.Replace(s) }

func escapeAttr(s string) string { return attrEscaper.Replace(s) }

// collapseSpace shrinks the indentation of pretty-printed documents: a run of
// white space renders as one space anyway, except inside pre.
func collapseSpace(n *node) string {
	for p := n.parent; p != nil; p = p.parent {
		if p.name == "pre" {
			return n.text
		}
	}
	var b strings.Builder
	space := false
	for _, r := range n.text {
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
