package docview_test

import (
	"bytes"
	"strings"
	"testing"

	"omnichart/internal/docview"
)

// ccdaWith wraps a section narrative block in a minimal C-CDA document.
func ccdaWith(text string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xlink="http://www.w3.org/1999/xlink">
<code code="34133-9" codeSystem="2.16.840.1.113883.6.1"/>
<title>Hostile</title>
<component><structuredBody><component><section>
<code code="11450-4" codeSystem="2.16.840.1.113883.6.1"/><title>Problems</title>
<text>` + text + `</text>
</section></component></structuredBody></component>
</ClinicalDocument>`)
}

// renderCCDA reads and renders a document, failing the test on an error.
func renderCCDA(tb testing.TB, data []byte) string {
	tb.Helper()
	doc, err := docview.CCDA(data)
	if err != nil {
		tb.Fatalf("CCDA() = %v", err)
	}
	var b bytes.Buffer
	if err := docview.RenderCCDA(&b, doc); err != nil {
		tb.Fatalf("RenderCCDA() = %v", err)
	}
	return b.String()
}

// TestHostileNarrative plants script, handlers and dangerous URLs in FHIR
// narrative and checks that none of them survives, while the readable text does.
func TestHostileNarrative(t *testing.T) {
	tests := []struct {
		name string
		div  string
		keep string // text that must still be shown, "" for none
	}{
		{"a script element is dropped with its code", `<div><p>Seen</p><script>alert(1)</script></div>`, "Seen"},
		{"an event handler attribute is dropped", `<div><span onmouseover="alert(1)" onclick="x()">Hover</span></div>`, "Hover"},
		{"an image with onerror becomes its alt text", `<div><img src="x" onerror="alert(1)" alt="scan"/></div>`, "scan"},
		{"a javascript link keeps only its text", `<div><a href="javascript:alert(1)">open</a></div>`, "open"},
		{"an entity-encoded javascript link is refused", `<div><a href="jav&#x61;script&#58;alert(1)">a</a><a href="&#106;avascript:alert(1)">b</a></div>`, "b"},
		{"a javascript link split by white space is refused", "<div><a href=\"java\tscript:alert(1)\">c</a><a href=\" JAVASCRIPT:alert(1)\">d</a></div>", "d"},
		{"a data URL link is refused", `<div><a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">e</a></div>`, "e"},
		{"an SVG data image is refused", `<div><img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+" alt="svg"/></div>`, "svg"},
		{"a vbscript link is refused", `<div><a href="vbscript:msgbox(1)">f</a></div>`, "f"},
		{"a relative link is refused", `<div><a href="/logout">g</a><a href="//evil.example/">h</a></div>`, "g"},
		{"an external image is replaced by its alt text", `<div><img src="https://tracker.example/p.gif?patient=1" alt="ECG"/></div>`, "ECG"},
		{"style with expression and url is dropped", `<div><p style="width:expression(alert(1));background:url(javascript:alert(1))">w</p></div>`, "w"},
		{"a style element is dropped", `<div><style>@import url(https://evil.example/x.css);</style>s</div>`, "s"},
		{"SVG with onload is dropped", `<div><svg onload="alert(1)"><script>alert(2)</script></svg>t</div>`, "t"},
		{"MathML with a link is dropped", `<div><math><maction actiontype="statusline" xlink:href="javascript:alert(1)">m</maction></math>u</div>`, "u"},
		{"an iframe, object and embed are dropped", `<div><iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe><object data="x.swf"></object><embed src="x.swf"/>v</div>`, "v"},
		{"a form and its controls are dropped", `<div><form action="https://evil.example/"><input name="p"/><button formaction="javascript:alert(1)">Go</button></form>x</div>`, "x"},
		{"base, meta and link are dropped", `<div><base href="https://evil.example/"/><meta http-equiv="refresh" content="0;url=https://evil.example/"/><link rel="stylesheet" href="https://evil.example/"/>y</div>`, "y"},
		{"the noscript mutation trick does not run", `<div><noscript><p title="</noscript><img src=x onerror=alert(1)>">z</p></noscript>z2</div>`, "z2"},
		{"a template hides no script", `<div><template><script>alert(1)</script></template>q</div>`, "q"},
		{"escaped markup stays text", `<div>&lt;script&gt;alert(1)&lt;/script&gt;</div>`, "&lt;script&gt;"},
		{"an alt text that closes the attribute stays text", `<div><img src="x" alt='"&gt;&lt;script&gt;alert(1)&lt;/script&gt;'/></div>`, "&lt;script&gt;"},
		{"the page's own classes and ids cannot be borrowed", `<div id="banner" class="hidden"><p class="dv-bold admin">k</p></div>`, "k"},
		{"a conditional comment is dropped", `<div><!--[if IE]><script>alert(1)</script><![endif]-->c</div>`, "c"},
		{"a CDATA section in HTML is text", `<div><![CDATA[<script>alert(1)</script>]]>d</div>`, "d"},
		{"unclosed markup is closed", `<div><p><b>open<a href="https://ok.example/">l`, "open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := string(docview.Narrative(tt.div))
			mustBeSafe(t, "Narrative", out)
			if tt.keep != "" && !strings.Contains(out, tt.keep) {
				t.Errorf("Narrative(%q) = %q, want it to keep %q", tt.div, out, tt.keep)
			}
			for _, banned := range []string{`id="banner"`, `class="hidden"`, "admin", "alert(1)</script>"} {
				if strings.Contains(out, banned) {
					t.Errorf("Narrative(%q) = %q, holds %q", tt.div, out, banned)
				}
			}
		})
	}
}

// TestHostileCCDA does the same for a C-CDA narrative block and header.
func TestHostileCCDA(t *testing.T) {
	tests := []struct {
		name string
		text string
		keep string
	}{
		{"a linkHtml to javascript keeps only its text", `<linkHtml href="javascript:alert(1)">open</linkHtml>`, "open"},
		{"a linkHtml with an entity-encoded scheme is refused", `<linkHtml href="&#106;avascript:alert(1)">a</linkHtml>`, "a"},
		{"a linkHtml to a data URL is refused", `<linkHtml href="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;">b</linkHtml>`, "b"},
		{"a linkHtml with an onclick keeps its link but not the handler", `<linkHtml href="https://ok.example/" onclick="alert(1)">c</linkHtml>`, `href="https://ok.example/"`},
		{"an XHTML script element is dropped", `<x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(1)</x:script>d`, "d"},
		{"a script element in the CDA namespace is dropped", `<paragraph>e<script>alert(1)</script></paragraph>`, "e"},
		{"an XHTML image with a handler becomes alt text", `<img src="x" onerror="alert(1)" alt="photo"/>`, "photo"},
		{"SVG markup is dropped", `<s:svg xmlns:s="http://www.w3.org/2000/svg" onload="alert(1)"><s:script>alert(1)</s:script></s:svg>f`, "f"},
		{"a styleCode cannot inject a class or style", `<content styleCode="Bold &quot; onclick=&quot;alert(1)" style="background:url(https://x.example/)">g</content>`, "g"},
		{"a CDATA section is text", `<paragraph><![CDATA[<script>alert(1)</script>]]></paragraph>`, "&lt;script&gt;"},
		{"a CDATA end split across sections stays text", `<paragraph><![CDATA[<scr]]><![CDATA[ipt>alert(1)</script>]]></paragraph>`, "&lt;scr"},
		{"a renderMultiMedia is a placeholder", `<renderMultiMedia referencedObject="x"><caption>&lt;img src=x onerror=alert(1)&gt;</caption></renderMultiMedia>`, "multimedia not shown"},
		{"an unknown element keeps its text", `<paragraph><vendorThing onload="alert(1)">kept</vendorThing></paragraph>`, "kept"},
		{"table cell spans must be numbers", `<table><tbody><tr><td colspan="2 onmouseover=alert(1)" rowspan="3">h</td></tr></tbody></table>`, "h"},
		{"a th scope must be one of the four", `<table><tbody><tr><th scope="row&quot; onclick=&quot;alert(1)">i</th></tr></tbody></table>`, `scope="row"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := renderCCDA(t, ccdaWith(tt.text))
			mustBeSafe(t, "RenderCCDA", out)
			if !strings.Contains(out, tt.keep) {
				t.Errorf("RenderCCDA(%q) = %q, want it to keep %q", tt.text, out, tt.keep)
			}
		})
	}

	t.Run("markup in header fields is escaped", func(t *testing.T) {
		doc := bytes.Replace(ccdaWith("x"), []byte("<title>Hostile</title>"),
			[]byte(`<title>&lt;/h2&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>
<recordTarget><patientRole><id root="1.2" extension="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"/>
<patient><name><given>&lt;svg onload=alert(1)&gt;</given></name></patient></patientRole></recordTarget>`), 1)
		out := renderCCDA(t, doc)
		mustBeSafe(t, "RenderCCDA", out)
		if !strings.Contains(out, "&lt;/h2&gt;&lt;script&gt;") {
			t.Errorf("RenderCCDA title = %q, want the markup shown as text", out)
		}
	})

	t.Run("a 1 MB section renders in full", func(t *testing.T) {
		big := strings.Repeat("<paragraph>Line of narrative &lt;b&gt; text.</paragraph>", 1<<20/56)
		out := renderCCDA(t, ccdaWith(big))
		mustBeSafe(t, "RenderCCDA", out)
		if got, want := strings.Count(out, "<p>"), 1<<20/56; got != want {
			t.Errorf("RenderCCDA(1 MB) has %d paragraphs, want %d", got, want)
		}
	})

	t.Run("nesting within the XML limit renders and keeps the innermost text", func(t *testing.T) {
		deep := strings.Repeat("<content>", 200) + "innermost" + strings.Repeat("</content>", 200)
		out := renderCCDA(t, ccdaWith(deep))
		mustBeSafe(t, "RenderCCDA", out)
		if !strings.Contains(out, "innermost") {
			t.Errorf("RenderCCDA(deep) lost the innermost text")
		}
	})

	t.Run("nesting past the XML limit is an error, not a crash", func(t *testing.T) {
		deep := strings.Repeat("<content>", 5000) + "x" + strings.Repeat("</content>", 5000)
		if _, err := docview.CCDA(ccdaWith(deep)); err == nil {
			t.Errorf("CCDA(5000 levels) = nil error, want one")
		}
	})

	t.Run("deeply nested narrative HTML does not crash", func(t *testing.T) {
		deep := "<div>" + strings.Repeat("<span>", 20000) + "deep" + strings.Repeat("</span>", 20000) + "</div>"
		out := string(docview.Narrative(deep))
		mustBeSafe(t, "Narrative", out)
	})
}
