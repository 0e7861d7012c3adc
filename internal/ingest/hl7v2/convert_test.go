package hl7v2_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir"
	"omnichart/internal/ingest/hl7v2"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// MustConvert parses and converts one sample file (its first message).
func MustConvert(tb testing.TB, file string) hl7v2.Result {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(ehrtest.SharedTestdata(tb, "hl7v2"), file))
	if err != nil {
		tb.Fatal(err)
	}
	msgs := hl7v2.SplitMessages(data)
	if len(msgs) == 0 {
		tb.Fatalf("SplitMessages(%s) found no message", file)
	}
	msg, err := hl7v2.Parse(msgs[0])
	if err != nil {
		tb.Fatalf("Parse(%s) = %v", file, err)
	}
	res, err := hl7v2.Convert(msg, MustIDs(tb))
	if err != nil {
		tb.Fatalf("Convert(%s) = %v", file, err)
	}
	return res
}

func resources(res hl7v2.Result, typ string) []map[string]any {
	var out []map[string]any
	for _, e := range fhir.Array(res.Bundle, "entry") {
		r := fhir.Object(e.(map[string]any), "resource")
		if r["resourceType"] == typ {
			out = append(out, r)
		}
	}
	return out
}

func entries(res hl7v2.Result) []map[string]any {
	var out []map[string]any
	for _, e := range fhir.Array(res.Bundle, "entry") {
		out = append(out, e.(map[string]any))
	}
	return out
}

func entryOf(res hl7v2.Result, typ string) map[string]any {
	for _, e := range entries(res) {
		if fhir.Object(e, "resource")["resourceType"] == typ {
			return e
		}
	}
	return nil
}

// get walks a path of keys and array indexes through a tree.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	if n, ok := v.(json.Number); ok {
		return string(n)
	}
	return v
}

func TestConvertKeyValues(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		counts map[string]int
		check  func(t *testing.T, res hl7v2.Result)
	}{
		{
			name:   "an ORU CBC gives a report whose first result has the LOINC code, value, UCUM unit and reference range of the sample",
			file:   "ms-fhir-converter/LRI_2.0-NG_CBC_Typ_Message.hl7",
			counts: map[string]int{"Patient": 1, "DiagnosticReport": 1, "ServiceRequest": 1},
			check: func(t *testing.T, res hl7v2.Result) {
				o := resources(res, "Observation")[0]
				want := map[string]any{
					"code": "26453-1", "system": "http://loinc.org", "value": "4.41", "unit": "million per microliter",
					"ucum": "10*6/uL", "low": "4.3", "high": "6.2", "interp": "N", "status": "final",
				}
				got := map[string]any{
					"code": get(o, "code", "coding", 0, "code"), "system": get(o, "code", "coding", 0, "system"),
					"value": get(o, "valueQuantity", "value"), "unit": get(o, "valueQuantity", "unit"),
					"ucum": get(o, "valueQuantity", "code"), "low": get(o, "referenceRange", 0, "low", "value"),
					"high": get(o, "referenceRange", 0, "high", "value"), "interp": get(o, "interpretation", 0, "coding", 0, "code"),
					"status": get(o, "status"),
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("first Observation (-want +got):\n%s", d)
				}
				dr := resources(res, "DiagnosticReport")[0]
				if n, m := len(fhir.Array(dr, "result")), len(resources(res, "Observation")); n != m {
					t.Errorf("DiagnosticReport.result has %d references, want %d (one per Observation)", n, m)
				}
			},
		},
		{
			name:   "a VXU gives an Immunization with the CVX code, lot, manufacturer and completed status",
			file:   "cdcgov-iis-open-tools/Adult z22 New Covid vaccine.hl7",
			counts: map[string]int{"Patient": 1, "Immunization": 1},
			check: func(t *testing.T, res hl7v2.Result) {
				im := resources(res, "Immunization")[0]
				var cvx string
				for _, c := range fhir.Array(fhir.Object(im, "vaccineCode"), "coding") {
					if get(c, "system") == "http://hl7.org/fhir/sid/cvx" {
						cvx, _ = get(c, "code").(string)
					}
				}
				if cvx == "" {
					t.Errorf("Immunization.vaccineCode = %v, want a CVX coding", im["vaccineCode"])
				}
				if got := get(im, "status"); got != "completed" {
					t.Errorf("Immunization.status = %v, want completed", got)
				}
				if im["lotNumber"] == nil || im["manufacturer"] == nil {
					t.Errorf("Immunization lotNumber = %v, manufacturer = %v, want both set", im["lotNumber"], im["manufacturer"])
				}
			},
		},
		{
			name:   "an ADT A40 links the surviving patient to the merged one and back",
			file:   "ms-fhir-converter/ADT-A40-01.hl7",
			counts: map[string]int{"Patient": 2},
			check: func(t *testing.T, res hl7v2.Result) {
				es := entries(res)
				surv, old := es[0], es[1]
				if got, want := get(surv, "resource", "link", 0, "type"), "replaces"; got != want {
					t.Errorf("surviving Patient link type = %v, want %v", got, want)
				}
				if got, want := get(surv, "resource", "link", 0, "other", "reference"), old["fullUrl"]; got != want {
					t.Errorf("surviving Patient link = %v, want %v", got, want)
				}
				if got, want := get(old, "resource", "link", 0, "type"), "replaced-by"; got != want {
					t.Errorf("merged Patient link type = %v, want %v", got, want)
				}
				if got, want := get(old, "resource", "identifier", 0, "value"), "56789"; got != want {
					t.Errorf("merged Patient identifier = %v, want %v (MRG-1)", got, want)
				}
				if got, want := get(surv, "request", "method"), "PUT"; got != want {
					t.Errorf("surviving Patient request method = %v, want %v", got, want)
				}
			},
		},
		{
			name:   "an ADT A01 gives a Patient created conditionally on its identifier and an in-progress Encounter",
			file:   "ms-fhir-converter/ADT-A01-01.hl7",
			counts: map[string]int{"Patient": 1, "Encounter": 1},
			check: func(t *testing.T, res hl7v2.Result) {
				p := entryOf(res, "Patient")
				if q, _ := get(p, "request", "ifNoneExist").(string); !strings.HasPrefix(q, "identifier=") {
					t.Errorf("Patient request.ifNoneExist = %q, want identifier=system|value", q)
				}
				if got := get(resources(res, "Encounter")[0], "status"); got != "in-progress" {
					t.Errorf("Encounter.status = %v, want in-progress", got)
				}
			},
		},
		{
			name:   "an ADT A08 updates the Patient conditionally",
			file:   "ms-fhir-converter/ADT-A08-01.hl7",
			counts: map[string]int{"Patient": 1},
			check: func(t *testing.T, res hl7v2.Result) {
				p := entryOf(res, "Patient")
				if got := get(p, "request", "method"); got != "PUT" {
					t.Errorf("Patient request.method = %v, want PUT", got)
				}
				if u, _ := get(p, "request", "url").(string); !strings.HasPrefix(u, "Patient?identifier=") {
					t.Errorf("Patient request.url = %q, want Patient?identifier=...", u)
				}
			},
		},
		{
			name:   "an MDM T02 gives a DocumentReference with the OBX text as an attachment",
			file:   "ms-fhir-converter/MDM-T02-01.hl7",
			counts: map[string]int{"DocumentReference": 1},
			check: func(t *testing.T, res hl7v2.Result) {
				d := resources(res, "DocumentReference")[0]
				if get(d, "content", 0, "attachment", "data") == nil {
					t.Errorf("DocumentReference.content[0].attachment.data is empty, want the OBX text")
				}
			},
		},
		{
			name:   "a REF I12 gives a ServiceRequest with a requester from PRD",
			file:   "ms-fhir-converter/REF-I12-01.hl7",
			counts: map[string]int{"ServiceRequest": 1},
			check: func(t *testing.T, res hl7v2.Result) {
				sr := resources(res, "ServiceRequest")[0]
				if sr["requester"] == nil && sr["performer"] == nil {
					t.Errorf("ServiceRequest has neither requester nor performer, want them from PRD")
				}
			},
		},
		{
			name:   "an SIU S12 gives a booked Appointment with participants",
			file:   "ms-fhir-converter/SIU-S12-01.hl7",
			counts: map[string]int{"Appointment": 1},
			check: func(t *testing.T, res hl7v2.Result) {
				a := resources(res, "Appointment")[0]
				if len(fhir.Array(a, "participant")) == 0 {
					t.Errorf("Appointment.participant is empty, want the patient and resources")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := MustConvert(t, tt.file)
			for typ, want := range tt.counts {
				if got := len(resources(res, typ)); got != want {
					t.Errorf("Convert(%s) gave %d %s, want %d", tt.file, got, typ, want)
				}
			}
			for _, e := range entries(res) {
				if u, _ := e["fullUrl"].(string); !strings.HasPrefix(u, "urn:uuid:") {
					t.Errorf("entry fullUrl = %q, want urn:uuid:...", u)
				}
				if _, ok := fhir.Object(e, "resource")["id"]; ok {
					t.Errorf("entry resource has an id, want none in a transaction create")
				}
			}
			tt.check(t, res)
		})
	}
}

func TestConvertErrors(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want error
		ack  string
	}{
		{"an unknown message type is refused as unsupported", "MSH|^~\\&|A|B|C|D|20240101||ZZZ^Z01|1|P|2.5\rPID|1||1^^^X^MR", hl7v2.ErrUnsupportedType, "AR"},
		{"an ORU without OBR is missing a required segment", "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5\rPID|1||1^^^X^MR", hl7v2.ErrMissingSegment, "AE"},
		{"an ADT A01 without PID is missing a required segment", "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\rPV1|1|I", hl7v2.ErrMissingSegment, "AE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := hl7v2.Parse([]byte(tt.msg))
			if err != nil {
				t.Fatalf("Parse = %v", err)
			}
			_, err = hl7v2.Convert(msg, MustIDs(t))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Convert = %v, want %v", err, tt.want)
			}
			ack := string(hl7v2.NewACK([]byte(tt.msg), msg, err, MustIDs(t)))
			if !strings.Contains(ack, "\rMSA|"+tt.ack+"|1") {
				t.Errorf("NewACK = %q, want MSA|%s|1", ack, tt.ack)
			}
		})
	}
}

func TestGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/*.hl7")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases in testdata: %v", err)
	}
	for _, in := range cases {
		name := strings.TrimSuffix(filepath.Base(in), ".hl7")
		t.Run(name+" converts to its golden bundle", func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			msg, err := hl7v2.Parse(data)
			if err != nil {
				t.Fatalf("Parse = %v", err)
			}
			res, err := hl7v2.Convert(msg, MustIDs(t))
			if err != nil {
				t.Fatalf("Convert = %v", err)
			}
			got, err := fhir.MarshalIndent(map[string]any{"bundle": res.Bundle, "issues": issuesJSON(res.Issues)})
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(in, ".hl7") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if d := cmp.Diff(string(bytes.TrimSpace(want)), string(got)); d != "" {
				t.Errorf("Convert(%s) differs from %s (-want +got):\n%s", in, golden, d)
			}
		})
	}
}

func issuesJSON(is []fhir.Issue) []any {
	out := []any{}
	for _, i := range is {
		out = append(out, map[string]any{"severity": i.Severity, "code": i.Code, "diagnostics": i.Diagnostics})
	}
	return out
}

func BenchmarkParseConvert(b *testing.B) {
	dir := ehrtest.SharedTestdata(b, "hl7v2")
	for _, f := range []string{"ms-fhir-converter/LRI_2.0-NG_CBC_Typ_Message.hl7", "ms-fhir-converter/ADT-A01-01.hl7", "ms-fhir-converter/VXU-V04-01.hl7"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(filepath.Base(f), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				msg, err := hl7v2.Parse(data)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := hl7v2.Convert(msg, hl7v2.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
