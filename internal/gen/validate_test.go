package gen_test

import (
	"strings"
	"testing"

	"omnichart/internal/fhir"
	"omnichart/internal/ingest/hl7v2"
)

// TestEveryResourceValidatesAndEveryMessageParses checks what FHIR sources send
// against the R4 model and what HL7 v2 sources send with the HL7 v2 parser and
// converter, with minimum counts so that an empty population cannot pass.
func TestEveryResourceValidatesAndEveryMessageParses(t *testing.T) {
	o := options(t, 120, 8, 9)
	o.Years, o.MovedShare, o.ConflictRate = 5, 0.3, 0.5
	p := mustGenerate(t, o)
	resources := map[string]int{}
	messages := map[string]int{}
	converted := map[string]int{}
	invalid := 0
	check := func(where string, res map[string]any) {
		if issues := fhir.R4().Validate(res); len(issues) > 0 {
			invalid++
			if invalid <= 10 {
				t.Errorf("%s: Validate(%s) = %v", where, fhir.String(res, "resourceType"), issues)
			}
		}
	}
	for _, name := range p.names {
		if !strings.HasPrefix(name, "sources/") {
			continue
		}
		data := p.files[name]
		if strings.HasSuffix(name, ".json") {
			b, err := fhir.Decode(data)
			if err != nil {
				t.Fatalf("decode %s: %v", name, err)
			}
			if fhir.String(b, "type") != "transaction" {
				t.Errorf("%s is a %q Bundle, want a transaction", name, fhir.String(b, "type"))
			}
			check(name, b)
			for _, e := range fhir.Array(b, "entry") {
				res := fhir.Object(e.(map[string]any), "resource")
				resources[fhir.String(res, "resourceType")]++
				check(name, res)
			}
			continue
		}
		for i, raw := range hl7v2.SplitMessages(data) {
			msg, err := hl7v2.Parse(raw)
			if err != nil {
				t.Errorf("%s message %d: Parse = %v", name, i+1, err)
				continue
			}
			if len(msg.Issues) > 0 {
				t.Errorf("%s message %d: Parse issues %v", name, i+1, msg.Issues)
			}
			messages[msg.Type()]++
			res, err := hl7v2.Convert(msg, hl7v2.Options{})
			if err != nil {
				t.Errorf("%s message %d: Convert = %v", name, i+1, err)
				continue
			}
			for _, is := range res.Issues {
				t.Errorf("%s message %d (%s): conversion issue %s %s", name, i+1, msg.Type(), is.Code, is.Diagnostics)
			}
			for _, e := range fhir.Array(res.Bundle, "entry") {
				r := fhir.Object(e.(map[string]any), "resource")
				converted[fhir.String(r, "resourceType")]++
				check(name+" converted", r)
			}
		}
	}
	for _, tt := range []struct {
		what string
		got  map[string]int
		key  string
		min  int
	}{
		{"FHIR resources", resources, "Patient", 50},
		{"FHIR resources", resources, "Practitioner", 50},
		{"FHIR resources", resources, "Encounter", 100},
		{"FHIR resources", resources, "Observation", 1000},
		{"FHIR resources", resources, "DiagnosticReport", 50},
		{"FHIR resources", resources, "Condition", 50},
		{"FHIR resources", resources, "AllergyIntolerance", 5},
		{"FHIR resources", resources, "MedicationRequest", 20},
		{"FHIR resources", resources, "MedicationStatement", 5},
		{"FHIR resources", resources, "MedicationDispense", 10},
		{"FHIR resources", resources, "Immunization", 30},
		{"FHIR resources", resources, "ServiceRequest", 5},
		{"FHIR resources", resources, "DocumentReference", 50},
		{"HL7 v2 messages", messages, "ADT^A04", 50},
		{"HL7 v2 messages", messages, "ADT^A08", 3},
		{"HL7 v2 messages", messages, "ORU^R01", 100},
		{"converted resources", converted, "Condition", 20},
		{"converted resources", converted, "AllergyIntolerance", 3},
		{"converted resources", converted, "Observation", 500},
	} {
		if tt.got[tt.key] < tt.min {
			t.Errorf("%s: %d %s, want at least %d", tt.what, tt.got[tt.key], tt.key, tt.min)
		}
	}
	t.Logf("FHIR resources %v; HL7 v2 messages %v", resources, messages)
}
