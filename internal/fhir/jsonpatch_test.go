package fhir_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/ehrtest"
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
		{"an array index with a sign fails", `[{"op":"remove","path":"/name/0/given/+1"}]`, "", true},
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

// jsonPatchSuite reads the JSON Patch cases of fhir-test-cases (RFC 6902's
// examples and error cases), or returns nil when the shared test data is absent.
func jsonPatchSuite(tb testing.TB) []jsonPatchCase {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "testdata", "fhir-test-cases", "r4", "patch", "json-patch-tests.json"))
	if err != nil {
		return nil
	}
	var cases []jsonPatchCase
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&cases); err != nil {
		tb.Fatalf("json-patch-tests.json: %v", err)
	}
	return cases
}

type jsonPatchCase struct {
	Comment  string          `json:"comment"`
	Doc      any             `json:"doc"`
	Patch    json.RawMessage `json:"patch"`
	Expected any             `json:"expected"`
	Error    string          `json:"error"`
	Disabled bool            `json:"disabled"`
}

func TestApplyJSONPatchPassesTheFHIRTestCases(t *testing.T) {
	cases := jsonPatchSuite(t)
	if len(cases) == 0 {
		ehrtest.MissingTestdata(t, "fhir-test-cases/r4/patch/json-patch-tests.json is absent")
	}
	for _, tc := range cases {
		if tc.Disabled {
			continue
		}
		t.Run(tc.Comment, func(t *testing.T) {
			got, err := fhir.ApplyJSONPatch(tc.Doc, tc.Patch)
			if tc.Error != "" {
				if err == nil {
					t.Errorf("ApplyJSONPatch(%s) = %v, want an error (%s)", tc.Patch, got, tc.Error)
				}
				return
			}
			if err != nil {
				t.Fatalf("ApplyJSONPatch(%s) = %v", tc.Patch, err)
			}
			if d := cmp.Diff(tc.Expected, got); d != "" {
				t.Errorf("ApplyJSONPatch(%s) (-want +got):\n%s", tc.Patch, d)
			}
		})
	}
}

// FuzzApplyJSONPatch checks that no document and patch make ApplyJSONPatch panic or
// modify its input, and that a successful result is JSON that a "test" of the
// whole document against itself accepts.
func FuzzApplyJSONPatch(f *testing.F) {
	for _, tc := range jsonPatchSuite(f) {
		doc, _ := json.Marshal(tc.Doc)
		f.Add(doc, []byte(tc.Patch))
	}
	f.Add([]byte(`{"a":1e400,"b":[0.10]}`), []byte(`[{"op":"test","path":"/b/0","value":0.1}]`))
	f.Add([]byte(`{"resourceType":"Patient","name":[{"given":["A","B"]}],"active":true}`),
		[]byte(`[{"op":"move","from":"/name/0/given/0","path":"/name/0/given/-"},{"op":"test","path":"/active","value":true}]`))
	f.Fuzz(func(t *testing.T, docJSON, patch []byte) {
		dec := json.NewDecoder(bytes.NewReader(docJSON))
		dec.UseNumber()
		var doc any
		if err := dec.Decode(&doc); err != nil {
			return
		}
		before, err := fhir.Marshal(doc)
		if err != nil {
			return
		}
		got, err := fhir.ApplyJSONPatch(doc, patch)
		if after, _ := fhir.Marshal(doc); !bytes.Equal(before, after) {
			t.Fatalf("ApplyJSONPatch modified its input: %s became %s", before, after)
		}
		if err != nil {
			return
		}
		out, err := fhir.Marshal(got)
		if err != nil {
			t.Fatalf("Marshal(result) = %v", err)
		}
		if !json.Valid(out) {
			t.Fatalf("the result %s is not valid JSON", out)
		}
		self, _ := json.Marshal([]any{map[string]any{"op": "test", "path": "", "value": json.RawMessage(out)}})
		if _, err := fhir.ApplyJSONPatch(got, self); err != nil {
			t.Fatalf("a test of the result against itself failed: %v", err)
		}
	})
}
