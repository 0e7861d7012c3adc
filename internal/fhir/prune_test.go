package fhir_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir"
)

func TestPruneEmpty(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  string
		paths []string
	}{
		{
			name:  "an array holding only an empty object goes as a whole",
			in:    `{"resourceType":"Immunization","status":"completed","education":[{}]}`,
			want:  `{"resourceType":"Immunization","status":"completed"}`,
			paths: []string{"Immunization.education"},
		},
		{
			name:  "an empty object among full ones goes alone",
			in:    `{"resourceType":"Immunization","education":[{"documentType":"VIS"},{}]}`,
			want:  `{"resourceType":"Immunization","education":[{"documentType":"VIS"}]}`,
			paths: []string{"Immunization.education[1]"},
		},
		{
			name:  "an object left empty by pruning goes and is reported once",
			in:    `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":""}],"text":""}}`,
			want:  `{"resourceType":"Observation","status":"final"}`,
			paths: []string{"Observation.code"},
		},
		{
			name:  "empty strings, empty arrays and nulls go",
			in:    `{"resourceType":"Patient","gender":"","name":[],"birthDate":null,"active":false}`,
			want:  `{"resourceType":"Patient","active":false}`,
			paths: []string{"Patient.birthDate", "Patient.gender", "Patient.name"},
		},
		{
			name: "a null in a primitive array stays when its extension half has content",
			in:   `{"resourceType":"Patient","name":[{"given":["A",null],"_given":[null,{"extension":[{"url":"http://x","valueString":"y"}]}]}]}`,
			want: `{"resourceType":"Patient","name":[{"given":["A",null],"_given":[null,{"extension":[{"url":"http://x","valueString":"y"}]}]}]}`,
		},
		{
			name:  "an item empty in both halves of a primitive array goes from both",
			in:    `{"resourceType":"Patient","name":[{"given":["A","",null],"_given":[null,{},{"id":"x"}]}]}`,
			want:  `{"resourceType":"Patient","name":[{"given":["A",null],"_given":[null,{"id":"x"}]}]}`,
			paths: []string{"Patient.name[0].given[1]"},
		},
		{
			name:  "an extension half left with no content goes",
			in:    `{"resourceType":"Patient","name":[{"given":["A","B"],"_given":[{},null]}]}`,
			want:  `{"resourceType":"Patient","name":[{"given":["A","B"]}]}`,
			paths: []string{},
		},
		{
			name:  "a null extension half of a primitive array goes",
			in:    `{"resourceType":"Patient","name":[{"given":["A"],"_given":null}]}`,
			want:  `{"resourceType":"Patient","name":[{"given":["A"]}]}`,
			paths: []string{"Patient.name[0]._given"},
		},
		{
			name:  "a null value half beside an extension array goes, the extensions stay",
			in:    `{"resourceType":"Patient","name":[{"given":null,"_given":[{"id":"g"}]}]}`,
			want:  `{"resourceType":"Patient","name":[{"_given":[{"id":"g"}]}]}`,
			paths: []string{"Patient.name[0].given"},
		},
		{
			name:  "contained resources are pruned under their own path",
			in:    `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","name":""}]}`,
			want:  `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o"}]}`,
			paths: []string{"Patient.contained[0].name"},
		},
		{
			name: "a resource with nothing empty is left as it is",
			in:   `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueBoolean":false,"valueInteger":0}`,
			want: `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueBoolean":false,"valueInteger":0}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustDecode(t, tt.in)
			issues := fhir.PruneEmpty(res)
			if d := cmp.Diff(mustDecode(t, tt.want), res); d != "" {
				t.Errorf("PruneEmpty(%s) left (-want +got):\n%s", tt.in, d)
			}
			var paths []string
			for _, is := range issues {
				if is.Severity != "warning" || len(is.Expression) != 1 {
					t.Errorf("PruneEmpty issue %+v, want a warning with one expression", is)
					continue
				}
				paths = append(paths, is.Expression[0])
			}
			if d := cmp.Diff(tt.paths, paths, cmpEmptyEqual); d != "" {
				t.Errorf("PruneEmpty(%s) issue paths (-want +got):\n%s", tt.in, d)
			}
			if again := fhir.PruneEmpty(res); len(again) != 0 {
				t.Errorf("PruneEmpty twice = %v the second time, want no issues", again)
			}
		})
	}
}

var cmpEmptyEqual = cmp.FilterValues(func(a, b []string) bool { return len(a) == 0 && len(b) == 0 }, cmp.Ignore())

func mustDecode(tb testing.TB, s string) fhir.Resource {
	tb.Helper()
	r, err := fhir.Decode([]byte(s))
	if err != nil {
		tb.Fatalf("Decode(%s) = %v", s, err)
	}
	return r
}

// FuzzPruneEmpty checks on any JSON object that PruneEmpty does not panic, leaves
// no empty element behind, and has nothing left to do when run again. It is
// seeded with the official R4 examples.
func FuzzPruneEmpty(f *testing.F) {
	files, _ := filepath.Glob("../../../shared/testdata/fhir-r4-examples/*.json")
	for i, p := range files {
		if data, err := os.ReadFile(p); err == nil && i%8 == 0 && len(data) < 16<<10 {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"resourceType":"Patient","name":[{"given":["A","",null],"_given":[null,{},{"id":"x"}]}],"contact":[{}],"x":[[],[{}]]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := fhir.Decode(data)
		if err != nil {
			return
		}
		fhir.PruneEmpty(res)
		// The root itself is not removed, even when nothing is left in it.
		if left := ehrtest.EmptyElements(res, "$"); len(left) > 0 && len(res) > 0 {
			t.Fatalf("PruneEmpty left empty elements %v in %s", left, data)
		}
		if again := fhir.PruneEmpty(res); len(again) > 0 {
			t.Fatalf("PruneEmpty found %v the second time", again)
		}
	})
}
