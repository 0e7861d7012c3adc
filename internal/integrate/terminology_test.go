package integrate

import (
	"fmt"
	"strings"
	"testing"

	"omnichart/internal/fhir"
)

const labLocal = "http://lab.example.org/codes"

// localObs is an Observation coded only in the laboratory's local system.
func localObs(code, at, value string) string {
	return fmt.Sprintf(`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":%q,"code":%q}]},"effectiveDateTime":%q%s}`, labLocal, code, at, value)
}

func conceptMap(t *testing.T, status string, targets ...string) fhir.Resource {
	t.Helper()
	var els []string
	for _, tg := range targets {
		local, rest, _ := strings.Cut(tg, "=")
		loincCode, eq, _ := strings.Cut(rest, "/")
		els = append(els, fmt.Sprintf(`{"code":%q,"target":[{"code":%q,"equivalence":%q}]}`, local, loincCode, eq))
	}
	res, err := fhir.Decode([]byte(fmt.Sprintf(`{"resourceType":"ConceptMap","id":"lab","status":%q,"group":[{"source":%q,"target":"http://loinc.org","element":[%s]}]}`,
		status, labLocal, strings.Join(els, ","))))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestMappedCodesJoinFacts: a laboratory's local code and the clinic's LOINC code
// of one HbA1c at one time are one fact only where an active ConceptMap says
// they are equivalent; a wider mapping, an inactive map or no map keeps two
// facts, and a mapped pair that disagrees on the value is a conflict.
func TestMappedCodesJoinFacts(t *testing.T) {
	hba1c := qty("6.1", "%")
	cases := []struct {
		name      string
		maps      []fhir.Resource
		records   []string
		facts     int
		conflicts int
	}{
		{"no terminology: two facts", nil,
			[]string{"lab:" + localObs("A1C", "2024-03-01T08:00:00Z", hba1c), "clinic:" + obs("4548-4", "2024-03-01T08:00:00Z", hba1c)}, 2, 0},
		{"an equivalent mapping: one fact", []fhir.Resource{conceptMap(t, "active", "A1C=4548-4/equivalent")},
			[]string{"lab:" + localObs("A1C", "2024-03-01T08:00:00Z", hba1c), "clinic:" + obs("4548-4", "2024-03-01T08:00:00Z", hba1c)}, 1, 0},
		{"an equal mapping, the LOINC record first: one fact", []fhir.Resource{conceptMap(t, "active", "A1C=4548-4/equal")},
			[]string{"clinic:" + obs("4548-4", "2024-03-01T08:00:00Z", hba1c), "lab:" + localObs("A1C", "2024-03-01T08:00:00Z", hba1c)}, 1, 0},
		{"a wider mapping is not the same test: two facts", []fhir.Resource{conceptMap(t, "active", "A1C=4548-4/wider")},
			[]string{"lab:" + localObs("A1C", "2024-03-01T08:00:00Z", hba1c), "clinic:" + obs("4548-4", "2024-03-01T08:00:00Z", hba1c)}, 2, 0},
		{"an inactive map adds nothing: two facts", []fhir.Resource{conceptMap(t, "retired", "A1C=4548-4/equivalent")},
			[]string{"lab:" + localObs("A1C", "2024-03-01T08:00:00Z", hba1c), "clinic:" + obs("4548-4", "2024-03-01T08:00:00Z", hba1c)}, 2, 0},
		{"mapped, other values at one time: a conflict, both kept", []fhir.Resource{conceptMap(t, "active", "A1C=4548-4/equivalent")},
			[]string{"lab:" + localObs("A1C", "2024-03-01T08:00:00Z", hba1c), "clinic:" + obs("4548-4", "2024-03-01T08:00:00Z", qty("7.4", "%"))}, 2, 1},
		{"mapped to another test: two facts", []fhir.Resource{conceptMap(t, "active", "GLU=2345-7/equivalent")},
			[]string{"lab:" + localObs("GLU", "2024-03-01T08:00:00Z", hba1c), "clinic:" + obs("4548-4", "2024-03-01T08:00:00Z", hba1c)}, 2, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			terms, problems := NewTerminology(c.maps)
			if len(problems) > 0 {
				t.Fatalf("problems: %v", problems)
			}
			in := recs(t, c.records...)
			before := fmt.Sprint(in[0].Resource)
			got := IntegrateWith(in, Options{Terminology: terms})
			if len(got.Facts) != c.facts || len(got.Conflicts) != c.conflicts {
				t.Errorf("%d facts, %d conflicts; want %d and %d", len(got.Facts), len(got.Conflicts), c.facts, c.conflicts)
			}
			if fmt.Sprint(in[0].Resource) != before {
				t.Errorf("the record was changed: %v", in[0].Resource)
			}
		})
	}
}

// TestTerminologyReportsWhatItLeavesOut: a group without systems and an element
// without a code are named, not read silently.
func TestTerminologyReportsWhatItLeavesOut(t *testing.T) {
	bad, err := fhir.Decode([]byte(`{"resourceType":"ConceptMap","id":"bad","status":"active","group":[{"target":"http://loinc.org","element":[{"code":"X","target":[{"code":"1-8","equivalence":"equivalent"}]}]},` +
		`{"source":"urn:a","target":"http://loinc.org","element":[{"target":[{"code":"1-8","equivalence":"equivalent"}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	terms, problems := NewTerminology([]fhir.Resource{bad})
	if terms.Len() != 0 || len(problems) != 2 || !strings.Contains(problems[0], "ConceptMap/bad group[0]") || !strings.Contains(problems[1], "group[1].element[0]") {
		t.Errorf("Len %d, problems %q; want none read and both named", terms.Len(), problems)
	}
}
