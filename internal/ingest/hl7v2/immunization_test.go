package hl7v2_test

import (
	"fmt"
	"os"
	"slices"
	"testing"

	"omnichart/internal/fhir"
	"omnichart/internal/ingest/hl7v2"
)

// TestVXUWithTwoImmunizationsAndAnUnreadableVISConverts: the second RXA group's VIS
// OBX carry an explicit null and an unreadable date, so its education items get no
// content. They are left out with a warning; the message still converts to a valid
// Bundle with both Immunizations, instead of being refused as a whole.
func TestVXUWithTwoImmunizationsAndAnUnreadableVISConverts(t *testing.T) {
	data, err := os.ReadFile("testdata/vxu_v04_two_doses.hl7")
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
	if issues := fhir.R4().Validate(res.Bundle); len(issues) > 0 {
		t.Errorf("Validate(converted Bundle) = %v, want no issues", issues)
	}
	imms := resources(res, "Immunization")
	if len(imms) != 2 {
		t.Fatalf("Convert made %d Immunizations, want 2", len(imms))
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"the first dose keeps its VIS", get(imms[0], "education", 0, "documentType"), "107"},
		{"the first dose keeps its VIS presentation date", get(imms[0], "education", 0, "presentationDate"), "2021-08-01"},
		{"the second dose has no education element", get(imms[1], "education"), nil},
		{"the second dose keeps its funding eligibility", get(imms[1], "programEligibility", 0, "coding", 0, "code"), "V02"},
		{"the second dose's time keeps its minutes and zone", get(imms[1], "occurrenceDateTime"), "2021-08-18T11:26:00+02:15"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
	var pruned []string
	for _, is := range res.Issues {
		if is.Severity == "warning" && len(is.Expression) == 1 {
			pruned = append(pruned, is.Expression[0])
		}
	}
	second := -1
	for i, e := range entries(res) {
		if fhir.Object(e, "resource")["resourceType"] == "Immunization" {
			second = i // the last one is the second dose
		}
	}
	want := fmt.Sprintf("Bundle.entry[%d].resource.education", second)
	if !slices.Contains(pruned, want) {
		t.Errorf("Convert issues name %v, want a warning about %s", pruned, want)
	}
}
