package synth_test

import (
	"reflect"
	"strings"
	"testing"

	"omnichart/internal/fhir"
	"omnichart/internal/synth"
)

func TestResourcesAreValidR4(t *testing.T) {
	g := synth.New(1)
	g.PerPatient = 200
	all := g.Shared()
	for i := range 20 {
		all = append(all, g.Patient(i)...)
	}
	ids := map[string]bool{}
	for _, res := range all {
		key := res["resourceType"].(string) + "/" + res["id"].(string)
		if ids[key] {
			t.Errorf("%s is generated twice", key)
		}
		ids[key] = true
		// Round-trip through JSON so that the validator sees what a store decodes.
		b, err := fhir.Marshal(res)
		if err != nil {
			t.Fatalf("encode %s: %v", key, err)
		}
		dec, err := fhir.Decode(b)
		if err != nil {
			t.Fatalf("decode %s: %v", key, err)
		}
		if issues := fhir.R4().Validate(dec); len(issues) > 0 {
			t.Errorf("%s is invalid: %v", key, issues)
		}
	}
	// Every reference points at a generated resource.
	for _, res := range all {
		walkReferences(res, func(ref string) {
			if !ids[ref] {
				t.Errorf("%s/%s refers to %s, which was not generated", res["resourceType"], res["id"], ref)
			}
		})
	}
}

func walkReferences(v any, fn func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "reference" && strings.Contains(s, "/") {
				fn(s)
				continue
			}
			walkReferences(e, fn)
		}
	case []any:
		for _, e := range x {
			walkReferences(e, fn)
		}
	}
}

func TestPatientsAreReproducible(t *testing.T) {
	a, b := synth.New(7), synth.New(7)
	b.Patient(3) // Order of generation must not matter.
	if !reflect.DeepEqual(a.Patient(5), b.Patient(5)) {
		t.Error("Patient(5) differs between two generators with the same seed")
	}
	if reflect.DeepEqual(synth.New(8).Patient(5), a.Patient(5)) {
		t.Error("Patient(5) is the same for seeds 7 and 8")
	}
	if !reflect.DeepEqual(a.Shared(), b.Shared()) {
		t.Error("Shared() differs between two generators with the same seed")
	}
}

func TestPerPatientSetsTheAverageSize(t *testing.T) {
	tests := []struct {
		name string
		per  int
	}{
		{"the default is about a thousand resources per patient", 1000},
		{"a small knob gives small patients", 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := synth.New(3)
			g.PerPatient = tt.per
			total := 0
			const n = 30
			for i := range n {
				total += len(g.Patient(i))
			}
			avg := float64(total) / n
			if avg < 0.75*float64(tt.per) || avg > 1.25*float64(tt.per) {
				t.Errorf("PerPatient=%d gives %.0f resources per patient on average", tt.per, avg)
			}
		})
	}
}
