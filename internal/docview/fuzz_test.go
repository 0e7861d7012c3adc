package docview_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"omnichart/internal/docview"
)

// FuzzCCDA reads and renders arbitrary documents: it must never panic, and
// whatever it renders must pass the safety walk and show every section it read.
// The corpus is seeded from the synthetic documents in testdata and from
// narrative blocks that mix CDA and XHTML markup.
func FuzzCCDA(f *testing.F) {
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, text := range []string{
		`<paragraph styleCode="Bold">a<linkHtml href="https://example.org/">b</linkHtml></paragraph>`,
		`<list listType="ordered"><caption>c</caption><item>d<content styleCode="Italics">e</content></item></list>`,
		`<table><caption>t</caption><thead><tr><th>h</th></tr></thead><tbody><tr><td colspan="2">v</td></tr></tbody></table>`,
		`<x:a xmlns:x="http://www.w3.org/1999/xhtml" href="javascript:alert(1)">x</x:a><img src="data:image/png;base64,AAAA" alt="i"/>`,
		`<renderMultiMedia referencedObject="m"><caption>m</caption></renderMultiMedia><footnote>n</footnote><footnoteRef IDREF="n"/>`,
		`<paragraph><![CDATA[<script>alert(1)</script>]]></paragraph>`,
	} {
		f.Add(ccdaWith(text))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := docview.CCDA(data)
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := docview.RenderCCDA(&b, doc); err != nil {
			t.Fatalf("RenderCCDA() = %v", err)
		}
		mustBeSafe(t, "RenderCCDA", b.String())
		if got, want := strings.Count(b.String(), `<section class="dv-section" aria-labelledby=`), doc.NumSections(); got != want {
			t.Errorf("RenderCCDA() writes %d sections, want %d", got, want)
		}
	})
}

// FuzzNarrative sanitises arbitrary FHIR narrative: it must never panic, and the
// output must pass the safety walk. The corpus is seeded from testdata and from
// hostile narratives.
func FuzzNarrative(f *testing.F) {
	files, err := filepath.Glob("testdata/*.xhtml")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	for _, div := range []string{
		`<div><a href="javascript:alert(1)">x</a><img src="x" onerror="alert(1)" alt="a"/></div>`,
		`<div><svg><style><img src=x onerror=alert(1)></style></svg></div>`,
		`<div><noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript></div>`,
		`<div><table><tr><td><math><mi><table><tr><td><a href="javascript:x">y</a></td></tr></table></mi></math></td></tr></table></div>`,
	} {
		f.Add(div)
	}
	f.Fuzz(func(t *testing.T, div string) {
		mustBeSafe(t, "Narrative", string(docview.Narrative(div)))
	})
}
