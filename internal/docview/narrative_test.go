package docview_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"omnichart/internal/docview"
	"omnichart/internal/ehrtest"
)

// visibleText is the text a browser shows of s (not that of script, style,
// template, SVG or MathML), without white space (a stripped tag may join or
// split a run of it) and without image placeholders. It parses s with its own
// walk, apart from the package.
func visibleText(s string) string {
	nodes, err := html.ParseFragment(strings.NewReader(s), &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body})
	if err != nil {
		return "unparsable"
	}
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch {
		case n.Type == html.TextNode:
			b.WriteString(n.Data)
		case n.Type == html.ElementNode && (n.Namespace != "" || n.Data == "script" || n.Data == "style" || n.Data == "template"):
			return
		case n.Type == html.ElementNode && n.Data == "img":
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range nodes {
		walk(n)
	}
	text := imagePlaceholder.ReplaceAllString(b.String(), " ")
	return strings.Join(strings.Fields(text), "")
}

var imagePlaceholder = regexp.MustCompile(`\[image not shown(?:: [^\]]*)?\]`)

// TestNarrativeOfficialExamples sanitises the narrative of every official R4
// example: each output must pass the safety walk and show the same text as the
// narrative did, so that the policy loses nothing a reader needs.
func TestNarrativeOfficialExamples(t *testing.T) {
	dir := ehrtest.SharedTestdata(t, "fhir-r4-examples")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var res struct {
			Text struct {
				Div string `json:"div"`
			} `json:"text"`
		}
		if json.Unmarshal(data, &res) != nil || res.Text.Div == "" {
			continue
		}
		n++
		name := filepath.Base(p)
		out := string(docview.Narrative(res.Text.Div))
		mustBeSafe(t, name, out)
		if got, want := visibleText(out), visibleText(res.Text.Div); got != want {
			t.Errorf("Narrative(%s) shows text that differs from the narrative:\n got %.300q\nwant %.300q", name, got, want)
		}
	}
	if n < 500 {
		t.Errorf("found %d example narratives in %s, want at least 500", n, dir)
	}
}
