package integrate_test

import (
	"fmt"
	"strings"
	"testing"

	"omnichart/internal/fhir"
	"omnichart/internal/gen"
	"omnichart/internal/integrate"
)

// conflictElement is the element the rules must name for each kind of conflict
// the generator plants.
var conflictElement = map[string]string{
	"allergy-status":    "AllergyIntolerance.clinicalStatus",
	"medication-status": ".status",
	"lab-value":         "Observation.value",
}

// TestPlantedDuplicatesAndConflictsOfAGeneratedPopulation integrates the records
// of each fact the generator's truth file says several FHIR sources sent: a
// duplicate must become one fact with no disagreement, a conflict must keep its
// records apart and be reported on the element the truth names. The oracle is the
// truth file, not the rules.
func TestPlantedDuplicatesAndConflictsOfAGeneratedPopulation(t *testing.T) {
	o, err := gen.Preset("medium")
	if err != nil {
		t.Fatal(err)
	}
	o.People, o.Sources, o.Seed, o.Years = 400, 10, 7, 3
	o.ConflictRate = 1
	files := map[string][]byte{}
	res, err := gen.Generate(o, func(name string, data []byte) error { files[name] = data; return nil })
	if err != nil {
		t.Fatal(err)
	}
	bundles := map[string]fhir.Resource{}
	find := func(ref gen.FactRef) (integrate.Record, bool) {
		name := "sources/" + ref.Source + "/" + ref.MRN + ".json"
		b, ok := bundles[name]
		if !ok {
			data, exists := files[name]
			if !exists || ref.Identifier == nil {
				return integrate.Record{}, false // an HL7 v2 source: no FHIR record to compare
			}
			if b, err = fhir.Decode(data); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			bundles[name] = b
		}
		for i, e := range fhir.Array(b, "entry") {
			r := fhir.Object(e.(map[string]any), "resource")
			if fhir.String(r, "resourceType") != ref.ResourceType {
				continue
			}
			for _, id := range fhir.Array(r, "identifier") {
				m := id.(map[string]any)
				if m["system"] == ref.Identifier.System && m["value"] == ref.Identifier.Value {
					return integrate.Record{Ref: fmt.Sprintf("%s/%s-%d", ref.ResourceType, ref.MRN, i), Source: ref.Source, Resource: r}, true
				}
			}
		}
		t.Fatalf("%s has no %s %v", name, ref.ResourceType, ref.Identifier)
		return integrate.Record{}, false
	}
	records := func(g gen.FactGroup) ([]integrate.Record, bool) {
		var out []integrate.Record
		for _, ref := range g.Records {
			r, ok := find(ref)
			if !ok {
				return nil, false
			}
			out = append(out, r)
		}
		return out, true
	}
	duplicates := map[string]int{}
	for _, g := range res.Truth.Duplicates {
		recs, ok := records(g)
		if !ok {
			continue
		}
		duplicates[g.Kind]++
		got := integrate.Integrate(recs)
		if len(got.Facts) != 1 || len(got.Conflicts) != 0 {
			t.Errorf("duplicate %s %q of %s at %d sources: %d facts, %d disagreements, want one fact", g.Kind, g.Display, g.Person, len(recs), len(got.Facts), len(got.Conflicts))
		}
	}
	conflicts := map[string]int{}
	for _, g := range res.Truth.Conflicts {
		recs, ok := records(g)
		if !ok {
			continue
		}
		conflicts[g.Conflict]++
		got := integrate.Integrate(recs)
		found := false
		for _, c := range got.Conflicts {
			found = found || strings.HasSuffix(c.Element, conflictElement[g.Conflict])
		}
		if !found || len(got.Facts) < 2 {
			t.Errorf("conflict %s %q of %s: %d facts, disagreements %v, want the records apart and %s reported", g.Conflict, g.Display, g.Person, len(got.Facts), got.Conflicts, conflictElement[g.Conflict])
		}
	}
	t.Logf("duplicates compared by kind %v, conflicts by kind %v", duplicates, conflicts)
	total := 0
	for _, n := range duplicates {
		total += n
	}
	if total < 30 || len(duplicates) < 3 {
		t.Errorf("only %d duplicates of %d kinds were compared; the population is too small to test the rules", total, len(duplicates))
	}
	// The generator's laboratories send HL7 v2 only, so its lab results have no
	// FHIR record to compare here; the table tests cover lab values.
	for _, kind := range []string{"allergy-status", "medication-status"} {
		if conflicts[kind] < 2 {
			t.Errorf("only %d %s conflicts were compared", conflicts[kind], kind)
		}
	}
}
