package docview_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/docview"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGolden renders every synthetic document in testdata and compares it with
// its reviewed .golden.html: C-CDA documents (*.xml), HL7 v2 messages (*.hl7)
// and FHIR narrative divs (*.xhtml). go test -update rewrites the golden files.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, in := range files {
		ext := filepath.Ext(in)
		if ext != ".xml" && ext != ".hl7" && ext != ".xhtml" {
			continue
		}
		n++
		t.Run(filepath.Base(in), func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			switch ext {
			case ".xml":
				doc, err := docview.CCDA(data)
				if err != nil {
					t.Fatalf("CCDA(%s) = %v", in, err)
				}
				if err := docview.RenderCCDA(&out, doc); err != nil {
					t.Fatalf("RenderCCDA(%s) = %v", in, err)
				}
			case ".hl7":
				msg, err := docview.HL7v2(data)
				if err != nil {
					t.Fatalf("HL7v2(%s) = %v", in, err)
				}
				if err := docview.RenderHL7v2(&out, msg); err != nil {
					t.Fatalf("RenderHL7v2(%s) = %v", in, err)
				}
			case ".xhtml":
				out.WriteString(string(docview.Narrative(string(data))))
				out.WriteByte('\n')
			}
			mustBeSafe(t, in, out.String())
			golden := strings.TrimSuffix(in, ext) + ".golden.html"
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if diff := cmp.Diff(string(want), out.String()); diff != "" {
				t.Errorf("render %s differs from %s (-want +got):\n%s", in, golden, diff)
			}
		})
	}
	if n < 4 {
		t.Errorf("found %d golden cases in testdata, want at least 4", n)
	}
}
