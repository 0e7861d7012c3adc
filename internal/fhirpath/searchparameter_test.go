package fhirpath_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/r4"
	"omnichart/internal/fhirpath"
)

type searchParameter struct {
	URL        string   `json:"url"`
	Code       string   `json:"code"`
	Base       []string `json:"base"`
	Type       string   `json:"type"`
	Expression string   `json:"expression"`
}

func MustLoadSearchParameters(tb testing.TB) []searchParameter {
	tb.Helper()
	var sps []searchParameter
	if err := json.Unmarshal(r4.SearchParametersJSON, &sps); err != nil {
		tb.Fatalf("decode embedded SearchParameters: %v", err)
	}
	return sps
}

// MustLoadExamples reads the official R4 JSON examples by resource type, or skips
// when they are not checked out.
func MustLoadExamples(tb testing.TB) map[string][]fhir.Resource {
	tb.Helper()
	dir := filepath.Join(ehrtest.SharedTestdata(tb), "fhir-r4-examples")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) == 0 {
		ehrtest.MissingTestdata(tb, "no official R4 examples in "+dir+": check them out there to run this test")
	}
	byType := map[string][]fhir.Resource{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		res, err := fhir.Decode(data)
		if err != nil {
			tb.Errorf("decode %s: %v", filepath.Base(f), err)
			continue
		}
		rt := fhir.String(res, "resourceType")
		byType[rt] = append(byType[rt], res)
	}
	return byType
}

// TestSearchParameterExpressions compiles the expression of every official R4
// SearchParameter and evaluates it over the official examples of its base types:
// search indexing must never fail on valid content.
func TestSearchParameterExpressions(t *testing.T) {
	sps := MustLoadSearchParameters(t)
	examples := MustLoadExamples(t)
	compiled, evaluations, values := 0, 0, 0
	for _, sp := range sps {
		if sp.Expression == "" {
			continue
		}
		expr, err := fhirpath.Compile(sp.Expression)
		if err != nil {
			t.Errorf("Compile(%q) of %s: %v", sp.Expression, sp.URL, err)
			continue
		}
		compiled++
		for _, base := range sp.Base {
			for _, res := range examples[base] {
				got, err := expr.Evaluate(res)
				evaluations++
				if err != nil {
					t.Errorf("Evaluate(%q) of %s on %s/%s: %v", sp.Expression, sp.URL, base, fhir.String(res, "id"), err)
					continue
				}
				values += len(got)
			}
		}
	}
	t.Logf("compiled %d SearchParameter expressions; %d evaluations over the examples gave %d values", compiled, evaluations, values)
}
