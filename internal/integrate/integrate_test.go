package integrate

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"omnichart/internal/fhir"
)

// rec is a test record: "a:" + JSON is a record of source a.
func recs(t *testing.T, specs ...string) []Record {
	t.Helper()
	var out []Record
	for i, s := range specs {
		src, body, _ := strings.Cut(s, ":")
		res, err := fhir.Decode([]byte(body))
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		out = append(out, Record{Ref: fmt.Sprintf("%s/r%d", res["resourceType"], i), Source: "urn:omnichart:source:" + src, Resource: res})
	}
	return out
}

// Builders of the records the table uses. Each writes only what its rule reads.
func obs(code, at, value string) string {
	return fmt.Sprintf(`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":%q}]},"effectiveDateTime":%q%s}`, code, at, value)
}

func qty(v, unit string) string {
	return fmt.Sprintf(`,"valueQuantity":{"value":%s,"unit":%q,"system":"http://unitsofmeasure.org","code":%q}`, v, unit, unit)
}

func bp(at string, sys, dia int) string {
	return fmt.Sprintf(`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"effectiveDateTime":%q,"component":[`+
		`{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":%d,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},`+
		`{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":%d,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`, at, sys, dia)
}

func cond(codings, onset, status string) string {
	s := ""
	if status != "" {
		s = fmt.Sprintf(`,"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":%q}]}`, status)
	}
	return fmt.Sprintf(`{"resourceType":"Condition","code":{"coding":[%s]},"onsetDateTime":%q,"subject":{"reference":"Patient/p"}%s}`, codings, onset, s)
}

const (
	snomedAsthma = `{"system":"http://snomed.info/sct","code":"195967001"}`
	icdAsthma    = `{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"J45.909"}`
	icdOther     = `{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"J45.20"}`
)

func allergy(code, status string) string {
	s := ""
	if status != "" {
		s = fmt.Sprintf(`,"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":%q}]}`, status)
	}
	return fmt.Sprintf(`{"resourceType":"AllergyIntolerance","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":%q}]},"patient":{"reference":"Patient/p"}%s}`, code, s)
}

func med(typ, rx, status string) string {
	extra := `"intent":"order","subject":{"reference":"Patient/p"}`
	if typ == "MedicationStatement" {
		extra = `"subject":{"reference":"Patient/p"}`
	}
	return fmt.Sprintf(`{"resourceType":%q,"status":%q,"medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":%q}]},%s}`, typ, status, rx, extra)
}

func imm(cvxCode, at, status string) string {
	return fmt.Sprintf(`{"resourceType":"Immunization","status":%q,"vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":%q}]},"patient":{"reference":"Patient/p"},"occurrenceDateTime":%q}`, status, cvxCode, at)
}

func proc(code, at, status string) string {
	return fmt.Sprintf(`{"resourceType":"Procedure","status":%q,"code":{"coding":[{"system":"http://snomed.info/sct","code":%q}]},"subject":{"reference":"Patient/p"},"performedDateTime":%q}`, status, code, at)
}

func enc(class, typ, start, status string) string {
	t := ""
	if typ != "" {
		t = fmt.Sprintf(`,"type":[{"coding":[{"system":"http://snomed.info/sct","code":%q}]}]`, typ)
	}
	return fmt.Sprintf(`{"resourceType":"Encounter","status":%q,"class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":%q}%s,"subject":{"reference":"Patient/p"},"period":{"start":%q}}`, status, class, t, start)
}

// want is an expected result: each fact as the indexes of its records (the shown
// one first), each conflict as "element i j".
type want struct {
	facts     [][]int
	conflicts []string
}

func TestIntegrate(t *testing.T) {
	const at = "2024-03-01T08:30:00Z"
	tests := []struct {
		name string
		in   []string
		want want
	}{
		// Observations: code, time within a minute, value after UCUM conversion.
		{"one lab result from two sources in units that convert is one fact",
			[]string{"a:" + obs("2345-7", at, qty("5.0", "mg/dL")), "b:" + obs("2345-7", at, qty("50", "mg/L"))},
			want{facts: [][]int{{0, 1}}}},
		{"times 30 seconds apart are one time",
			[]string{"a:" + obs("2345-7", at, qty("95", "mg/dL")), "b:" + obs("2345-7", "2024-03-01T08:30:30Z", qty("95", "mg/dL"))},
			want{facts: [][]int{{0, 1}}}},
		{"times given in other zones are compared as instants",
			[]string{"a:" + obs("2345-7", at, qty("95", "mg/dL")), "b:" + obs("2345-7", "2024-03-01T03:30:00-05:00", qty("95", "mg/dL"))},
			want{facts: [][]int{{0, 1}}}},
		{"times two minutes apart are two results",
			[]string{"a:" + obs("2345-7", at, qty("95", "mg/dL")), "b:" + obs("2345-7", "2024-03-01T08:32:00Z", qty("95", "mg/dL"))},
			want{facts: [][]int{{0}, {1}}}},
		{"a date against a date-time is in doubt: both stay",
			[]string{"a:" + obs("2345-7", "2024-03-01", qty("95", "mg/dL")), "b:" + obs("2345-7", at, qty("95", "mg/dL"))},
			want{facts: [][]int{{0}, {1}}}},
		{"two values for one test at one time are a conflict",
			[]string{"a:" + obs("2345-7", at, qty("95", "mg/dL")), "b:" + obs("2345-7", at, qty("110", "mg/dL"))},
			want{facts: [][]int{{0}, {1}}, conflicts: []string{"Observation.value 0 1"}}},
		{"units that do not convert into each other are in doubt, not in conflict",
			[]string{"a:" + obs("2345-7", at, qty("95", "mg/dL")), "b:" + obs("2345-7", at, qty("5.3", "mmol/L"))},
			want{facts: [][]int{{0}, {1}}}},
		{"other codes are other tests",
			[]string{"a:" + obs("2345-7", at, qty("95", "mg/dL")), "b:" + obs("2339-0", at, qty("95", "mg/dL"))},
			want{facts: [][]int{{0}, {1}}}},
		{"what one source says twice is shown twice",
			[]string{"a:" + obs("2345-7", at, qty("95", "mg/dL")), "a:" + obs("2345-7", at, qty("95", "mg/dL"))},
			want{facts: [][]int{{0}, {1}}}},
		{"a record entered in error is never joined",
			[]string{"a:" + obs("2345-7", at, qty("95", "mg/dL")), "b:" + strings.Replace(obs("2345-7", at, qty("95", "mg/dL")), `"final"`, `"entered-in-error"`, 1)},
			want{facts: [][]int{{0}, {1}}}},
		{"blood pressures with equal components are one",
			[]string{"a:" + bp(at, 120, 80), "b:" + bp(at, 120, 80)},
			want{facts: [][]int{{0, 1}}}},
		{"blood pressures with one component different are a conflict",
			[]string{"a:" + bp(at, 120, 80), "b:" + bp(at, 120, 90)},
			want{facts: [][]int{{0}, {1}}, conflicts: []string{"Observation.component.value 0 1"}}},
		{"three sources: two agree, the third disagrees with them",
			[]string{"a:" + obs("718-7", at, qty("13.5", "g/dL")), "b:" + obs("718-7", at, qty("135", "g/L")), "c:" + obs("718-7", at, qty("15.1", "g/dL"))},
			want{facts: [][]int{{0, 1}, {2}}, conflicts: []string{"Observation.value 0 2"}}},
		// Conditions: code and onset day; clinical status.
		{"one problem with the same code and onset is one, a code system only one gives is no evidence",
			[]string{"a:" + cond(snomedAsthma+","+icdAsthma, "2010-05-01T00:00:00Z", "active"), "b:" + cond(snomedAsthma, "2010-05-01", "active")},
			want{facts: [][]int{{0, 1}}}},
		{"codes of one system that differ are other problems",
			[]string{"a:" + cond(snomedAsthma+","+icdAsthma, "2010-05-01", "active"), "b:" + cond(snomedAsthma+","+icdOther, "2010-05-01", "active")},
			want{facts: [][]int{{0}, {1}}}},
		{"another onset day is another problem",
			[]string{"a:" + cond(snomedAsthma, "2010-05-01", "active"), "b:" + cond(snomedAsthma, "2012-05-01", "active")},
			want{facts: [][]int{{0}, {1}}}},
		{"active at one source and resolved at another is a conflict",
			[]string{"a:" + cond(snomedAsthma, "2010-05-01", "active"), "b:" + cond(snomedAsthma, "2010-05-01", "resolved")},
			want{facts: [][]int{{0}, {1}}, conflicts: []string{"Condition.clinicalStatus 0 1"}}},
		{"a status one source leaves out never contradicts",
			[]string{"a:" + cond(snomedAsthma, "2010-05-01", ""), "b:" + cond(snomedAsthma, "2010-05-01", "recurrence")},
			want{facts: [][]int{{0, 1}}}},
		// Allergies: substance; clinical status.
		{"one substance is one allergy",
			[]string{"a:" + allergy("7980", "active"), "b:" + allergy("7980", "active"), "c:" + allergy("2670", "active")},
			want{facts: [][]int{{0, 1}, {2}}}},
		{"an allergy active at one source and resolved at another is a conflict",
			[]string{"a:" + allergy("7980", "active"), "b:" + allergy("7980", "resolved")},
			want{facts: [][]int{{0}, {1}}, conflicts: []string{"AllergyIntolerance.clinicalStatus 0 1"}}},
		// Medications: RxNorm; taken or not.
		{"an order and a pharmacy's statement of one drug are one medication",
			[]string{"a:" + med("MedicationRequest", "197361", "active"), "b:" + med("MedicationStatement", "197361", "active")},
			want{facts: [][]int{{0, 1}}}},
		{"stopped at one source and active at another is a conflict",
			[]string{"a:" + med("MedicationRequest", "197361", "active"), "b:" + med("MedicationStatement", "197361", "stopped")},
			want{facts: [][]int{{0}, {1}}, conflicts: []string{"MedicationRequest.status 0 1"}}},
		{"completed and stopped both say it is not taken",
			[]string{"a:" + med("MedicationRequest", "197361", "completed"), "b:" + med("MedicationStatement", "197361", "stopped")},
			want{facts: [][]int{{0, 1}}}},
		{"other RxNorm codes are other medications",
			[]string{"a:" + med("MedicationRequest", "197361", "active"), "b:" + med("MedicationRequest", "314076", "active")},
			want{facts: [][]int{{0}, {1}}}},
		// Immunizations: CVX and day.
		{"one vaccine on one day is one immunization, another day another",
			[]string{"a:" + imm("140", "2023-10-12T10:00:00Z", "completed"), "b:" + imm("140", "2023-10-12", "completed"), "c:" + imm("140", "2022-10-12", "completed")},
			want{facts: [][]int{{0, 1}, {2}}}},
		{"given at one source and not done at another is a conflict",
			[]string{"a:" + imm("140", "2023-10-12", "completed"), "b:" + imm("140", "2023-10-12", "not-done")},
			want{facts: [][]int{{0}, {1}}, conflicts: []string{"Immunization.status 0 1"}}},
		// Procedures: code and day.
		{"one procedure on one day is one, not done elsewhere is a conflict",
			[]string{"a:" + proc("80146002", "2020-02-02", "completed"), "b:" + proc("80146002", "2020-02-02T09:00:00Z", "completed"), "c:" + proc("80146002", "2020-02-02", "not-done")},
			want{facts: [][]int{{0, 1}, {2}}, conflicts: []string{"Procedure.status 0 2"}}},
		// Encounters: class, type and start.
		{"one visit is one encounter; another type is another",
			[]string{"a:" + enc("AMB", "185349003", at, "finished"), "b:" + enc("AMB", "185349003", "2024-03-01T08:30:45Z", "finished"), "c:" + enc("AMB", "390906007", at, "finished")},
			want{facts: [][]int{{0, 1}, {2}}}},
		{"a type only one source gives is in doubt; cancelled against held is a conflict",
			[]string{"a:" + enc("AMB", "185349003", at, "finished"), "b:" + enc("AMB", "", at, "finished"), "c:" + enc("AMB", "185349003", at, "cancelled")},
			want{facts: [][]int{{0}, {1}, {2}}, conflicts: []string{"Encounter.status 0 2"}}},
		// Anything else is shown as it is.
		{"resources no rule knows are each their own",
			[]string{`a:{"resourceType":"Practitioner","name":[{"family":"Osler"}]}`, `b:{"resourceType":"Practitioner","name":[{"family":"Osler"}]}`},
			want{facts: [][]int{{0}, {1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := recs(t, tt.in...)
			got := Integrate(in)
			index := map[string]int{}
			for i, r := range in {
				index[r.Ref] = i
			}
			var facts [][]int
			for _, f := range got.Facts {
				ids := []int{index[f.Record.Ref]}
				for _, o := range f.Also {
					ids = append(ids, index[o.Ref])
				}
				facts = append(facts, ids)
			}
			var conflicts []string
			for _, c := range got.Conflicts {
				conflicts = append(conflicts, fmt.Sprintf("%s %d %d", c.Element, index[c.Records[0].Ref], index[c.Records[1].Ref]))
				if c.Values[0] == "" || c.Values[1] == "" || c.Values[0] == c.Values[1] {
					t.Errorf("conflict %s says %q against %q, want both sides in words", c.Element, c.Values[0], c.Values[1])
				}
			}
			if !reflect.DeepEqual(facts, tt.want.facts) {
				t.Errorf("facts = %v, want %v", facts, tt.want.facts)
			}
			if !reflect.DeepEqual(conflicts, tt.want.conflicts) {
				t.Errorf("conflicts = %q, want %q", conflicts, tt.want.conflicts)
			}
		})
	}
}
