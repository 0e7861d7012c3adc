package gen

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// editDistance is the Damerau-Levenshtein distance (optimal string alignment) of
// two strings: insertions, deletions, substitutions and swaps of neighbours.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

func TestTypoIsOneEditAwayAndKeepsTheInitial(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, name := range append(append([]string{}, families...), givenFemale...) {
		for k := 0; k < 20; k++ {
			got := typo(r, name)
			if got == name && len([]rune(name)) >= 4 {
				t.Errorf("typo(%q) left it unchanged", name)
			}
			if d := editDistance(name, got); d > 1 {
				t.Errorf("typo(%q) = %q, %d edits away, want 1", name, got, d)
			}
			if got != "" && got[0] != name[0] {
				t.Errorf("typo(%q) = %q changed the initial", name, got)
			}
		}
	}
}

func TestSurnameForms(t *testing.T) {
	tests := []struct {
		family string
		want   []string // each must be among the forms
	}{
		{"Garcia Lopez", []string{"Garcia-Lopez", "GarciaLopez", "Garcia"}},
		{"Smith-Jones", []string{"Smith Jones", "Smith", "Jones"}},
		{"O'Brien", []string{"OBrien", "O Brien"}},
		{"De La Cruz", []string{"De-La-Cruz", "DeLaCruz", "Cruz"}},
		{"St. Pierre", []string{"StPierre"}},
		{"Smith", nil},
	}
	for _, tt := range tests {
		got := surnameForms(tt.family)
		if len(tt.want) == 0 && len(got) > 0 {
			t.Errorf("surnameForms(%q) = %q, want none", tt.family, got)
		}
		for _, w := range tt.want {
			if !strings.Contains("|"+strings.Join(got, "|")+"|", "|"+w+"|") {
				t.Errorf("surnameForms(%q) = %q, want it to hold %q", tt.family, got, w)
			}
		}
	}
}

func TestNicknamesBelongToTheirNames(t *testing.T) {
	for given, ns := range nicknames {
		if !containsString(givenMale, given) && !containsString(givenFemale, given) {
			t.Errorf("nickname list for %q, which is no given name", given)
		}
		for _, n := range ns {
			if n == given {
				t.Errorf("%q is its own nickname", given)
			}
		}
	}
	if got := nickname(rand.New(rand.NewPCG(1, 1)), "William"); got != "Bill" && got != "Will" && got != "Billy" {
		t.Errorf("nickname(William) = %q, want Bill, Will or Billy", got)
	}
}

func containsString(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
