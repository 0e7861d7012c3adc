package fhirapi_test

import (
	"strings"
	"testing"
)

func TestCodesOutsideRequiredValueSetsAreRefused(t *testing.T) {
	forEngines(t, func(t *testing.T, c *client) {
		c.must(201, "PUT", "/Patient/p", `{"resourceType":"Patient","id":"p","gender":"female"}`)
		tests := []struct {
			name   string
			method string
			path   string
			body   string
			where  string   // the expression of the issue
			says   []string // what its diagnostics must contain
		}{
			{"a create of a Patient with gender banana is 400", "POST", "/Patient", `{"resourceType":"Patient","gender":"banana"}`,
				"Patient.gender", []string{"Patient.gender", `"banana"`, "male, female, other, unknown"}},
			{"a create of an Observation with status bogus is 400", "POST", "/Observation", `{"resourceType":"Observation","status":"bogus","code":{"text":"x"}}`,
				"Observation.status", []string{"Observation.status", `"bogus"`, "registered, preliminary, final, amended"}},
			{"an update is checked as a create is", "PUT", "/Patient/p", `{"resourceType":"Patient","id":"p","gender":"F"}`,
				"Patient.gender", []string{"Patient.gender", "male, female"}},
			{"a code in a backbone element is checked", "POST", "/Patient", `{"resourceType":"Patient","link":[{"other":{"reference":"Patient/p"},"type":"same"}]}`,
				"Patient.link[0].type", []string{"Patient.link[0].type", "replaced-by, replaces, refer, seealso"}},
			{"a code inside a choice element is checked", "POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":5,"comparator":"~"}}`,
				"Observation.valueQuantity.comparator", []string{"Observation.valueQuantity.comparator", "<, <=, >=, >"}},
			{"a transaction entry is checked", "POST", "", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","gender":"banana"},"request":{"method":"POST","url":"Patient"}}]}`,
				"Bundle.entry[0].resource.gender", []string{"male, female"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := c.versions()
				r := c.must(400, tt.method, tt.path, tt.body)
				found := false
				for _, is := range r.json["issue"].([]any) {
					is := is.(map[string]any)
					ex, _ := is["expression"].([]any)
					if len(ex) != 1 || ex[0] != tt.where {
						continue
					}
					found = true
					for _, s := range tt.says {
						if d, _ := is["diagnostics"].(string); !strings.Contains(d, s) {
							t.Errorf("%s %s: issue says %q, want it to contain %q", tt.method, tt.path, d, s)
						}
					}
				}
				if !found {
					t.Errorf("%s %s = %s, want an issue at %s", tt.method, tt.path, r.body, tt.where)
				}
				if after := c.versions(); after != before {
					t.Errorf("%s %s was refused but wrote %d versions", tt.method, tt.path, after-before)
				}
			})
		}
		if got := c.must(200, "GET", "/Patient/p", "").json["gender"]; got != "female" {
			t.Errorf("Patient/p gender = %v after refused updates, want female", got)
		}
	})
}
