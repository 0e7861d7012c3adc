package fhir_test

import (
	"testing"

	"omnichart/internal/fhir"
)

func TestApplyJSONPatch(t *testing.T) {
	doc := `{"resourceType":"Patient","id":"a","name":[{"family":"X","given":["A","B"]}],"active":true}`
	tests := []struct {
		name    string
		patch   string
		want    string
		wantErr bool
	}{
		{"replace changes a scalar", `[{"op":"replace","path":"/active","value":false}]`, `{"resourceType":"Patient","active":false,"id":"a","name":[{"family":"X","given":["A","B"]}]}`, false},
		{"add inserts into a nested array", `[{"op":"add","path":"/name/0/given/1","value":"C"}]`, `{"resourceType":"Patient","active":true,"id":"a","name":[{"family":"X","given":["A","C","B"]}]}`, false},
		{"add with - appends", `[{"op":"add","path":"/name/0/given/-","value":"C"}]`, `{"resourceType":"Patient","active":true,"id":"a","name":[{"family":"X","given":["A","B","C"]}]}`, false},
		{"remove deletes an array item", `[{"op":"remove","path":"/name/0/given/0"}]`, `{"resourceType":"Patient","active":true,"id":"a","name":[{"family":"X","given":["B"]}]}`, false},
		{"move relocates a value", `[{"op":"move","from":"/name/0/family","path":"/name/0/text"}]`, `{"resourceType":"Patient","active":true,"id":"a","name":[{"given":["A","B"],"text":"X"}]}`, false},
		{"copy duplicates a value", `[{"op":"copy","from":"/name/0/family","path":"/name/0/text"}]`, `{"resourceType":"Patient","active":true,"id":"a","name":[{"family":"X","given":["A","B"],"text":"X"}]}`, false},
		{"a passing test changes nothing", `[{"op":"test","path":"/active","value":true}]`, `{"resourceType":"Patient","active":true,"id":"a","name":[{"family":"X","given":["A","B"]}]}`, false},
		{"a failing test fails the whole patch", `[{"op":"replace","path":"/active","value":false},{"op":"test","path":"/id","value":"b"}]`, "", true},
		{"removing a missing member fails", `[{"op":"remove","path":"/gender"}]`, "", true},
		{"an index out of range fails", `[{"op":"add","path":"/name/5","value":{}}]`, "", true},
		{"an unknown op fails", `[{"op":"frobnicate","path":"/a"}]`, "", true},
		{"a patch that is not an array fails", `{"op":"add"}`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := fhir.Decode([]byte(doc))
			got, err := fhir.ApplyJSONPatch(d, []byte(tt.patch))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ApplyJSONPatch(%s) succeeded, want an error", tt.patch)
				}
				return
			}
			if err != nil {
				t.Fatalf("ApplyJSONPatch(%s): %v", tt.patch, err)
			}
			b, _ := fhir.Marshal(got)
			if string(b) != tt.want {
				t.Errorf("ApplyJSONPatch(%s) = %s, want %s", tt.patch, b, tt.want)
			}
			if d2, _ := fhir.Marshal(d); string(d2) == string(b) && tt.name != "a passing test changes nothing" {
				t.Errorf("ApplyJSONPatch modified its input")
			}
		})
	}
}
