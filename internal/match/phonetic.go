package match

import "strings"

// DoubleMetaphone returns the primary and alternate Double Metaphone codes of
// a name, each at most maxLen characters (Philips used 4); the alternate
// equals the primary when the name has one pronunciation. The input is folded
// first (case, diacritics, punctuation), and letters outside A to Z are
// skipped. "0" stands for the th sound, "X" for sh and ch, "J" for the j of
// "James", "A" for a vowel that starts the name.
//
// This is an implementation of the algorithm as Lawrence Philips described it
// in "The Double Metaphone Search Algorithm", C/C++ Users Journal 18(6), June
// 2000: Smith gives SM0 and XMT, Schmidt XMT and SMT, so the two meet in XMT.
func DoubleMetaphone(name string, maxLen int) (primary, alternate string) {
	var b strings.Builder
	for _, r := range strings.ToUpper(foldText(name)) {
		if (r >= 'A' && r <= 'Z') || r == ' ' {
			b.WriteRune(r)
		}
	}
	w := strings.TrimSpace(b.String())
	if w == "" || maxLen < 1 {
		return "", ""
	}
	m := &metaphone{w: w + "     ", n: len(w), max: maxLen}
	m.run()
	p, a := m.p.String(), m.a.String()
	if len(p) > maxLen {
		p = p[:maxLen]
	}
	if len(a) > maxLen {
		a = a[:maxLen]
	}
	return p, a
}

// metaphone is the state of one encoding: the word padded with five spaces, its
// length without them, and the two codes being written.
type metaphone struct {
	w    string
	n    int
	max  int
	p, a strings.Builder
}

// at returns the letter at i, or 0 outside the word and its padding.
func (m *metaphone) at(i int) byte {
	if i < 0 || i >= len(m.w) {
		return 0
	}
	return m.w[i]
}

// is reports whether the letters at i spell one of subs (all of one length).
func (m *metaphone) is(i int, subs ...string) bool {
	if i < 0 {
		return false
	}
	for _, s := range subs {
		if i+len(s) <= len(m.w) && m.w[i:i+len(s)] == s {
			return true
		}
	}
	return false
}

func (m *metaphone) vowel(i int) bool {
	if i < 0 || i >= m.n {
		return false
	}
	switch m.w[i] {
	case 'A', 'E', 'I', 'O', 'U', 'Y':
		return true
	}
	return false
}

// slavoGermanic reports a name whose spelling follows Slavic or German rules.
func (m *metaphone) slavoGermanic() bool {
	return strings.ContainsAny(m.w, "WK") || strings.Contains(m.w, "CZ") || strings.Contains(m.w, "WITZ")
}

// add appends main to the primary code and alt to the alternate; alt "-"
// means "the same as main", and an alt of " " appends nothing to the alternate.
func (m *metaphone) add(main, alt string) {
	m.p.WriteString(main)
	switch alt {
	case "-":
		m.a.WriteString(main)
	case " ":
	default:
		m.a.WriteString(alt)
	}
}

func (m *metaphone) add1(main string) { m.add(main, "-") }

// simpleCodes are the codes of letters with no rules, by letter; a doubled
// letter is coded once.
var simpleCodes = [26]string{'F' - 'A': "F", 'K' - 'A': "K", 'N' - 'A': "N", 'Q' - 'A': "K", 'V' - 'A': "F"}

// step returns 2 when the letter at i+1 is c (a doubled letter) and 1 otherwise.
func (m *metaphone) step(i int, c byte) int {
	if m.at(i+1) == c {
		return 2
	}
	return 1
}

func (m *metaphone) run() {
	i := 0
	last := m.n - 1
	if m.is(0, "GN", "KN", "PN", "WR", "PS") {
		i++
	}
	if m.at(0) == 'X' { // Xavier
		m.add1("S")
		i++
	}
	for i < m.n && (m.p.Len() < m.max || m.a.Len() < m.max) {
		switch c := m.at(i); c {
		case 'A', 'E', 'I', 'O', 'U', 'Y':
			if i == 0 {
				m.add1("A")
			}
			i++
		case 'B':
			m.add1("P")
			i += m.step(i, 'B')
		case 'C':
			i += m.c(i)
		case 'D':
			switch {
			case m.is(i, "DG") && m.is(i+2, "I", "E", "Y"): // edge
				m.add1("J")
				i += 3
			case m.is(i, "DG"): // edgar
				m.add1("TK")
				i += 2
			case m.is(i, "DT", "DD"):
				m.add1("T")
				i += 2
			default:
				m.add1("T")
				i++
			}
		case 'F', 'K', 'N', 'Q', 'V':
			m.add1(simpleCodes[c-'A'])
			i += m.step(i, c)
		case 'G':
			i += m.g(i)
		case 'H':
			// Kept only at the start or between vowels.
			if (i == 0 || m.vowel(i-1)) && m.vowel(i+1) {
				m.add1("H")
				i += 2
			} else {
				i++
			}
		case 'J':
			i += m.j(i, last)
		case 'L':
			if m.at(i+1) == 'L' {
				// Spanish: Cabrillo, Gallegos.
				if (i == m.n-3 && m.is(i-1, "ILLO", "ILLA", "ALLE")) ||
					((m.is(last-1, "AS", "OS") || m.is(last, "A", "O")) && m.is(i-1, "ALLE")) {
					m.add("L", " ")
					i += 2
					continue
				}
				i += 2
			} else {
				i++
			}
			m.add1("L")
		case 'M':
			if (m.is(i-1, "UMB") && (i+1 == last || m.is(i+2, "ER"))) || m.at(i+1) == 'M' { // dumb, thumb
				i += 2
			} else {
				i++
			}
			m.add1("M")
		case 'P':
			switch {
			case m.at(i+1) == 'H':
				m.add1("F")
				i += 2
			case m.is(i+1, "P", "B"): // Campbell, raspberry
				m.add1("P")
				i += 2
			default:
				m.add1("P")
				i++
			}
		case 'R':
			// French Rogier, but not Hochmeier.
			if i == last && !m.slavoGermanic() && m.is(i-2, "IE") && !m.is(i-4, "ME", "MA") {
				m.add("", "R")
			} else {
				m.add1("R")
			}
			i += m.step(i, 'R')
		case 'S':
			i += m.s(i, last)
		case 'T':
			i += m.t(i)
		case 'W':
			i += m.wLetter(i, last)
		case 'X':
			// French Breaux.
			if !(i == last && (m.is(i-3, "IAU", "EAU") || m.is(i-2, "AU", "OU"))) {
				m.add1("KS")
			}
			if m.is(i+1, "C", "X") {
				i += 2
			} else {
				i++
			}
		case 'Z':
			if m.at(i+1) == 'H' { // Chinese Zhao
				m.add1("J")
				i += 2
				continue
			}
			if m.is(i+1, "ZO", "ZI", "ZA") || (m.slavoGermanic() && i > 0 && m.at(i-1) != 'T') {
				m.add("S", "TS")
			} else {
				m.add1("S")
			}
			i += m.step(i, 'Z')
		default:
			i++
		}
	}
}

// c codes a C at i and returns how many letters it used.
func (m *metaphone) c(i int) int {
	switch {
	case i > 1 && !m.vowel(i-2) && m.is(i-1, "ACH") && m.at(i+2) != 'I' &&
		(m.at(i+2) != 'E' || m.is(i-2, "BACHER", "MACHER")): // Germanic: Bacher
		m.add1("K")
		return 2
	case i == 0 && m.is(i, "CAESAR"):
		m.add1("S")
		return 2
	case m.is(i, "CHIA"): // Italian: chianti
		m.add1("K")
		return 2
	case m.is(i, "CH"):
		switch {
		case i > 0 && m.is(i, "CHAE"): // Michael
			m.add("K", "X")
		case i == 0 && (m.is(i+1, "HARAC", "HARIS") || m.is(i+1, "HOR", "HYM", "HIA", "HEM")) && !m.is(0, "CHORE"): // Greek: chorus
			m.add1("K")
		case m.is(0, "VAN ", "VON ") || m.is(0, "SCH") || m.is(i-2, "ORCHES", "ARCHIT", "ORCHID") || m.is(i+2, "T", "S") ||
			((m.is(i-1, "A", "O", "U", "E") || i == 0) && m.is(i+2, "L", "R", "N", "M", "B", "H", "F", "V", "W", " ")):
			m.add1("K")
		case i > 0 && m.is(0, "MC"): // McHugh
			m.add1("K")
		case i > 0:
			m.add("X", "K")
		default:
			m.add1("X")
		}
		return 2
	case m.is(i, "CZ") && !m.is(i-2, "WICZ"): // Czerny
		m.add("S", "X")
		return 2
	case m.is(i+1, "CIA"): // focaccia
		m.add1("X")
		return 3
	case m.is(i, "CC") && !(i == 1 && m.at(0) == 'M'): // but not McClellan
		if m.is(i+2, "I", "E", "H") && !m.is(i+2, "HU") { // bellocchio, but not bacchus
			if (i == 1 && m.at(i-1) == 'A') || m.is(i-1, "UCCEE", "UCCES") { // accident, succeed
				m.add1("KS")
			} else { // bacci, bertucci
				m.add1("X")
			}
			return 3
		}
		m.add1("K")
		return 2
	case m.is(i, "CK", "CG", "CQ"):
		m.add1("K")
		return 2
	case m.is(i, "CI", "CE", "CY"):
		if m.is(i, "CIO", "CIE", "CIA") {
			m.add("S", "X")
		} else {
			m.add1("S")
		}
		return 2
	}
	m.add1("K")
	switch {
	case m.is(i+1, " C", " Q", " G"): // Mac Caffrey, Mac Gregor
		return 3
	case m.is(i+1, "C", "K", "Q") && !m.is(i+1, "CE", "CI"):
		return 2
	}
	return 1
}

// g codes a G at i.
func (m *metaphone) g(i int) int {
	if m.at(i+1) == 'H' {
		switch {
		case i > 0 && !m.vowel(i-1):
			m.add1("K")
		case i == 0: // Ghislane, Ghiradelli
			if m.at(i+2) == 'I' {
				m.add1("J")
			} else {
				m.add1("K")
			}
		case (i > 1 && m.is(i-2, "B", "H", "D")) || (i > 2 && m.is(i-3, "B", "H", "D")) || (i > 3 && m.is(i-4, "B", "H")):
			// Parker's rule: hugh, bough, broughton.
		case i > 2 && m.at(i-1) == 'U' && m.is(i-3, "C", "G", "L", "R", "T"): // laugh, cough, tough
			m.add1("F")
		case i > 0 && m.at(i-1) != 'I':
			m.add1("K")
		}
		return 2
	}
	if m.at(i+1) == 'N' {
		switch {
		case i == 1 && m.vowel(0) && !m.slavoGermanic():
			m.add("KN", "N")
		case !m.is(i+2, "EY") && m.at(i+1) != 'Y' && !m.slavoGermanic(): // not cagney
			m.add("N", "KN")
		default:
			m.add1("KN")
		}
		return 2
	}
	switch {
	case m.is(i+1, "LI") && !m.slavoGermanic(): // tagliaro
		m.add("KL", "L")
		return 2
	case i == 0 && (m.at(i+1) == 'Y' || m.is(i+1, "ES", "EP", "EB", "EL", "EY", "IB", "IL", "IN", "IE", "EI", "ER")):
		m.add("K", "J")
		return 2
	case (m.is(i+1, "ER") || m.at(i+1) == 'Y') && !m.is(0, "DANGER", "RANGER", "MANGER") &&
		!m.is(i-1, "E", "I") && !m.is(i-1, "RGY", "OGY"):
		m.add("K", "J")
		return 2
	case m.is(i+1, "E", "I", "Y") || m.is(i-1, "AGGI", "OGGI"): // Italian: biaggi
		switch {
		case m.is(0, "VAN ", "VON ") || m.is(0, "SCH") || m.is(i+1, "ET"):
			m.add1("K")
		case m.is(i+1, "IER "):
			m.add1("J")
		default:
			m.add("J", "K")
		}
		return 2
	}
	m.add1("K")
	return m.step(i, 'G')
}

// j codes a J at i.
func (m *metaphone) j(i, last int) int {
	if m.is(i, "JOSE") || m.is(0, "SAN ") { // Spanish: Jose, San Jacinto
		if (i == 0 && m.at(i+4) == ' ') || m.is(0, "SAN ") {
			m.add1("H")
		} else {
			m.add("J", "H")
		}
		return 1
	}
	switch {
	case i == 0:
		m.add("J", "A") // Yankelovich, Jankelowicz
	case m.vowel(i-1) && !m.slavoGermanic() && (m.at(i+1) == 'A' || m.at(i+1) == 'O'): // bajador
		m.add("J", "H")
	case i == last:
		m.add("J", " ")
	case !m.is(i+1, "L", "T", "K", "S", "N", "M", "B", "Z") && !m.is(i-1, "S", "K", "L"):
		m.add1("J")
	}
	return m.step(i, 'J')
}

// s codes an S at i.
func (m *metaphone) s(i, last int) int {
	switch {
	case m.is(i-1, "ISL", "YSL"): // island, carlisle
		return 1
	case i == 0 && m.is(i, "SUGAR"):
		m.add("X", "S")
		return 1
	case m.is(i, "SH"):
		if m.is(i+1, "HEIM", "HOEK", "HOLM", "HOLZ") { // Germanic
			m.add1("S")
		} else {
			m.add1("X")
		}
		return 2
	case m.is(i, "SIO", "SIA") || m.is(i, "SIAN"): // Italian, Armenian
		if m.slavoGermanic() {
			m.add1("S")
		} else {
			m.add("S", "X")
		}
		return 3
	case (i == 0 && m.is(i+1, "M", "N", "L", "W")) || m.is(i+1, "Z"):
		// Smith matches Schmidt, Snider Schneider; -sz- in Slavic names.
		m.add("S", "X")
		if m.is(i+1, "Z") {
			return 2
		}
		return 1
	case m.is(i, "SC"):
		if m.at(i+2) == 'H' { // Schlesinger's rule
			if m.is(i+3, "OO", "ER", "EN", "UY", "ED", "EM") { // Dutch: school, schooner
				if m.is(i+3, "ER", "EN") { // Schermerhorn, Schenker
					m.add("X", "SK")
				} else {
					m.add1("SK")
				}
				return 3
			}
			if i == 0 && !m.vowel(3) && m.at(3) != 'W' {
				m.add("X", "S")
			} else {
				m.add1("X")
			}
			return 3
		}
		if m.is(i+2, "I", "E", "Y") {
			m.add1("S")
		} else {
			m.add1("SK")
		}
		return 3
	}
	if i == last && m.is(i-2, "AI", "OI") { // French: Resnais, Artois
		m.add("", "S")
	} else {
		m.add1("S")
	}
	if m.is(i+1, "S", "Z") {
		return 2
	}
	return 1
}

// t codes a T at i.
func (m *metaphone) t(i int) int {
	switch {
	case m.is(i, "TION"):
		m.add1("X")
		return 3
	case m.is(i, "TIA", "TCH"):
		m.add1("X")
		return 3
	case m.is(i, "TH") || m.is(i, "TTH"):
		if m.is(i+2, "OM", "AM") || m.is(0, "VAN ", "VON ") || m.is(0, "SCH") { // Thomas, Thames
			m.add1("T")
		} else {
			m.add("0", "T")
		}
		return 2
	case m.is(i+1, "T", "D"):
		m.add1("T")
		return 2
	}
	m.add1("T")
	return 1
}

// wLetter codes a W at i.
func (m *metaphone) wLetter(i, last int) int {
	if m.is(i, "WR") {
		m.add1("R")
		return 2
	}
	if i == 0 && (m.vowel(i+1) || m.is(i, "WH")) {
		if m.vowel(i + 1) { // Wasserman matches Vasserman
			m.add("A", "F")
		} else {
			m.add1("A")
		}
	}
	if (i == last && m.vowel(i-1)) || m.is(i-1, "EWSKI", "EWSKY", "OWSKI", "OWSKY") || m.is(0, "SCH") { // Arnow, Arnoff
		m.add("", "F")
		return 1
	}
	if m.is(i, "WICZ", "WITZ") { // Polish: Filipowicz
		m.add("TS", "FX")
		return 4
	}
	return 1
}
