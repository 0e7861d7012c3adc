package service

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"omnichart/internal/fhir"
)

// SameIdentity is the identity rule of conditional Patient writes: it reports
// whether incoming, a Patient a source sends under an identifier, can describe the
// same person as old, the source's record that the identifier matched. They
// describe different people when two of birth date, sex and name differ (a name
// differs when no name of one is, up to a typo, a name of the other), or when
// their names share nothing at all: neither a family nor a first given name alike.
// Everything else is an update of the same person: a new address or phone, a
// corrected name or birth date, a name change after marriage. What is missing on
// either side never contradicts.
//
// The rule is deliberately narrow: it only keeps a source from writing one
// person's data over another's record. Whether records are the same person across
// sources is the patient matcher's decision. See docs/identity.md.
func SameIdentity(old, incoming map[string]any) bool {
	differ := 0
	if birthDiffers(old, incoming) {
		differ++
	}
	if sexDiffers(old, incoming) {
		differ++
	}
	if namesDiffer(old, incoming) {
		differ++
	}
	return differ < 2 && !namesUnrelated(old, incoming)
}

// birthDiffers reports two birth dates that are both known and differ at the
// precision both have.
func birthDiffers(a, b map[string]any) bool {
	b1, b2 := fhir.String(a, "birthDate"), fhir.String(b, "birthDate")
	return b1 != "" && b2 != "" && !strings.HasPrefix(b1, b2) && !strings.HasPrefix(b2, b1)
}

// namesUnrelated reports that both records have names and no family name or first
// given name of one is like any of the other's.
func namesUnrelated(a, b map[string]any) bool {
	na, nb := names(a), names(b)
	if len(na) == 0 || len(nb) == 0 {
		return false
	}
	for _, x := range na {
		for _, y := range nb {
			parts := []string{x.family, x.given}
			for _, p := range parts {
				for _, q := range []string{y.family, y.given} {
					if p != "" && q != "" && similarPart(p, q) {
						return false
					}
				}
			}
		}
	}
	return true
}

// sexDiffers reports two administrative genders that are both known and differ.
func sexDiffers(a, b map[string]any) bool {
	known := func(g string) bool { return g == "male" || g == "female" }
	g1, g2 := fhir.String(a, "gender"), fhir.String(b, "gender")
	return known(g1) && known(g2) && g1 != g2
}

// personName is a name reduced for comparison.
type personName struct {
	family string
	given  string // the first given name
}

func names(res map[string]any) []personName {
	var out []personName
	for _, n := range fhir.Array(res, "name") {
		m, _ := n.(map[string]any)
		pn := personName{family: normalizeName(fhir.String(m, "family"))}
		for _, g := range fhir.Array(m, "given") {
			if s, ok := g.(string); ok && normalizeName(s) != "" {
				pn.given = normalizeName(s)
				break
			}
		}
		if pn.family == "" && pn.given == "" {
			if text := strings.Fields(normalizeName(fhir.String(m, "text"))); len(text) > 0 {
				pn.given, pn.family = text[0], text[len(text)-1]
			}
		}
		if pn.family != "" || pn.given != "" {
			out = append(out, pn)
		}
	}
	return out
}

// namesDiffer reports that both records have names and no name of one is, up to a
// typo, a name of the other.
func namesDiffer(a, b map[string]any) bool {
	na, nb := names(a), names(b)
	if len(na) == 0 || len(nb) == 0 {
		return false
	}
	for _, x := range na {
		for _, y := range nb {
			if similarName(x, y) {
				return false
			}
		}
	}
	return true
}

func similarName(x, y personName) bool {
	if similarPart(x.family, y.family) && similarGiven(x.given, y.given) {
		return true
	}
	// Family and given name swapped.
	return x.family != "" && x.given != "" && similarPart(x.family, y.given) && similarPart(x.given, y.family)
}

// similarGiven allows, besides typos, an initial or a shortened form ("J", "Rob").
func similarGiven(a, b string) bool {
	if a == "" || b == "" {
		return true
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	if (len(a) == 1 || len(a) >= 3) && strings.HasPrefix(b, a) {
		return true
	}
	return similarPart(a, b)
}

// similarPart allows one edit (two for long names), and one part of a hyphenated
// or two-part name standing for the whole.
func similarPart(a, b string) bool {
	if a == "" || b == "" || a == b {
		return true
	}
	limit := 1
	if min(len(a), len(b)) >= 8 {
		limit = 2
	}
	if editDistance(a, b) <= limit {
		return true
	}
	pa, pb := strings.Fields(a), strings.Fields(b)
	for _, x := range pa {
		for _, y := range pb {
			if len(x) >= 3 && x == y {
				return true
			}
		}
	}
	return false
}

// normalizeName lowercases, drops diacritics, and turns punctuation and hyphens
// into single spaces.
func normalizeName(s string) string {
	var b strings.Builder
	space := false
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(r))
		default:
			space = true
		}
	}
	return b.String()
}

// editDistance is the optimal string alignment distance: insertions, deletions,
// substitutions and transpositions of adjacent letters each count one.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
