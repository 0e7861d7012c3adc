package ccda_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/fhir"
	"omnichart/internal/ingest/ccda"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden is what a golden file holds: the Bundle and the issues of one conversion.
type golden struct {
	DocumentType string        `json:"documentType"`
	DocumentID   string        `json:"documentID"`
	Bundle       fhir.Resource `json:"bundle"`
	Issues       []fhir.Issue  `json:"issues"`
}

func TestConvertGolden(t *testing.T) {
	tests := []struct {
		name string
		file string
	}{
		{"an R2.1 CCD with every common section converts as recorded", "ccd_r21.xml"},
		{"an R1.1 progress note in ISO-8859-1 with local times and null values converts as recorded", "progress_r11_latin1.xml"},
		{"an unstructured document becomes a DocumentReference as recorded", "unstructured_text.xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := filepath.Join("testdata", tt.file)
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			res, err := ccda.Convert(data, ccda.Options{NewID: sequentialIDs(), Now: fixedNow})
			if err != nil {
				t.Fatalf("Convert(%s) error = %v", tt.file, err)
			}
			for _, r := range resources(res.Bundle) {
				for _, is := range fhir.R4().Validate(r) {
					t.Errorf("Convert(%s): %s %v: %s", tt.file, fhir.String(r, "resourceType"), is.Expression, is.Diagnostics)
				}
			}
			got, err := fhir.MarshalIndent(golden{res.DocumentType, res.DocumentID, res.Bundle, res.Issues})
			if err != nil {
				t.Fatal(err)
			}
			out := strings.TrimSuffix(in, filepath.Ext(in)) + ".golden.json"
			if *update {
				if err := os.WriteFile(out, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("read golden file: %v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(canonical(t, want), canonical(t, got)); diff != "" {
				t.Errorf("Convert(%s) differs from %s (-want +got):\n%s", tt.file, out, diff)
			}
		})
	}
}

// canonical decodes JSON so that comparisons ignore key order and spacing.
func canonical(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode JSON: %v", err)
	}
	return v
}
