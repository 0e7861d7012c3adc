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
