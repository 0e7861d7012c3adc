package fhir_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir"
)

func TestValidateAcceptsEveryOfficialExample(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/testdata/fhir-r4-examples/*.json")
	if len(files) == 0 {
		ehrtest.MissingTestdata(t, "../shared/testdata is absent; the official examples cannot be checked")
	}
	// Official examples that really break the R4 structure rules, and why.
	knownInvalid := map[string]string{
		"Questionnaire-qs1.json": "its items lack the required linkId",
	}
	bad := 0
	for _, f := range files {
		if strings.HasSuffix(f, "package.json") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		res, err := fhir.Decode(data)
		if err != nil {
			t.Errorf("Decode(%s): %v", filepath.Base(f), err)
			continue
		}
		issues := fhir.R4().Validate(res)
		if reason, ok := knownInvalid[filepath.Base(f)]; ok {
			if len(issues) == 0 {
				t.Errorf("Validate(%s) = no issues, want some: %s", filepath.Base(f), reason)
			}
			continue
		}
		if len(issues) > 0 {
			bad++
			t.Errorf("Validate(%s) = %d issues, want 0; first: %s %v", filepath.Base(f), len(issues), issues[0].Diagnostics, issues[0].Expression)
		}
	}
	t.Logf("%d examples, %d with issues", len(files)-1, bad)
}

func TestValidateReportsWhatIsWrongAndWhere(t *testing.T) {
	tests := []struct {
		name string
		json string
		want string // expression of the first issue
	}{
		{"an unknown resource type is reported at the root", `{"resourceType":"Patientx"}`, ""},
		{"an unknown element is reported with its path", `{"resourceType":"Patient","foo":1}`, "Patient.foo"},
		{"a single value where an array belongs is reported", `{"resourceType":"Patient","name":{"family":"X"}}`, "Patient.name"},
		{"a string where a boolean belongs is reported", `{"resourceType":"Patient","active":"yes"}`, "Patient.active"},
		{"a malformed date is reported", `{"resourceType":"Patient","birthDate":"1990-13-01"}`, "Patient.birthDate"},
		{"a missing required element is reported", `{"resourceType":"Observation","code":{"text":"x"}}`, "Observation.status"},
		{"a wrong choice type suffix is reported", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueFoo":1}`, "Observation.valueFoo"},
		{"an error deep inside a contained resource is reported with its path", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","name":7}]}`, "Patient.contained[0].name"},
		{"an empty array is reported", `{"resourceType":"Patient","name":[]}`, "Patient.name"},
		{"an empty string is reported", `{"resourceType":"Patient","gender":""}`, "Patient.gender"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := fhir.Decode([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			issues := fhir.R4().Validate(res)
			if len(issues) == 0 {
				t.Fatalf("Validate(%s) = no issues, want one at %q", tt.json, tt.want)
			}
			got := ""
			if len(issues[0].Expression) > 0 {
				got = issues[0].Expression[0]
			}
			if got != tt.want {
				t.Errorf("Validate(%s) first issue at %q (%s), want %q", tt.json, got, issues[0].Diagnostics, tt.want)
			}
		})
	}
}

func TestValidateAcceptsPrimitiveExtensions(t *testing.T) {
	res, err := fhir.Decode([]byte(`{"resourceType":"Patient","birthDate":"1970","_birthDate":{"extension":[{"url":"http://x","valueString":"y"}]},"name":[{"given":["A",null],"_given":[null,{"extension":[{"url":"http://x","valueCode":"z"}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if issues := fhir.R4().Validate(res); len(issues) > 0 {
		t.Errorf("Validate = %v, want no issues", issues)
	}
}

func TestValidateChecksRequiredBindings(t *testing.T) {
	tests := []struct {
		name string
		json string
		want string // expression of the only issue; "" when the resource is valid
		says string // what its message must contain
	}{
		{"a Patient.gender outside administrative-gender is refused with the allowed codes",
			`{"resourceType":"Patient","gender":"banana"}`, "Patient.gender", "allowed codes: male, female, other, unknown"},
		{"an Observation.status outside observation-status is refused",
			`{"resourceType":"Observation","status":"bogus","code":{"text":"x"}}`, "Observation.status", "registered, preliminary, final"},
		{"a code in a backbone element is checked",
			`{"resourceType":"Patient","contact":[{"gender":"male"},{"gender":"banana"}]}`, "Patient.contact[1].gender", "administrative-gender"},
		{"a code of a data type inside a choice element is checked",
			`{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1,"comparator":"about"}}`, "Observation.valueQuantity.comparator", "<, <=, >=, >"},
		{"a code in a repeating backbone element of a Bundle is checked",
			`{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"FETCH","url":"Patient"}}]}`, "Bundle.entry[0].request.method", "GET"},
		{"a code of a contained resource is checked",
			`{"resourceType":"Patient","contained":[{"resourceType":"Patient","id":"p","gender":"f"}]}`, "Patient.contained[0].gender", "female"},
		{"a CodeableConcept coding of the bound system is checked",
			`{"resourceType":"Condition","subject":{"reference":"Patient/1"},"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"gone"}]}}`, "Condition.clinicalStatus.coding[0].code", "active"},
		{"a CodeableConcept coding of another system is left alone",
			`{"resourceType":"Condition","subject":{"reference":"Patient/1"},"clinicalStatus":{"coding":[{"system":"http://example.org/local","code":"gone"}]}}`, "", ""},
		{"every allowed code passes",
			`{"resourceType":"Patient","gender":"unknown","contact":[{"gender":"other"}],"link":[{"other":{"reference":"Patient/2"},"type":"seealso"}]}`, "", ""},
		{"a code bound to a value set the definitions cannot expand is not checked",
			`{"resourceType":"DocumentReference","status":"current","content":[{"attachment":{"contentType":"made/up"}}]}`, "", ""},
		{"a malformed code is reported once, as malformed",
			`{"resourceType":"Patient","gender":" male"}`, "Patient.gender", "not a valid code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := fhir.Decode([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			issues := fhir.R4().Validate(res)
			if tt.want == "" {
				if len(issues) > 0 {
					t.Errorf("Validate(%s) = %v, want no issues", tt.json, issues)
				}
				return
			}
			if len(issues) != 1 {
				t.Fatalf("Validate(%s) = %d issues (%v), want 1 at %s", tt.json, len(issues), issues, tt.want)
			}
			if got := issues[0].Expression; len(got) != 1 || got[0] != tt.want {
				t.Errorf("Validate(%s) issue at %v, want %s", tt.json, got, tt.want)
			}
			if !strings.Contains(issues[0].Diagnostics, tt.says) {
				t.Errorf("Validate(%s) says %q, want it to contain %q", tt.json, issues[0].Diagnostics, tt.says)
			}
			if issues[0].Code == "code-invalid" && !strings.HasPrefix(issues[0].Diagnostics, tt.want+": ") {
				t.Errorf("Validate(%s) says %q, want it to start with the element path %s", tt.json, issues[0].Diagnostics, tt.want)
			}
		})
	}
}
