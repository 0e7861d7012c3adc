package fhirpath_test

import (
	"testing"

	"omnichart/internal/fhirpath"
)

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  string
		scale int
	}{
		{"trailing zeros are kept", "1.50", "1.50", 2},
		{"an integer has no fraction digits", "42", "42", 0},
		{"a negative exponent adds fraction digits", "1.5e-3", "0.0015", 4},
		{"a positive exponent removes them", "1.25E2", "125", 0},
		{"a negative value keeps its sign", "-0.10", "-0.10", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := fhirpath.ParseDecimal(tc.in)
			if err != nil {
				t.Fatalf("ParseDecimal(%q): %v", tc.in, err)
			}
			if d.String() != tc.want || d.Scale() != tc.scale {
				t.Errorf("ParseDecimal(%q) = %s (scale %d), want %s (scale %d)", tc.in, d, d.Scale(), tc.want, tc.scale)
			}
		})
	}
	for _, bad := range []string{"", "1.", ".5x", "+1", "1 0", "abc"} {
		if d, err := fhirpath.ParseDecimal(bad); err == nil {
			t.Errorf("ParseDecimal(%q) = %s, want an error", bad, d)
		}
	}
}
