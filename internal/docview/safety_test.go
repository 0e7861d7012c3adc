package docview_test

import (
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// forbidden are elements that run script, load content, submit data or switch
// the parser into foreign content. None may appear in any output.
var forbidden = map[string]bool{
	"script": true, "style": true, "iframe": true, "frame": true, "frameset": true,
	"object": true, "embed": true, "applet": true, "form": true, "input": true,
	"button": true, "textarea": true, "select": true, "base": true, "link": true,
	"meta": true, "svg": true, "math": true, "template": true, "noscript": true,
	"audio": true, "video": true, "source": true, "track": true, "portal": true,
}

var (
	httpLink   = regexp.MustCompile(`^(?i)https?://`)
	inlineData = regexp.MustCompile(`^data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+$`)
)

// unsafeConstructs parses out as a browser would and lists everything in it that
// could run script or fetch from elsewhere: forbidden elements, elements in a
// foreign namespace, event-handler and style attributes, links that are not
// http or https, images that are not inline data, and any other URL attribute.
// It is written apart from the package's own policy, so that it checks it.
func unsafeConstructs(out string) []string {
	nodes, err := html.ParseFragment(strings.NewReader(out), &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body})
	if err != nil {
		return []string{"unparsable: " + err.Error()}
	}
	var bad []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.ElementNode:
			if forbidden[strings.ToLower(n.Data)] {
				bad = append(bad, "element <"+n.Data+">")
			}
			if n.Namespace != "" {
				bad = append(bad, "foreign element <"+n.Namespace+":"+n.Data+">")
			}
			for _, a := range n.Attr {
				key := strings.ToLower(a.Key)
				val := strings.TrimSpace(a.Val)
				switch {
				case strings.HasPrefix(key, "on"):
					bad = append(bad, "event handler "+key+" on <"+n.Data+">")
				case key == "style":
					bad = append(bad, "style attribute on <"+n.Data+">")
				case key == "href":
					if n.Data != "a" || !httpLink.MatchString(val) {
						bad = append(bad, "href "+val+" on <"+n.Data+">")
					}
				case key == "src":
					if n.Data != "img" || !inlineData.MatchString(val) {
						bad = append(bad, "src "+val+" on <"+n.Data+">")
					}
				case key == "action", key == "formaction", key == "srcset", key == "background",
					key == "poster", key == "data", key == "codebase", key == "xmlns", key == "ping",
					a.Namespace != "":
					bad = append(bad, "attribute "+a.Namespace+key+" on <"+n.Data+">")
				}
			}
		case html.CommentNode:
			// Comments are inert, but a conditional comment is not in old engines.
			if strings.Contains(strings.ToLower(n.Data), "[if") {
				bad = append(bad, "conditional comment")
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range nodes {
		walk(n)
	}
	return bad
}

// mustBeSafe fails the test when out holds anything unsafeConstructs finds.
func mustBeSafe(tb testing.TB, what, out string) {
	tb.Helper()
	if bad := unsafeConstructs(out); len(bad) > 0 {
		tb.Errorf("%s: output holds %q", what, bad)
	}
}

// TestUnsafeConstructs checks the checker: each of these must be caught.
func TestUnsafeConstructs(t *testing.T) {
	tests := []struct{ name, html string }{
		{"a script element is caught", `<p>x<script>alert(1)</script></p>`},
		{"an event handler is caught", `<img src="data:image/png;base64,AAAA" onerror="alert(1)">`},
		{"a javascript link is caught", `<a href="javascript:alert(1)">x</a>`},
		{"an external image is caught", `<img src="https://tracker.example/p.gif">`},
		{"an SVG element is caught", `<svg><a xlink:href="javascript:alert(1)">x</a></svg>`},
		{"a style attribute is caught", `<span style="background:url(https://x.example/)">x</span>`},
		{"a relative link is caught", `<a href="/logout">x</a>`},
		{"an iframe is caught", `<iframe src="https://x.example/"></iframe>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if bad := unsafeConstructs(tt.html); len(bad) == 0 {
				t.Errorf("unsafeConstructs(%q) found nothing", tt.html)
			}
		})
	}
	if bad := unsafeConstructs(`<p class="dv-bold">ok <a href="https://example.org/" rel="noreferrer noopener" target="_blank">x</a></p>`); len(bad) > 0 {
		t.Errorf("unsafeConstructs(safe) = %q, want nothing", bad)
	}
}
