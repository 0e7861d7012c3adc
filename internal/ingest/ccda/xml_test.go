package ccda_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"omnichart/internal/fhir"
	"omnichart/internal/ingest/ccda"
)

// minimalDoc wraps body (the children of ClinicalDocument after the header) in a
// small valid document.
func minimalDoc(body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<id root="2.16.840.1.113883.19" extension="1"/>
<code code="34133-9" codeSystem="2.16.840.1.113883.6.1"/>
<effectiveTime value="20240101120000+0000"/>
<recordTarget><patientRole><id root="2.16.840.1.113883.19.2" extension="P1"/><patient><name><given>A</given><family>B</family></name></patient></patientRole></recordTarget>
` + body + `</ClinicalDocument>`
}

func TestConvertRejectsUnreadableDocuments(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("testdata", "ccd_r21.xml"))
	if err != nil {
		t.Fatal(err)
	}
	deep := minimalDoc(strings.Repeat("<component>", 5000) + strings.Repeat("</component>", 5000))
	tests := []struct {
		name     string
		data     []byte
		wantErr  string
		wantLine bool
	}{
		{"an empty input is refused", nil, "empty", false},
		{"an HL7 v2 message is refused as not XML", []byte("MSH|^~\\&|not a document"), "not XML", false},
		{"JSON is refused as not XML", []byte(`{"resourceType":"Bundle"}`), "not XML", false},
		{"a truncated document is refused with its position", golden[:len(golden)/2], "truncated", true},
		{"a document cut inside a tag is refused", golden[:1234], "", true},
		{"a FHIR XML resource is refused as the wrong root", []byte(`<Patient xmlns="http://hl7.org/fhir"/>`), "want <ClinicalDocument>", true},
		{"a ClinicalDocument in a foreign namespace is refused", []byte(`<ClinicalDocument xmlns="urn:example"/>`), "namespace", true},
		{"an unknown encoding declaration is refused", []byte(`<?xml version="1.0" encoding="Shift_JIS"?><ClinicalDocument xmlns="urn:hl7-org:v3"/>`), "unsupported encoding", false},
		{"bytes that are not UTF-8 in a UTF-8 document are refused", []byte(minimalDoc("<title>caf\xe9</title>")), "UTF-8", true},
		{"a UTF-16 document is refused", []byte("\xff\xfe<\x00C\x00"), "UTF-16", false},
		{"entity declarations are refused", []byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaa">]><ClinicalDocument xmlns="urn:hl7-org:v3"/>`), "entity", false},
		{"deeply nested elements are refused", []byte(deep), "deeper than", true},
		{"mismatched tags are refused with their line", []byte(minimalDoc("<title>x</code>")), "closed by", true},
		{"two root elements are refused", []byte(minimalDoc("") + `<ClinicalDocument xmlns="urn:hl7-org:v3"/>`), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ccda.Convert(tt.data, ccda.Options{})
			if err == nil {
				t.Fatalf("Convert() error = nil (bundle with %d entries), want an error", len(fhir.Array(res.Bundle, "entry")))
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Convert() error = %q, want it to mention %q", err, tt.wantErr)
			}
			var re *ccda.ReadError
			if !errors.As(err, &re) {
				t.Fatalf("Convert() error is %T, want *ccda.ReadError", err)
			}
			if tt.wantLine && re.Line == 0 {
				t.Errorf("Convert() error = %q has no line, want one", err)
			}
		})
	}
}

func TestConvertRejectsHugeDocuments(t *testing.T) {
	data := make([]byte, 0, 65<<20)
	data = append(data, minimalDoc("<title>")...)
	data = append(data, bytes.Repeat([]byte("x"), 65<<20-len(data))...)
	_, err := ccda.Convert(data, ccda.Options{})
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Convert(65 MiB) error = %v, want a size error", err)
	}
}

func TestConvertReadsVendorEncodings(t *testing.T) {
	tests := []struct {
		name       string
		data       []byte
		wantFamily string
	}{
		{
			name:       "a byte order mark before the declaration is ignored",
			data:       append([]byte("\xef\xbb\xbf"), strings.Replace(minimalDoc(""), "<family>B</family>", "<family>Bom</family>", 1)...),
			wantFamily: "Bom",
		},
		{
			name:       "ISO-8859-1 letters decode to Unicode",
			data:       []byte(strings.Replace(strings.Replace(minimalDoc(""), "UTF-8", "ISO-8859-1", 1), "<family>B</family>", "<family>M\xfcller</family>", 1)),
			wantFamily: "Müller",
		},
		{
			name:       "windows-1252 quotes decode to Unicode",
			data:       []byte(strings.Replace(strings.Replace(minimalDoc(""), "UTF-8", "windows-1252", 1), "<family>B</family>", "<family>O\x92Neil</family>", 1)),
			wantFamily: "O’Neil",
		},
		{
			name:       "a document without the v3 namespace is read",
			data:       []byte(strings.Replace(minimalDoc(""), ` xmlns="urn:hl7-org:v3"`, "", 1)),
			wantFamily: "B",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ccda.Convert(tt.data, ccda.Options{})
			if err != nil {
				t.Fatalf("Convert() error = %v", err)
			}
			p := firstOfType(res.Bundle, "Patient")
			names := fhir.Array(p, "name")
			if len(names) == 0 {
				t.Fatalf("Convert() Patient has no name, want family %q", tt.wantFamily)
			}
			if got := fhir.String(names[0].(map[string]any), "family"); got != tt.wantFamily {
				t.Errorf("Convert() Patient.name.family = %q, want %q", got, tt.wantFamily)
			}
		})
	}
}

// firstOfType returns the first resource of a type in a Bundle, or nil.
func firstOfType(b fhir.Resource, typ string) map[string]any {
	for _, r := range resources(b) {
		if fhir.String(r, "resourceType") == typ {
			return r
		}
	}
	return nil
}

func TestConvertNeverLeaksValuesIntoIssues(t *testing.T) {
	doc := minimalDoc(`<component><structuredBody><component><section>
<code code="30954-2" codeSystem="2.16.840.1.113883.6.1"/>
<entry><observation classCode="OBS" moodCode="EVN"><code code="2345-7" codeSystem="2.16.840.1.113883.6.1"/>
<effectiveTime value="SECRET-DATE"/><value xsi:type="PQ" value="SECRET-VALUE" unit="mg"/></observation></entry>
</section></component></structuredBody></component>`)
	res, err := ccda.Convert([]byte(doc), ccda.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Issues) == 0 {
		t.Fatal("Convert() issues = none, want warnings about the bad date and value")
	}
	for _, is := range res.Issues {
		text := is.Diagnostics + strings.Join(is.Expression, " ")
		if strings.Contains(text, "SECRET") {
			t.Errorf("issue %q repeats a value from the document", text)
		}
	}
}

func TestConvertRejectsTooManyNodes(t *testing.T) {
	doc := minimalDoc("<title>" + strings.Repeat("a<!---->", 600_000) + "</title>")
	_, err := ccda.Convert([]byte(doc), ccda.Options{})
	if err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("Convert(600k text runs) error = %v, want a node-count error", err)
	}
}
