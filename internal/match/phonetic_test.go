package match_test

import (
	"testing"

	"omnichart/internal/match"
)

// The cases come from Philips' article ("The Double Metaphone Search
// Algorithm", C/C++ Users Journal, June 2000) and the comments of his
// reference implementation, each naming the rule it exercises.
func TestDoubleMetaphone(t *testing.T) {
	tests := []struct {
		name, word, primary, alternate string
	}{
		{"Smith has an anglicised and a German code", "Smith", "SM0", "XMT"},
		{"Schmidt meets Smith in its primary code", "Schmidt", "XMT", "SMT"},
		{"an initial X sounds like S", "Xavier", "SF", "SFR"},
		{"ch in Michael is K or the X of the French", "Michael", "MKL", "MXL"},
		{"Caesar starts with S", "Caesar", "SSR", "SSR"},
		{"Spanish ll is silent in the alternate", "Gallegos", "KLKS", "KKS"},
		{"Spanish ll in Cabrillo", "Cabrillo", "KPRL", "KPR"},
		{"an initial J is J or the Y of German names", "Jankelowicz", "JNKL", "ANKL"},
		{"Jose is Spanish", "Jose", "HS", "HS"},
		{"a final w after a vowel is also F", "Arnow", "ARN", "ARNF"},
		{"mb at the end is M", "Dumb", "TM", "TM"},
		{"pb is P", "Campbell", "KMPL", "KMPL"},
		{"dg before e is J", "Edge", "AJ", "AJ"},
		{"dg before a is TK", "Edgar", "ATKR", "ATKR"},
		{"gli is KL or L", "Tagliaro", "TKLR", "TLR"},
		{"th before om is T", "Thomas", "TMS", "TMS"},
		{"Chinese zh is J", "Zhao", "J", "J"},
		{"cch before u is K", "Bacchus", "PKS", "PKS"},
		{"acc before i is KS", "Accident", "AKST", "AKST"},
		{"ccia is X", "Focaccia", "FKX", "FKX"},
		{"an initial kn loses its K", "Knight", "NT", "NT"},
		{"gh after ou of laugh is F", "Laugh", "LF", "LF"},
		{"gh after Hu is silent (Parker's rule)", "Hugh", "H", "H"},
		{"an initial W before a vowel is A or F", "Wasserman", "ASRM", "FSRM"},
		{"sch before er is X or SK", "Schenker", "XNKR", "SKNK"},
		{"cz is S or X", "Czerny", "SRN", "XRN"},
		{"Polish wicz is TS or FX", "Filipowicz", "FLPT", "FLPF"},
		{"French eaux is silent", "Breaux", "PR", "PR"},
		{"diacritics are folded", "Müller", "MLR", "MLR"},
		{"case and punctuation do not matter", "o'BRIEN", "APRN", "APRN"},
		{"an empty name has no code", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, a := match.DoubleMetaphone(tt.word, 4)
			if p != tt.primary || a != tt.alternate {
				t.Errorf("DoubleMetaphone(%q, 4) = %q, %q, want %q, %q", tt.word, p, a, tt.primary, tt.alternate)
			}
		})
	}
}
