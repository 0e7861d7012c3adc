package docview

import (
	"html/template"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// narrativeElements are the elements FHIR R4 allows in narrative for display
// (https://hl7.org/fhir/R4/narrative.html#xhtml, the xhtml data type): headings,
// paragraphs, lists, tables, phrase markup, images and links. Anything else loses
// its tags and keeps its text.
var narrativeElements = []string{
	"a", "abbr", "acronym", "b", "big", "blockquote", "br", "caption", "cite", "code", "col",
	"colgroup", "dd", "dfn", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
	"i", "img", "kbd", "li", "ol", "p", "pre", "q", "samp", "small", "span", "strong", "sub",
	"sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "ul", "var",
}

// droppedElements lose their content as well as their tags: what is inside them is
// code, metadata or foreign markup (SVG and MathML parse by other rules), never
// narrative a clinician should read.
var droppedElements = []string{
	"script", "style", "template", "iframe", "frame", "frameset", "object", "embed", "applet",
	"noscript", "noembed", "noframes", "form", "button", "select", "textarea", "input", "option",
	"svg", "math", "head", "title", "meta", "link", "base", "xmp", "plaintext", "noindex",
}

var (
	// A link may only leave for the web; javascript:, data:, vbscript:, file: and
	// relative links (which would fire requests at this server) are dropped.
	httpURL = regexp.MustCompile(`^(?i)https?://[^\s<>"'` + "`" + `/?#]+([/?#][^\s<>"'` + "`" + `]*)?$`)
	// An image may only be an inline raster image: an external image is a tracking
	// beacon that tells its server who opened which record and when, and SVG can
	// carry script.
	dataImage = regexp.MustCompile(`^data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/]+={0,2}$`)
	// Classes are only the ones this package writes, so that a record cannot
	// borrow the page's own classes to hide or restyle the chart around it.
	ownClasses = regexp.MustCompile(`^dv-[a-z0-9-]+(?: dv-[a-z0-9-]+)*$`)
	digits     = regexp.MustCompile(`^[0-9]{1,3}$`)
	plainText  = regexp.MustCompile(`^[^<>]*$`)
)

// policy is built once and is safe for concurrent use afterwards.
var policy = sync.OnceValue(newPolicy)

// Policy returns the sanitising policy every fragment of this package goes
// through. Callers that must show other outside markup may use it too.
func Policy() *bluemonday.Policy { return policy() }

func newPolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements(narrativeElements...)
	p.SkipElementsContent(droppedElements...)
	p.AllowAttrs("href").Matching(httpURL).OnElements("a")
	p.AllowAttrs("src").Matching(dataImage).OnElements("img")
	p.AllowAttrs("alt").Matching(plainText).OnElements("img")
	p.AllowAttrs("title").Matching(plainText).Globally()
	p.AllowAttrs("class").Matching(ownClasses).Globally()
	p.AllowAttrs("colspan", "rowspan").Matching(digits).OnElements("td", "th")
	p.AllowAttrs("scope").Matching(regexp.MustCompile(`^(?:row|col|rowgroup|colgroup)$`)).OnElements("th")
	p.AllowAttrs("start").Matching(digits).OnElements("ol")
	p.AllowAttrs("lang").Matching(regexp.MustCompile(`^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$`)).Globally()
	p.AllowAttrs("dir").Matching(regexp.MustCompile(`^(?:ltr|rtl)$`)).Globally()
	p.AllowURLSchemes("http", "https")
	p.AllowURLSchemeWithCustomPolicy("data", func(u *url.URL) bool { return dataImage.MatchString(u.String()) })
	p.RequireParseableURLs(true)
	p.AllowRelativeURLs(false)
	// External links open in a new tab with no opener and no referrer: the chart's
	// URL (which names a patient) never leaves with the click.
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}

// sanitize runs s through the policy.
func sanitize(s string) template.HTML {
	return template.HTML(policy().Sanitize(s)) //nolint:gosec // the output of the sanitiser
}

// Narrative returns the FHIR narrative div (Resource.text.div) as safe HTML for
// display: the elements FHIR allows, with images that are not inline data:
// images replaced by their alt text, links kept only to http and https, and
// nothing that can run script or load anything. Input that is not well formed
// is read as a browser would read it; it never fails.
func Narrative(div string) template.HTML {
	nodes, err := html.ParseFragment(strings.NewReader(div), &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body})
	if err != nil {
		// ParseFragment fails only when its reader does; show the text escaped.
		return template.HTML(template.HTMLEscapeString(div)) //nolint:gosec // escaped
	}
	var b strings.Builder
	for _, n := range nodes {
		rewriteHTML(n, 0)
		if err := html.Render(&b, n); err != nil {
			return template.HTML(template.HTMLEscapeString(div)) //nolint:gosec // escaped
		}
	}
	return sanitize(b.String())
}

// maxHTMLDepth bounds the recursion over a parsed narrative; deeper content keeps
// its text only.
const maxHTMLDepth = 100

// rewriteHTML does what the policy cannot: an image that may not load is
// replaced by its alt text, so the reader still learns what was there; foreign
// and script content is removed outright, and a tree deeper than maxHTMLDepth is
// flattened to its text.
func rewriteHTML(n *html.Node, depth int) {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		switch {
		case c.Type == html.CommentNode || c.Type == html.DoctypeNode:
			n.RemoveChild(c)
		case c.Type != html.ElementNode:
		case c.Namespace != "" || isDropped(c.Data):
			n.RemoveChild(c)
		case c.DataAtom == atom.Img:
			src := strings.Join(strings.Fields(attrOf(c, "src")), "")
			if !dataImage.MatchString(src) {
				n.InsertBefore(imagePlaceholder(attrOf(c, "alt")), c)
				n.RemoveChild(c)
				break
			}
			// Base64 is often wrapped over lines; the policy wants it in one piece.
			c.Attr = []html.Attribute{{Key: "src", Val: src}, {Key: "alt", Val: attrOf(c, "alt")}}
		case depth >= maxHTMLDepth:
			n.InsertBefore(&html.Node{Type: html.TextNode, Data: nodeText(c)}, c)
			n.RemoveChild(c)
		default:
			rewriteHTML(c, depth+1)
		}
		c = next
	}
}

func isDropped(name string) bool {
	for _, d := range droppedElements {
		if strings.EqualFold(d, name) {
			return true
		}
	}
	return false
}

func attrOf(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && strings.EqualFold(a.Key, key) {
			return a.Val
		}
	}
	return ""
}

// nodeText is the text content of n, without that of dropped elements.
func nodeText(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			switch {
			case c.Type == html.TextNode:
				b.WriteString(c.Data)
			case c.Type == html.ElementNode && c.Namespace == "" && !isDropped(c.Data):
				walk(c)
			}
		}
	}
	walk(n)
	return b.String()
}

// imagePlaceholder is what stands in for an image that is not shown.
func imagePlaceholder(alt string) *html.Node {
	span := &html.Node{Type: html.ElementNode, Data: "span", DataAtom: atom.Span,
		Attr: []html.Attribute{{Key: "class", Val: "dv-image"}}}
	span.AppendChild(&html.Node{Type: html.TextNode, Data: imageLabel(alt)})
	return span
}

func imageLabel(alt string) string {
	alt = strings.Join(strings.Fields(alt), " ")
	if alt == "" {
		return "[image not shown]"
	}
	return "[image not shown: " + alt + "]"
}
