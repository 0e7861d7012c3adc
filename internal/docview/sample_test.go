package docview_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"omnichart/internal/docview"
	"omnichart/internal/ehrtest"
	"omnichart/internal/ingest/hl7v2"
)

var (
	xmlComment   = regexp.MustCompile(`(?s)<!--.*?-->`)
	sectionStart = regexp.MustCompile(`<(?:[A-Za-z_][\w.-]*:)?section[\s/>]`)
	bodyStart    = regexp.MustCompile(`<(?:[A-Za-z_][\w.-]*:)?structuredBody[\s/>]`)
)

// countSections counts the section start tags after the structuredBody start
// tag with a plain text scan, apart from the package's XML reader.
func countSections(data []byte) int {
	data = xmlComment.ReplaceAll(data, nil)
	loc := bodyStart.FindIndex(data)
	if loc == nil {
		return 0
	}
	return len(sectionStart.FindAll(data[loc[0]:], -1))
}

// TestCCDASamples renders every vendor C-CDA document in ../shared/testdata/ccda:
// each must read without error, render, pass the safety walk and show at least
// as many sections as its structuredBody holds.
func TestCCDASamples(t *testing.T) {
	root := ehrtest.SharedTestdata(t, "ccda")
	n := 0
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".xml", ".ccd", ".ccda", ".txt":
		default:
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !bytes.Contains(data, []byte("<ClinicalDocument")) && !bytes.Contains(data, []byte(":ClinicalDocument")) {
			return nil // a fragment of the HL7 examples or a readme, not a document
		}
		rel, _ := filepath.Rel(root, p)
		n++
		t.Run(rel, func(t *testing.T) {
			doc, err := docview.CCDA(data)
			if err != nil {
				t.Fatalf("CCDA(%s) = %v", rel, err)
			}
			var b bytes.Buffer
			if err := docview.RenderCCDA(&b, doc); err != nil {
				t.Fatalf("RenderCCDA(%s) = %v", rel, err)
			}
			mustBeSafe(t, rel, b.String())
			if got, want := doc.NumSections(), countSections(data); got < want {
				t.Errorf("CCDA(%s) has %d sections, want at least %d", rel, got, want)
			}
			if got, want := strings.Count(b.String(), `<section class="dv-section"`), doc.NumSections(); doc.Body == nil && got != want {
				t.Errorf("RenderCCDA(%s) writes %d sections, want %d", rel, got, want)
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 150 {
		t.Errorf("found %d C-CDA documents under %s, want at least 150", n, root)
	}
}

// countSegmentLines counts the lines of one message that are segments, by a
// plain scan: three upper-case letters or digits, then the field separator or
// the end of the line; batch envelope segments are not part of the message.
func countSegmentLines(raw []byte) int {
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	fs := byte('|')
	if i := bytes.Index(raw, []byte("MSH")); i >= 0 && i+3 < len(raw) {
		fs = raw[i+3]
	}
	n := 0
	for _, line := range strings.FieldsFunc(string(raw), func(r rune) bool { return r == '\r' || r == '\n' }) {
		if len(line) < 3 || len(line) > 3 && line[3] != fs {
			continue
		}
		ok := true
		for _, c := range []byte(line[:3]) {
			if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				ok = false
			}
		}
		switch line[:3] {
		case "FHS", "BHS", "BTS", "FTS":
			ok = false
		}
		if ok {
			n++
		}
	}
	return n
}

// TestHL7v2Samples lays out every message of ../shared/testdata/hl7v2: each
// message the ingest tests expect to parse must lay out with one segment per
// segment line, render and pass the safety walk; each they expect not to parse
// must fail here too.
func TestHL7v2Samples(t *testing.T) {
	root := ehrtest.SharedTestdata(t, "hl7v2")
	exceptions := ehrtest.HL7v2Exceptions(t)
	n := 0
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := strings.ToLower(filepath.Ext(p)); ext != ".hl7" && ext != ".txt" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		for i, raw := range hl7v2.SplitMessages(data) {
			n++
			want, _ := ehrtest.HL7v2Expected(exceptions, rel, i+1, raw)
			t.Run(ehrtest.HL7v2Key(rel, i+1), func(t *testing.T) {
				msg, err := docview.HL7v2(raw)
				if want == ehrtest.HL7v2ParseError {
					if err == nil {
						t.Errorf("HL7v2(%s message %d) = nil error, want the parse error the ingest tests expect", rel, i+1)
					}
					return
				}
				if err != nil {
					t.Fatalf("HL7v2(%s message %d) = %v", rel, i+1, err)
				}
				if got, want := len(msg.Segments), countSegmentLines(raw); got != want {
					t.Errorf("HL7v2(%s message %d) has %d segments, want %d segment lines", rel, i+1, got, want)
				}
				var b bytes.Buffer
				if err := docview.RenderHL7v2(&b, msg); err != nil {
					t.Fatalf("RenderHL7v2(%s message %d) = %v", rel, i+1, err)
				}
				mustBeSafe(t, rel, b.String())
				if got := strings.Count(b.String(), `<section class="dv-segment"`); got != len(msg.Segments) {
					t.Errorf("RenderHL7v2(%s message %d) writes %d segments, want %d", rel, i+1, got, len(msg.Segments))
				}
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 400 {
		t.Errorf("found %d HL7 v2 messages under %s, want at least 400", n, root)
	}
}
