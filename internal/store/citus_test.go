package store_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir/search"
	"omnichart/internal/store"
)

// TestCitusRunsChartQueriesOnOneShard checks, on a schema distributed on Citus,
// that the queries of one patient's chart (labs, encounters, conditions, a sorted
// page of observations, by reference, by the bare id of a parameter that only
// names Patients, or as a compartment search) and a read by id touch one shard:
// the coordinator's plan of every query they run shows "Task Count: 1". Searches
// that do not name one patient's compartment are the controls: they must fan out
// to every shard, or the plans prove nothing.
func TestCitusRunsChartQueriesOnOneShard(t *testing.T) {
	s := ehrtest.MustOpen(t, "citus", store.Options{})
	ctx := context.Background()
	const patients = 8 // over the test schema's 4 shards
	for p := range patients {
		pid := fmt.Sprintf("p%d", p)
		subject := map[string]any{"reference": "Patient/" + pid}
		resources := []map[string]any{
			{"resourceType": "Patient", "id": pid, "name": []any{map[string]any{"family": "Chart"}}},
			{"resourceType": "Encounter", "id": pid + "-enc", "status": "finished", "subject": subject,
				"class": map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}},
			{"resourceType": "Condition", "id": pid + "-cond", "subject": subject,
				"code": map[string]any{"coding": []any{map[string]any{"system": "http://snomed.info/sct", "code": "44054006"}}}},
		}
		for o := range 5 {
			resources = append(resources, map[string]any{"resourceType": "Observation", "id": fmt.Sprintf("%s-obs%d", pid, o),
				"status": "final", "subject": subject, "effectiveDateTime": fmt.Sprintf("2024-01-%02dT10:00:00Z", o+1),
				"category": []any{map[string]any{"coding": []any{map[string]any{
					"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}}}},
				"code": map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "2345-7"}}}})
		}
		err := s.Transaction(ctx, func(tx ehr.Tx) error {
			for _, res := range resources {
				if _, _, err := tx.Update(ctx, res["resourceType"].(string), res["id"].(string), res, ehr.WriteOptions{}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	parse := func(typ, query string) *search.Query {
		values, err := url.ParseQuery(query)
		if err != nil {
			t.Fatal(err)
		}
		q, err := search.Parse(typ, values)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	inCompartment := func(comp string, q *search.Query) *search.Query {
		q.Compartment = comp
		return q
	}
	taskCount := regexp.MustCompile(`Task Count: (\d+)`)
	chart := []struct {
		typ, query string
		// compartment makes the search a compartment search (Patient/p3/Encounter).
		compartment string
		readID      string
	}{
		{"Observation", "patient=Patient/p3&category=laboratory", "", "p3-obs2"},
		{"Encounter", "patient=Patient/p3", "", "p3-enc"},
		{"Condition", "subject=Patient/p3", "", "p3-cond"},
		{"Observation", "subject=Patient/p5&_sort=-date&_count=3", "", "p5-obs4"},
		{"Observation", "subject:Patient=p5&code=http://loinc.org|2345-7", "", "p5-obs0"},
		// A bare id through patient, which keeps only references that resolve to a
		// Patient, names the Patient.
		{"Observation", "patient=p3&_sort=-date", "", "p3-obs1"},
		{"Encounter", "patient=p5", "", "p5-enc"},
		{"Condition", "patient=p5&code=http://snomed.info/sct|44054006", "", "p5-cond"},
		// Compartment searches of types that only one parameter, deciding the
		// compartment, places in it.
		{"Encounter", "", "Patient/p3", "p3-enc"},
		{"Encounter", "status=finished&_sort=-date", "Patient/p5", "p5-enc"},
		{"Patient", "", "Patient/p5", "p5"},
	}
	checked := 0
	for _, c := range chart {
		plans, err := s.ChartPlans(ctx, inCompartment(c.compartment, parse(c.typ, c.query)), c.typ, c.readID)
		if err != nil {
			t.Fatalf("%s?%s: %v", c.typ, c.query, err)
		}
		for name, plan := range plans {
			counts := taskCount.FindAllStringSubmatch(plan, -1)
			if len(counts) == 0 {
				t.Errorf("%s?%s, %s: the plan names no task count, so it is not a distributed plan:\n%s", c.typ, c.query, name, plan)
			}
			for _, m := range counts {
				if m[1] != "1" {
					t.Errorf("%s?%s, %s: Task Count %s, want 1 (one shard):\n%s", c.typ, c.query, name, m[1], plan)
				}
			}
			checked++
		}
	}
	if checked != 4*len(chart) {
		t.Errorf("checked %d plans, want %d", checked, 4*len(chart))
	}

	// The controls: a search that names no patient, a bare id that may name a
	// Group as well as a Patient, and a compartment search of a type that a second
	// parameter (Observation's performer) can place in a patient's compartment
	// while it is stored with another patient's record.
	fanOut := []struct{ typ, query, compartment string }{
		{"Observation", "code=http://loinc.org|2345-7", ""},
		{"Observation", "subject=p1", ""},
		{"Observation", "", "Patient/p1"},
	}
	for _, c := range fanOut {
		plans, err := s.ChartPlans(ctx, inCompartment(c.compartment, parse(c.typ, c.query)), "Observation", "p1-obs1")
		if err != nil {
			t.Fatal(err)
		}
		if m := taskCount.FindStringSubmatch(plans["search page"]); m == nil || m[1] == "1" {
			t.Errorf("%s %s?%s runs as %v, want a fan-out to every shard:\n%s", c.compartment, c.typ, c.query, m, plans["search page"])
		}
	}
}
