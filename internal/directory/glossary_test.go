package directory_test

import (
	"slices"
	"strings"
	"testing"

	"omnichart/internal/directory"
)

// TestGlossaryExplainsEveryAbbreviationOfTheDirectory checks that every
// abbreviation the issue names, and every one the criteria's plain words and the
// interfaces use, is in the glossary.
func TestGlossaryExplainsEveryAbbreviationOfTheDirectory(t *testing.T) {
	required := []string{"EHR", "EMR", "ONC", "CHPL", "CCD", "C-CDA", "ADT", "ORU", "VXU", "MLLP", "FHIR", "SMART", "USCDI"}
	for _, a := range required {
		if _, ok := directory.Lookup(a); !ok {
			t.Errorf("the glossary has no %s", a)
		}
	}
	// Upper-case words of two or more letters in the texts pages show, which
	// are abbreviations unless listed here as words.
	notAbbreviations := []string{"R4", "XML", "TCP", "US", "XDR", "XDM", "NCPDP", "SCRIPT", "CDC", "OAuth", "eCR", "II"}
	var texts []string
	for _, in := range directory.Interfaces {
		texts = append(texts, in.Display)
	}
	for _, c := range []string{"170.315 (a)(1)", "170.315 (a)(14)", "170.315 (b)(1)", "170.315 (b)(3)", "170.315 (f)(1)", "170.315 (f)(2)",
		"170.315 (f)(3)", "170.315 (f)(4)", "170.315 (g)(10)", "170.315 (c)(3)"} {
		w := directory.CriterionWords(c)
		if w == "" {
			t.Fatalf("no words for %s", c)
		}
		texts = append(texts, w)
	}
	n := 0
	for _, text := range texts {
		for _, word := range strings.FieldsFunc(text, func(r rune) bool { return r == ' ' || r == ',' || r == '(' || r == ')' || r == '.' }) {
			if len(word) < 2 || strings.ToUpper(word) != word || slices.Contains(notAbbreviations, word) || strings.ContainsAny(word, "0123456789") && word != "HL7" {
				continue
			}
			n++
			if _, ok := directory.Lookup(word); !ok && word != "HL7" {
				t.Errorf("%q uses %s, which the glossary does not explain", text, word)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d abbreviations found in the texts", n)
	}
	if got := directory.Abbreviations("Sends HL7 v2 ORU messages over MLLP to the EHR"); strings.Join(got, ",") != "HL7 v2,ORU,MLLP,EHR" {
		t.Errorf("Abbreviations = %v, want HL7 v2, ORU, MLLP, EHR in order", got)
	}
}
