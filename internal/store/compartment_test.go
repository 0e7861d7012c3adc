package store_test

import (
	"testing"

	"omnichart/internal/store"
)

func TestCompartment(t *testing.T) {
	ref := func(r string) map[string]any { return map[string]any{"reference": r} }
	tests := []struct {
		name string
		typ  string
		res  map[string]any
		want string
	}{
		{"a Patient is its own compartment", "Patient", map[string]any{}, "Patient/x"},
		{"an Observation is in its subject's compartment", "Observation", map[string]any{"subject": ref("Patient/p1")}, "Patient/p1"},
		{"an Encounter is in its subject's compartment", "Encounter", map[string]any{"subject": ref("Patient/p1")}, "Patient/p1"},
		{"a Condition is in its subject's compartment, not its asserter's", "Condition",
			map[string]any{"subject": ref("Patient/p1"), "asserter": ref("Patient/p2")}, "Patient/p1"},
		{"a Procedure is in its subject's compartment", "Procedure", map[string]any{"subject": ref("Patient/p1")}, "Patient/p1"},
		{"a Provenance that targets a Patient is in its compartment", "Provenance",
			map[string]any{"target": []any{ref("Observation/o1"), ref("Patient/p1")}}, "Patient/p1"},
		{"a Provenance that targets only an Observation is outside every compartment", "Provenance",
			map[string]any{"target": []any{ref("Observation/o1")}}, "Provenance/x"},
		{"an Encounter with a Group subject is outside every compartment", "Encounter", map[string]any{"subject": ref("Group/g1")}, "Encounter/x"},
		{"a Practitioner is outside every compartment", "Practitioner", map[string]any{}, "Practitioner/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.res["resourceType"] = tt.typ
			if got := store.Compartment(tt.typ, "x", tt.res); got != tt.want {
				t.Errorf("Compartment(%s, x) = %q, want %q", tt.typ, got, tt.want)
			}
		})
	}
}
