package docview_test

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/docview"
)

// TestCCDAModel checks the view model of the synthetic CCD against values read
// off the document by hand.
func TestCCDAModel(t *testing.T) {
	data, err := os.ReadFile("testdata/ccd_sections.xml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := docview.CCDA(data)
	if err != nil {
		t.Fatalf("CCDA() = %v", err)
	}
	if got, want := doc.Title, "Continuity of Care Document"; got != want {
		t.Errorf("Title = %q, want %q", got, want)
	}
	if got, want := doc.Type, (docview.Code{Code: "34133-9", System: "LOINC", Display: "Summarization of Episode Note"}); got != want {
		t.Errorf("Type = %+v, want %+v", got, want)
	}
	wantPatient := docview.Patient{Name: "Ada Q Example Jr", Sex: "Female", BirthDate: "1970-01-01",
		Identifiers: []docview.Identifier{{Value: "MRN-0001", System: "2.16.840.1.113883.19.5.99999.2"}}}
	if diff := cmp.Diff(wantPatient, doc.Patient); diff != "" {
		t.Errorf("Patient (-want +got):\n%s", diff)
	}
	wantAuthors := []docview.Author{{Time: "2024-03-15 14:30 -0500", Person: "Dr. Sam Sample", Organization: "Example Community Clinic"}}
	if diff := cmp.Diff(wantAuthors, doc.Authors); diff != "" {
		t.Errorf("Authors (-want +got):\n%s", diff)
	}
	if got, want := doc.Custodian, "Example Health Records"; got != want {
		t.Errorf("Custodian = %q, want %q", got, want)
	}
	type sec struct {
		Title, Code, Anchor string
		Level               int
	}
	var got []sec
	var walk func([]*docview.Section)
	walk = func(ss []*docview.Section) {
		for _, s := range ss {
			got = append(got, sec{s.Title, s.Code.Code, s.Anchor, s.Level})
			walk(s.Sections)
		}
	}
	walk(doc.Sections)
	want := []sec{
		{"Allergies", "48765-2", "dv-s1", 3},
		{"Medications", "10160-0", "dv-s2", 3},
		{"Problems", "11450-4", "dv-s3", 3},
		{"Health Concerns", "75310-3", "dv-s3-1", 4},
		{"History of Procedures", "47519-4", "dv-s4", 3}, // untitled: named by its code
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sections (-want +got):\n%s", diff)
	}
	if got := doc.NumSections(); got != 5 {
		t.Errorf("NumSections() = %d, want 5", got)
	}
	if doc.Sections[3].Text != "" {
		t.Errorf("empty section Text = %q, want none", doc.Sections[3].Text)
	}
}

// TestCCDADates checks that dates keep the precision they were sent with.
func TestCCDADates(t *testing.T) {
	tests := []struct{ name, value, want string }{
		{"a year stays a year", "2020", "2020"},
		{"a month stays a month", "202003", "2020-03"},
		{"a day stays a day", "20200301", "2020-03-01"},
		{"minutes keep their zone", "202003011020-0500", "2020-03-01 10:20 -0500"},
		{"seconds drop fractions", "20200301102030.1234+0100", "2020-03-01 10:20:30 +0100"},
		{"a value that is no date is shown as sent", "March 2020", "March 2020"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := docview.CCDA([]byte(`<ClinicalDocument xmlns="urn:hl7-org:v3"><effectiveTime value="` + tt.value + `"/></ClinicalDocument>`))
			if err != nil {
				t.Fatalf("CCDA() = %v", err)
			}
			if doc.Date != tt.want {
				t.Errorf("CCDA(effectiveTime %q).Date = %q, want %q", tt.value, doc.Date, tt.want)
			}
		})
	}
}

// TestCCDAErrors checks that a document that cannot be read is an error that
// says on which line, and never quotes the document.
func TestCCDAErrors(t *testing.T) {
	tests := []struct {
		name     string
		doc      string
		wantLine int
	}{
		{"an unclosed element is reported on the line where it breaks", "<ClinicalDocument xmlns=\"urn:hl7-org:v3\">\n<title>SECRET\n</ClinicalDocument>", 3},
		{"a truncated document is reported", "<ClinicalDocument xmlns=\"urn:hl7-org:v3\">\n<component>\n<structuredBody>", 3},
		{"an undefined entity is reported", "<ClinicalDocument xmlns=\"urn:hl7-org:v3\">\n\n<title>SECRET&nbsp;</title></ClinicalDocument>", 3},
		{"an entity declaration is refused", "<?xml version=\"1.0\"?>\n<!DOCTYPE d [<!ENTITY a \"SECRET\">]>\n<ClinicalDocument xmlns=\"urn:hl7-org:v3\">&a;</ClinicalDocument>", 2},
		{"another root element is refused", "\n<html><body>SECRET</body></html>", 2},
		{"an empty document is refused", "  \n", 0},
		{"text that is not XML is refused", "SECRET", 1},
		{"an unknown encoding is refused", "<?xml version=\"1.0\" encoding=\"x-SECRET\"?>\n<ClinicalDocument xmlns=\"urn:hl7-org:v3\"/>", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := docview.CCDA([]byte(tt.doc))
			var pe *docview.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("CCDA(%q) = %v, want a *ParseError", tt.doc, err)
			}
			if pe.Line != tt.wantLine {
				t.Errorf("CCDA(%q) error line = %d, want %d (%v)", tt.doc, pe.Line, tt.wantLine, err)
			}
			if strings.Contains(err.Error(), "SECRET") && !strings.Contains(tt.doc, "x-SECRET") {
				t.Errorf("CCDA(%q) error %q quotes the document", tt.doc, err)
			}
		})
	}
}

// TestCCDABody checks what is shown of a document sent as one attachment.
func TestCCDABody(t *testing.T) {
	doc := func(text string) string {
		return `<ClinicalDocument xmlns="urn:hl7-org:v3"><component><nonXMLBody>` + text + `</nonXMLBody></component></ClinicalDocument>`
	}
	tests := []struct {
		name, doc string
		want      docview.Body
	}{
		{"plain text is shown", doc(`<text mediaType="text/plain">Seen today.</text>`), docview.Body{MediaType: "text/plain", Text: "Seen today."}},
		{"plain text in base64 is decoded", doc(`<text mediaType="text/plain" representation="B64">U2VlbiB0b2RheS4=</text>`), docview.Body{MediaType: "text/plain", Text: "Seen today."}},
		{"bad base64 is not shown", doc(`<text mediaType="text/plain" representation="B64">!!!</text>`), docview.Body{MediaType: "text/plain"}},
		{"a PDF is only named", doc(`<text mediaType="application/pdf" representation="B64">JVBERi0=</text>`), docview.Body{MediaType: "application/pdf"}},
		{"a reference is only named", doc(`<text mediaType="text/plain"><reference value="note.txt"/></text>`), docview.Body{MediaType: "text/plain"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := docview.CCDA([]byte(tt.doc))
			if err != nil {
				t.Fatalf("CCDA() = %v", err)
			}
			if d.Body == nil || *d.Body != tt.want {
				t.Errorf("CCDA(%q).Body = %+v, want %+v", tt.doc, d.Body, tt.want)
			}
		})
	}
}

// TestSetID checks that two documents rendered with different ids share no id.
func TestSetID(t *testing.T) {
	data, err := os.ReadFile("testdata/ccd_sections.xml")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	idAttr := regexp.MustCompile(`\sid="([^"]*)"`)
	for _, id := range []string{"doc1", "doc2"} {
		doc, err := docview.CCDA(data)
		if err != nil {
			t.Fatalf("CCDA() = %v", err)
		}
		doc.SetID(id)
		out, err := doc.HTML()
		if err != nil {
			t.Fatalf("HTML() = %v", err)
		}
		for _, m := range idAttr.FindAllStringSubmatch(string(out), -1) {
			if ids[m[1]] {
				t.Errorf("id %q appears twice on the page", m[1])
			}
			if !strings.HasPrefix(m[1], id+"-") {
				t.Errorf("id %q of document %s lacks its prefix", m[1], id)
			}
			ids[m[1]] = true
		}
	}
	if len(ids) != 12 {
		t.Errorf("two documents have %d ids, want 12 (title and 5 sections each)", len(ids))
	}
}
