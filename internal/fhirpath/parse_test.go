package fhirpath_test

import (
	"errors"
	"testing"

	"omnichart/internal/fhirpath"
)

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name   string
		expr   string
		offset int
	}{
		{"an unfinished operator is reported at the end", "2 + 2 /", 7},
		{"an unclosed comment is reported where it starts", "2 + 2 /* not finished", 6},
		{"an unknown function is reported at its name", "name.frobnicate()", 5},
		{"a wrong argument count is reported at the function", "name.substring()", 5},
		{"an unknown type is reported at the function", "gender.as(string1)", 7},
		{"an unclosed string is reported where it starts", "name = 'abc", 7},
		{"a stray character is reported where it is", "name # 1", 5},
		{"a missing parenthesis is reported at the end", "(1 + 2", 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fhirpath.Compile(tc.expr)
			var se *fhirpath.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Compile(%q) = %v, want a SyntaxError", tc.expr, err)
			}
			if se.Offset != tc.offset {
				t.Errorf("Compile(%q) offset = %d, want %d (%v)", tc.expr, se.Offset, tc.offset, err)
			}
		})
	}
}

// FuzzCompile checks that no expression makes the parser, or evaluation over an
// official example, panic.
func FuzzCompile(f *testing.F) {
	_, tests := MustLoadSuite(f)
	for _, tc := range tests {
		f.Add(tc.Expression.Text)
	}
	for _, sp := range MustLoadSearchParameters(f) {
		if sp.Expression != "" {
			f.Add(sp.Expression)
		}
	}
	patient := MustDecode(f, testPatient)
	f.Fuzz(func(t *testing.T, src string) {
		e, err := fhirpath.Compile(src)
		if err != nil {
			return
		}
		_, _ = e.Evaluate(patient)
	})
}
