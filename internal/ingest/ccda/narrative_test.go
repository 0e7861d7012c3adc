package ccda_test

import (
	"testing"

	"omnichart/internal/fhir"
	"omnichart/internal/ingest/ccda"
)

// sectionDiv converts a document with one section whose narrative is text and
// returns the section's XHTML div.
func sectionDiv(t *testing.T, text string) string {
	t.Helper()
	doc := minimalDoc(`<component><structuredBody><component><section>
<code code="10164-2" codeSystem="2.16.840.1.113883.6.1"/><title>HPI</title>
<text>` + text + `</text></section></component></structuredBody></component>`)
	res, err := ccda.Convert([]byte(doc), ccda.Options{})
	if err != nil {
		t.Fatalf("Convert() error = %v", err)
	}
	comp := firstOfType(res.Bundle, "Composition")
	secs := fhir.Array(comp, "section")
	if len(secs) != 1 {
		t.Fatalf("Convert() Composition has %d sections, want 1", len(secs))
	}
	return fhir.String(fhir.Object(secs[0].(map[string]any), "text"), "div")
}

func TestNarrativeIsSanitised(t *testing.T) {
	const open, end = `<div xmlns="http://www.w3.org/1999/xhtml">`, `</div>`
	tests := []struct {
		name string
		text string
		want string
	}{
		{"a script element is removed with its content",
			`<paragraph>ok</paragraph><script>alert(1)</script>`, open + `<p>ok</p>` + end},
		{"an event handler attribute is removed",
			`<paragraph onclick="steal()" onmouseover="x()">ok</paragraph>`, open + `<p>ok</p>` + end},
		{"a javascript: link loses its link but keeps its text",
			`<linkHtml href=" JavaScript:alert(1)">click</linkHtml>`, open + `<span>click</span>` + end},
		{"a web link is kept",
			`<linkHtml href="https://example.org/a?b=1&amp;c=2">site</linkHtml>`, open + `<a href="https://example.org/a?b=1&amp;c=2">site</a>` + end},
		{"an external image is removed",
			`<paragraph>x<img src="http://tracker.example/p.png"/></paragraph>`, open + `<p>x</p>` + end},
		{"renderMultiMedia is removed",
			`<paragraph>x</paragraph><renderMultiMedia referencedObject="o1"/>`, open + `<p>x</p>` + end},
		{"an iframe is removed with its content",
			`<paragraph>x</paragraph><iframe src="https://evil.example">y</iframe>`, open + `<p>x</p>` + end},
		{"a style with url() is removed",
			`<content style="background:url(https://evil.example)">x</content>`, open + `<span>x</span>` + end},
		{"styleCode becomes inline CSS",
			`<content styleCode="Bold Italics">x</content>`, open + `<span style="font-weight:bold;font-style:italic">x</span>` + end},
		{"an ordered list becomes ol and ID becomes id",
			`<list listType="ordered"><item ID="i1">a</item></list>`, open + `<ol><li id="i1">a</li></ol>` + end},
		{"a table keeps its structure",
			`<table border="1"><thead><tr><th>h</th></tr></thead><tbody><tr><td colspan="2">d</td></tr></tbody></table>`,
			open + `<table border="1"><thead><tr><th>h</th></tr></thead><tbody><tr><td colspan="2">d</td></tr></tbody></table>` + end},
		{"escaped markup in text stays text",
			`&lt;script&gt;alert(1)&lt;/script&gt;`, open + `&lt;script&gt;alert(1)&lt;/script&gt;` + end},
		{"an unknown element is unwrapped and its text kept",
			`<paragraph><blink>x</blink></paragraph>`, open + `<p>x</p>` + end},
		{"a list caption becomes a paragraph before the list",
			`<list><caption>c</caption><item>a</item></list>`, open + `<p>c</p><ul><li>a</li></ul>` + end},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sectionDiv(t, tt.text); got != tt.want {
				t.Errorf("narrative(%s) = %s, want %s", tt.text, got, tt.want)
			}
		})
	}
}
