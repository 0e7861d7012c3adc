package gen

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestNPIHasAValidCheckDigit(t *testing.T) {
	// 1234567893 is the example NPI of the CMS check-digit specification.
	if got := npi(123456789); got != "1234567893" {
		t.Errorf("npi(123456789) = %q, want 1234567893", got)
	}
}

func TestSSNTypoKeepsTheSyntheticArea(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for k := 0; k < 200; k++ {
		ssn := newSSN(r, map[string]bool{})
		got := ssnTypo(r, ssn)
		digits := func(s string) string { return strings.ReplaceAll(s, "-", "") }
		if got == ssn || got[0] != '9' || len(got) != 11 || got[3] != '-' || got[6] != '-' || editDistance(digits(ssn), digits(got)) != 1 {
			t.Errorf("ssnTypo(%q) = %q, want one digit changed or swapped, area still 9xx", ssn, got)
		}
	}
}
