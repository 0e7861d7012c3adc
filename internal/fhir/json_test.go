package fhir_test

import (
	"encoding/json"
	"testing"

	"omnichart/internal/fhir"
)

func TestMarshalPutsResourceTypeFirstAndKeepsNumbers(t *testing.T) {
	res, err := fhir.Decode([]byte(`{"valueQuantity":{"value":1.50},"status":"final","resourceType":"Observation","text":{"div":"<div>a \"q\" \u2028 é\n</div>"}}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := fhir.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Observation","status":"final","text":{"div":"<div>a \"q\" \u2028 é\n</div>"},"valueQuantity":{"value":1.50}}`
	if string(got) != want {
		t.Errorf("Marshal = %s\nwant      %s", got, want)
	}
	var back any
	if err := json.Unmarshal(got, &back); err != nil {
		t.Errorf("Marshal produced invalid JSON: %v", err)
	}
	pretty, _ := fhir.MarshalIndent(res)
	if err := json.Unmarshal(pretty, &back); err != nil {
		t.Errorf("MarshalIndent produced invalid JSON: %v", err)
	}
}

func FuzzMarshalRoundTrip(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Patient","name":[{"given":["A\u0000"]}],"x":-1.0e3}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := fhir.Decode(data)
		if err != nil {
			return
		}
		out, err := fhir.Marshal(res)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		again, err := fhir.Decode(out)
		if err != nil {
			t.Fatalf("Decode(Marshal(x)): %v\n%s", err, out)
		}
		out2, _ := fhir.Marshal(again)
		if string(out) != string(out2) {
			t.Fatalf("not stable:\n%s\n%s", out, out2)
		}
	})
}
