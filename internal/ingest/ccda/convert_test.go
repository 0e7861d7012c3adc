package ccda_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/ehrtest"
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

// FuzzConvert feeds arbitrary bytes to Convert: it must never panic, and whatever it
// accepts must encode as JSON the same way twice.
func FuzzConvert(f *testing.F) {
	for _, name := range []string{"ccd_r21.xml", "progress_r11_latin1.xml", "unstructured_text.xml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(minimalDoc("")))
	f.Add([]byte(`<ClinicalDocument xmlns="urn:hl7-org:v3"><component><structuredBody/></component></ClinicalDocument>`))
	f.Add([]byte("<"))
	f.Fuzz(func(t *testing.T, data []byte) {
		first, err := ccda.Convert(data, ccda.Options{NewID: sequentialIDs(), Now: fixedNow})
		if err != nil {
			return
		}
		a, err := fhir.Marshal(first.Bundle)
		if err != nil {
			t.Fatalf("Marshal(Bundle) error = %v", err)
		}
		second, _ := ccda.Convert(data, ccda.Options{NewID: sequentialIDs(), Now: fixedNow})
		b, _ := fhir.Marshal(second.Bundle)
		if !bytes.Equal(a, b) {
			t.Fatalf("Convert() is not deterministic for the same input and IDs")
		}
		for _, r := range resources(first.Bundle) {
			if !fhir.R4().IsResourceType(fhir.String(r, "resourceType")) {
				t.Fatalf("Convert() made a resource of unknown type %q", fhir.String(r, "resourceType"))
			}
		}
	})
}

func BenchmarkConvert(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "ccd_r21.xml"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ccda.Convert(data, ccda.Options{NewID: sequentialIDs(), Now: fixedNow}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConvertLargeVendorDocument converts the largest shared sample (about
// 900 KB, 200 resources) when the shared test data is present.
func BenchmarkConvertLargeVendorDocument(b *testing.B) {
	path := filepath.Join(ehrtest.SharedTestdata(b, "ccda"), "chb-sample_ccdas", "Vitera", "Vitera_CCDA_SMART_Sample.xml")
	data, err := os.ReadFile(path)
	if err != nil {
		ehrtest.MissingTestdata(b, fmt.Sprintf("sample not present: %v", err))
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ccda.Convert(data, ccda.Options{NewID: sequentialIDs(), Now: fixedNow}); err != nil {
			b.Fatal(err)
		}
	}
}
