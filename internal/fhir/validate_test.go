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
