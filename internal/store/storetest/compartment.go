package storetest

import (
	"slices"
	"strings"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// compartmentFixture holds the cases where naming a patient and naming a
// compartment part ways: a Group with the id of a Patient, an Observation stored
// with one patient's record (its subject) that a second patient performed, and a
// Condition that one patient asserted about another. The store adds the
// compartment condition to searches that name one patient (see
// docs/scale-out.md); it must select no more and no fewer resources than the
// references do.
var compartmentFixture = []string{
	`{"resourceType":"Patient","id":"cp1"}`,
	`{"resourceType":"Patient","id":"cp2"}`,
	`{"resourceType":"Group","id":"cp1","type":"person","actual":true}`,
	`{"resourceType":"Observation","id":"co1","status":"final","code":{"text":"a"},"subject":{"reference":"Patient/cp1"},"effectiveDateTime":"2024-01-01"}`,
	`{"resourceType":"Observation","id":"co2","status":"final","code":{"text":"a"},"subject":{"reference":"Group/cp1"},"effectiveDateTime":"2024-01-02"}`,
	`{"resourceType":"Observation","id":"co3","status":"final","code":{"text":"a"},"subject":{"reference":"Patient/cp2"},
	  "performer":[{"reference":"Patient/cp1"}],"effectiveDateTime":"2024-01-03"}`,
	`{"resourceType":"Observation","id":"co4","status":"final","code":{"text":"a"},"subject":{"reference":"Patient/cp1"},
	  "performer":[{"reference":"Patient/cp1"}],"effectiveDateTime":"2024-01-04"}`,
	`{"resourceType":"Encounter","id":"ce1","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
	  "subject":{"reference":"Patient/cp1"}}`,
	`{"resourceType":"Encounter","id":"ce2","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
	  "subject":{"reference":"Group/cp1"}}`,
	`{"resourceType":"Condition","id":"cc1","subject":{"reference":"Patient/cp2"},"asserter":{"reference":"Patient/cp1"},"code":{"text":"b"}}`,
}

func testCompartmentSearch(t *testing.T, s ehr.ResourceStore) {
	for _, js := range compartmentFixture {
		res, err := fhir.Decode([]byte(js))
		if err != nil {
			t.Fatalf("fixture: %v", err)
		}
		if _, _, err := s.Update(ctx, res["resourceType"].(string), res["id"].(string), res, ehr.WriteOptions{}); err != nil {
			t.Fatalf("fixture %s/%s: %v", res["resourceType"], res["id"], err)
		}
	}
	tests := []struct {
		name        string
		compartment string // a compartment search when set
		typ, query  string
		want        string // ids in order when the query sorts, else any order
	}{
		{"a bare id through patient names the Patient, not the Group", "", "Observation", "patient=cp1", "co1,co4"},
		{"a bare id through patient, sorted", "", "Observation", "patient=cp1&_sort=-date", "co4,co1"},
		{"a bare id through subject names the Patient and the Group", "", "Observation", "subject=cp1", "co1,co2,co4"},
		{"a typed reference names the Patient only", "", "Observation", "subject=Patient/cp1", "co1,co4"},
		{"the :Patient modifier names the Patient only", "", "Observation", "subject:Patient=cp1", "co1,co4"},
		{"a bare id through Encounter's patient names the Patient", "", "Encounter", "patient=cp1", "ce1"},
		{"a bare id through Encounter's subject names both", "", "Encounter", "subject=cp1", "ce1,ce2"},
		{"a performer's compartment holds what another patient's record stores", "Patient/cp1", "Observation", "", "co1,co3,co4"},
		{"the subject's compartment holds it too", "Patient/cp2", "Observation", "", "co3"},
		{"a compartment search of Encounter finds the patient's only", "Patient/cp1", "Encounter", "", "ce1"},
		{"a compartment search of Encounter, sorted", "Patient/cp1", "Encounter", "_sort=-date", "ce1"},
		{"an asserter's compartment holds the condition", "Patient/cp1", "Condition", "", "cc1"},
		{"the subject's compartment holds the condition", "Patient/cp2", "Condition", "", "cc1"},
		{"a patient's own compartment holds the patient", "Patient/cp1", "Patient", "", "cp1"},
		{"a compartment search and a patient parameter naming another patient", "Patient/cp1", "Observation", "patient=cp2", "co3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := search.ParseString(tt.typ, tt.query)
			if err != nil {
				t.Fatal(err)
			}
			q.Strict = true
			q.Compartment = tt.compartment
			page, err := s.Search(ctx, q)
			if err != nil {
				t.Fatalf("Search(%s %s?%s): %v", tt.compartment, tt.typ, tt.query, err)
			}
			got := ids(page.Records)
			want := strings.Split(tt.want, ",")
			if len(q.Sort) == 0 {
				slices.Sort(got)
				slices.Sort(want)
			}
			if !slices.Equal(got, want) {
				t.Errorf("Search(%s %s?%s) = %v, want %v", tt.compartment, tt.typ, tt.query, got, want)
			}
		})
	}
}
