package gen_test

import (
	"fmt"
	"strings"
	"testing"

	"omnichart/internal/fhir"
	"omnichart/internal/gen"
	"omnichart/internal/ingest/hl7v2"
)

// codes returns "system|code" of every coding of a CodeableConcept.
func codes(cc map[string]any) []string {
	var out []string
	for _, c := range fhir.Array(cc, "coding") {
		m := c.(map[string]any)
		out = append(out, fhir.String(m, "system")+"|"+fhir.String(m, "code"))
	}
	return out
}

var codeElement = map[string]string{
	"Condition": "code", "AllergyIntolerance": "code", "Observation": "code", "Immunization": "vaccineCode",
	"MedicationRequest": "medicationCodeableConcept", "MedicationStatement": "medicationCodeableConcept",
}

// findFHIR returns what a FHIR source's record says: its codes, status and value.
// decoded caches the Bundles by file name.
func findFHIR(p *population, decoded map[string]fhir.Resource, ref gen.FactRef) (found bool, cs []string, status, value string) {
	name := "sources/" + ref.Source + "/" + ref.MRN + ".json"
	b, ok := decoded[name]
	if !ok {
		var err error
		if b, err = fhir.Decode(p.files[name]); err != nil {
			return false, nil, "", ""
		}
		decoded[name] = b
	}
	for _, e := range fhir.Array(b, "entry") {
		res := fhir.Object(e.(map[string]any), "resource")
		if fhir.String(res, "resourceType") != ref.ResourceType {
			continue
		}
		for _, id := range fhir.Array(res, "identifier") {
			m := id.(map[string]any)
			if m["system"] != ref.Identifier.System || m["value"] != ref.Identifier.Value {
				continue
			}
			status = fhir.String(res, "status")
			if cs := fhir.Object(res, "clinicalStatus"); cs != nil {
				status = fhir.String(fhir.Array(cs, "coding")[0].(map[string]any), "code")
			}
			if q := fhir.Object(res, "valueQuantity"); q != nil {
				value = fmt.Sprint(q["value"]) + " " + fhir.String(q, "unit")
			}
			return true, codes(fhir.Object(res, codeElement[ref.ResourceType])), status, value
		}
	}
	return false, nil, "", ""
}

// findHL7 returns what an HL7 v2 source's record says: the code and value of an
// OBX (found by filler order number and OBX-1), a DG1 (by DG1-20) or an AL1 (by
// its code).
func findHL7(t *testing.T, p *population, ref gen.FactRef) (found bool, value string) {
	for _, raw := range hl7v2.SplitMessages(p.files["sources/"+ref.Source+"/"+ref.MRN+".hl7"]) {
		msg, err := hl7v2.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		switch ref.ResourceType {
		case "Observation":
			seq := lastPart(ref.Identifier.Value)
			obr := msg.Segment("OBR")
			if obr == nil || obr.Field(3).Comp(1)+"-"+seq != ref.Identifier.Value {
				continue
			}
			for _, obx := range msg.Segments("OBX") {
				if obx.Field(1).String() == seq && "http://loinc.org|"+obx.Field(3).Comp(1) == ref.Code {
					return true, obx.Field(5).String() + " " + obx.Field(6).Comp(1)
				}
			}
		case "Condition":
			for _, dg := range msg.Segments("DG1") {
				if dg.Field(20).Comp(1) == ref.Identifier.Value && strings.HasSuffix(ref.Code, "|"+dg.Field(3).Comp(1)) {
					return true, ""
				}
			}
		case "AllergyIntolerance":
			for _, al := range msg.Segments("AL1") {
				if strings.HasSuffix(ref.Code, "|"+al.Field(3).Comp(1)) {
					return true, ""
				}
			}
		}
	}
	return false, ""
}

func lastPart(s string) string { return s[strings.LastIndex(s, "-")+1:] }

// TestDuplicatesAndConflictsPointAtWrittenRecords finds every record the truth
// names for a shared fact in the files, and checks that duplicates agree and
// conflicts do not.
func TestDuplicatesAndConflictsPointAtWrittenRecords(t *testing.T) {
	o := options(t, 250, 4, 17)
	o.MultiSourceShare, o.DuplicateFactRate, o.ConflictRate = 0.8, 1, 1
	p := mustGenerate(t, o)
	srcs := map[string]*gen.Source{}
	for _, s := range p.res.Sources {
		srcs[s.Slug] = s
	}
	kinds := map[string]int{}
	decoded := map[string]fhir.Resource{}
	check := func(g gen.FactGroup) {
		statuses, values := map[string]bool{}, map[string]bool{}
		sources := map[string]bool{}
		for _, ref := range g.Records {
			sources[ref.Source] = true
			var found bool
			var value, status string
			if srcs[ref.Source].Interfaces[0] == gen.InterfaceFHIR {
				var cs []string
				found, cs, status, value = findFHIR(p, decoded, ref)
				if found && !contains(cs, ref.Code) {
					t.Errorf("%s %s at %s: codes %v, want %s", g.Person, g.Kind, ref.Source, cs, ref.Code)
				}
				if found && status != "" && ref.Status != "" && status != ref.Status {
					t.Errorf("%s %s at %s: status %s, truth says %s", g.Person, g.Kind, ref.Source, status, ref.Status)
				}
			} else {
				found, value = findHL7(t, p, ref)
			}
			if !found {
				t.Errorf("%s %s: no %s %v (%s) in %s/%s", g.Person, g.Kind, ref.ResourceType, ref.Identifier, ref.Code, ref.Source, ref.MRN)
			}
			if value != "" && value != ref.Value {
				t.Errorf("%s %s at %s: value %q, truth says %q", g.Person, g.Kind, ref.Source, value, ref.Value)
			}
			if ref.Status != "" { // an HL7 v2 DG1 says nothing about the status
				statuses[ref.Status] = true
			}
			values[ref.Value] = true
		}
		if len(sources) < 2 {
			t.Errorf("%s %s %q: records at %d source(s), want at least 2", g.Person, g.Kind, g.Display, len(sources))
		}
		agree := len(statuses) <= 1 && len(values) == 1
		if agree != (g.Conflict == "") {
			t.Errorf("%s %s %q (conflict %q): statuses %v, values %v", g.Person, g.Kind, g.Display, g.Conflict, statuses, values)
		}
	}
	for _, g := range p.res.Truth.Duplicates {
		kinds["duplicate "+g.Kind]++
		check(g)
	}
	for _, g := range p.res.Truth.Conflicts {
		kinds["conflict "+g.Conflict]++
		check(g)
	}
	for _, k := range []string{
		"duplicate " + gen.FactLabResult, "duplicate " + gen.FactImmunization, "duplicate " + gen.FactCondition,
		"duplicate " + gen.FactAllergy, "duplicate " + gen.FactMedication,
		"conflict allergy-status", "conflict medication-status", "conflict lab-value",
	} {
		if kinds[k] == 0 {
			t.Errorf("no %s in the truth; have %v", k, kinds)
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
