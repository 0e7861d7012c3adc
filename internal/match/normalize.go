package match

import (
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Normalisers turn what sources write into the forms the comparators compare.
// Each is pure, and returns "" (or the zero value) for input it cannot read,
// which the comparators treat as missing, never as a disagreement.

// foldText lower-cases s and removes diacritics (NFD, combining marks dropped,
// and the letters that do not decompose spelled out: ß ss, æ ae, ø o, ł l).
// Apostrophes and periods vanish ("O'Brien" obrien, "St." st); every other run
// of characters that is neither a letter nor a digit becomes one space.
func foldText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == '\'' || r == '’' || r == '‘' || r == '`' || r == '.':
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			if x, ok := spelled[unicode.ToLower(r)]; ok {
				b.WriteString(x)
				continue
			}
			b.WriteRune(unicode.ToLower(r))
		default:
			space = true
		}
	}
	return b.String()
}

// spelled are letters that NFD does not decompose into a base letter.
var spelled = map[rune]string{
	'ß': "ss", 'æ': "ae", 'œ': "oe", 'ø': "o", 'ł': "l", 'đ': "d", 'ð': "d", 'þ': "th", 'ı': "i",
}

// nameSuffixes are generational and professional suffixes, in the one form
// they are compared in.
var nameSuffixes = map[string]string{
	"jr": "jr", "junior": "jr", "sr": "sr", "senior": "sr",
	"i": "i", "1st": "i", "ii": "ii", "2nd": "ii", "iii": "iii", "3rd": "iii", "iv": "iv", "4th": "iv", "v": "v", "5th": "v",
}

// professional suffixes and prefixes say nothing about who someone is.
var nameTitles = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "miss": true, "dr": true, "prof": true, "rev": true,
	"md": true, "phd": true, "rn": true, "do": true, "dds": true, "esq": true,
}

// NormalizeSuffix returns the generational suffix s stands for ("Jr." jr,
// "III" iii, "2nd" ii), or "" when it is none.
func NormalizeSuffix(s string) string {
	return nameSuffixes[strings.ReplaceAll(foldText(s), " ", "")]
}

// familyParticles are the small words of family names (de, van, st) that are
// written joined, apart or not at all.
var familyParticles = map[string]bool{
	"de": true, "del": true, "della": true, "la": true, "las": true, "los": true, "le": true, "van": true, "von": true,
	"der": true, "den": true, "du": true, "da": true, "di": true, "dos": true, "das": true, "st": true, "ter": true, "ten": true,
}

// FamilyName is a family name prepared for comparison.
type FamilyName struct {
	// Compact is the whole name folded, without spaces, hyphens or punctuation:
	// "De La Cruz", "DeLaCruz" and "de la cruz" are all delacruz.
	Compact string
	// Parts are its words other than particles, at least two letters long:
	// "Garcia-Lopez" garcia and lopez, "Van der Berg" berg.
	Parts []string
	// Suffix is a generational suffix written inside the family name ("Smith Jr").
	Suffix string
	// Words is the number of words it was written in, particles included.
	Words int
}

// NormalizeFamily prepares a family name. "Saint" is written st, as most
// registries abbreviate it.
func NormalizeFamily(s string) FamilyName {
	words := strings.Fields(foldText(s))
	var f FamilyName
	for len(words) > 1 {
		last := words[len(words)-1]
		if sfx, ok := nameSuffixes[last]; ok && last != "v" && last != "i" {
			f.Suffix = sfx
		} else if !nameTitles[last] {
			break
		}
		words = words[:len(words)-1]
	}
	for i, w := range words {
		if w == "saint" {
			words[i] = "st"
		}
	}
	f.Compact = strings.Join(words, "")
	f.Words = len(words)
	for _, w := range words {
		if !familyParticles[w] && len(w) >= 2 {
			f.Parts = append(f.Parts, w)
		}
	}
	return f
}

// GivenNames are the given names of one HumanName prepared for comparison.
type GivenNames struct {
	// First is the first given name, folded ("Mary-Jane" maryjane).
	First string
	// Others are the middle names or initials that follow.
	Others []string
	// Suffix is a generational suffix written among the given names.
	Suffix string
}

// NormalizeGiven prepares the given names of a HumanName. Titles are dropped;
// "J. Robert" gives First j and Others robert; a first name written with a
// hyphen is one name.
func NormalizeGiven(given []string) GivenNames {
	var g GivenNames
	for i, s := range given {
		words := strings.Fields(foldText(strings.ReplaceAll(s, "-", "")))
		for j, w := range words {
			if nameTitles[w] && len(words) > 1 {
				continue
			}
			if sfx, ok := nameSuffixes[w]; ok && (i > 0 || j > 0) && len(w) > 1 {
				g.Suffix = sfx
				continue
			}
			if g.First == "" {
				g.First = w
			} else {
				g.Others = append(g.Others, w)
			}
		}
	}
	return g
}

// Date is a birth date at the precision it was given: Month and Day are 0
// when unknown. The zero Date is missing.
type Date struct{ Year, Month, Day int }

// IsZero reports a missing date.
func (d Date) IsZero() bool { return d.Year == 0 }

// String writes the date as FHIR does, at its precision.
func (d Date) String() string {
	switch {
	case d.Year == 0:
		return ""
	case d.Month == 0:
		return strconv.Itoa(d.Year)
	case d.Day == 0:
		return strconv.Itoa(d.Year) + "-" + twoDigits(d.Month)
	}
	return strconv.Itoa(d.Year) + "-" + twoDigits(d.Month) + "-" + twoDigits(d.Day)
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// digits returns the date as YYYYMMDD, or "" unless it is a full date.
func (d Date) digits() string {
	if d.Day == 0 {
		return ""
	}
	return strconv.Itoa(d.Year) + twoDigits(d.Month) + twoDigits(d.Day)
}

// ParseDate reads a FHIR date or dateTime ("1984", "1984-05", "1984-05-03",
// "1984-05-03T10:00:00Z") and the HL7 v2 forms (YYYY, YYYYMM, YYYYMMDD). It
// returns the zero Date for anything else, and for a year before 1850 or a
// month or day that cannot exist.
func ParseDate(s string) Date {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, 'T'); i >= 0 {
		s = s[:i]
	}
	var parts []string
	switch {
	case strings.Contains(s, "-"):
		parts = strings.Split(s, "-")
	case len(s) == 4:
		parts = []string{s}
	case len(s) == 6:
		parts = []string{s[:4], s[4:]}
	case len(s) == 8:
		parts = []string{s[:4], s[4:6], s[6:]}
	default:
		return Date{}
	}
	if len(parts) > 3 || len(parts[0]) != 4 {
		return Date{}
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || (i > 0 && len(p) != 2) {
			return Date{}
		}
		n[i] = v
	}
	d := Date{n[0], n[1], n[2]}
	if d.Year < 1850 || d.Year > 2200 || (len(parts) > 1 && (d.Month < 1 || d.Month > 12)) ||
		(len(parts) > 2 && (d.Day < 1 || d.Day > daysIn(d.Year, d.Month))) {
		return Date{}
	}
	return d
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// Address is a postal address prepared for comparison.
type Address struct {
	// Number is the house number ("1585", "12a"); Street the street name with its
	// type and directions abbreviated as USPS Publication 28 does ("center st",
	// "n main st"); Unit the apartment or suite without its word ("2b").
	Number, Street, Unit string
	// City is folded; Zip is the five-digit ZIP code.
	City, Zip string
}

// IsZero reports an address with nothing to compare.
func (a Address) IsZero() bool { return a.Street == "" && a.Zip == "" && a.City == "" }

// streetTypes are USPS Publication 28 street suffixes, and directions the
// words for north to south-west; both are compared abbreviated.
var (
	streetTypes = map[string]string{
		"street": "st", "str": "st", "avenue": "ave", "av": "ave", "avn": "ave", "road": "rd", "drive": "dr", "drv": "dr",
		"lane": "ln", "court": "ct", "crt": "ct", "boulevard": "blvd", "boul": "blvd", "terrace": "ter", "terr": "ter",
		"place": "pl", "circle": "cir", "highway": "hwy", "parkway": "pkwy", "pky": "pkwy", "square": "sq", "trail": "trl",
		"alley": "aly", "center": "ctr", "centre": "ctr", "heights": "hts", "point": "pt", "ridge": "rdg", "route": "rte",
		"turnpike": "tpke", "expressway": "expy", "extension": "ext",
	}
	directions = map[string]string{
		"north": "n", "south": "s", "east": "e", "west": "w", "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
	}
)

// unitWords introduce an apartment, suite or unit.
var unitWords = map[string]bool{
	"apt": true, "apartment": true, "unit": true, "suite": true, "ste": true, "room": true, "rm": true,
	"fl": true, "floor": true, "bldg": true, "building": true,
}

// NormalizeAddress prepares an address from its lines, city and postal code.
// The unit may be on a line of its own ("Apt 2B", "Unit 2B", "#2B") or at the
// end of the street line. Only the last word of the street (its type) and
// directions are abbreviated, so "Center Street" is center st, not ctr st.
func NormalizeAddress(lines []string, city, postalCode string) Address {
	var a Address
	var street []string
	for _, line := range lines {
		words := strings.Fields(foldText(strings.ReplaceAll(line, "#", " unit ")))
		for i := 0; i < len(words); i++ {
			w := words[i]
			switch {
			case unitWords[w]:
				if i+1 < len(words) {
					a.Unit = strings.Join(words[i+1:], "")
				}
				i = len(words)
			case a.Number == "" && len(street) == 0 && startsWithDigit(w):
				a.Number = w
			default:
				street = append(street, w)
			}
		}
	}
	if len(street) > 0 && a.Number != "" && a.Unit == "" && startsWithDigit(street[len(street)-1]) && len(street) > 1 {
		// "12 Main St 4" leaves the trailing number as the unit.
		a.Unit = street[len(street)-1]
		street = street[:len(street)-1]
	}
	for i, w := range street {
		if d, ok := directions[w]; ok && len(street) > 1 {
			street[i] = d
		} else if t, ok := streetTypes[w]; ok && i == len(street)-1 && i > 0 {
			street[i] = t
		}
	}
	a.Street = strings.Join(street, " ")
	a.City = foldText(city)
	zip := onlyDigits(postalCode)
	if len(zip) >= 5 {
		a.Zip = zip[:5]
	}
	return a
}

func startsWithDigit(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }

func onlyDigits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// NormalizePhone returns the digits of a North American phone number without
// the country code ("(413) 555-0134", "+1 413 555 0134" 4135550134), any
// other number of at least seven digits as its digits, and "" for fewer
// digits or a placeholder (one digit repeated, 1234567890). An extension
// ("x12", "ext. 12") is dropped.
func NormalizePhone(s string) string {
	lower := strings.ToLower(s)
	for _, sep := range []string{"ext", "x", ";"} {
		if i := strings.Index(lower, sep); i > 0 {
			lower = lower[:i]
		}
	}
	d := onlyDigits(lower)
	if len(d) == 11 && d[0] == '1' {
		d = d[1:]
	}
	if len(d) < 7 || repeated(d) || d == "1234567890" || d == "0123456789" {
		return ""
	}
	return d
}

// repeated reports a string of one character.
func repeated(s string) bool { return strings.Count(s, s[:1]) == len(s) }

// NormalizeSSN returns the nine digits of a US Social Security number, or ""
// for anything else and for the placeholders registries type when they do not
// know it: area 000 or 666, group 00, serial 0000, one digit repeated,
// 123456789. Numbers in the 9xx area are kept: no SSN is issued there, but
// test data (and ITINs) use it.
func NormalizeSSN(s string) string {
	d := onlyDigits(s)
	if len(d) != 9 || repeated(d) || d == "123456789" || d[:3] == "000" || d[:3] == "666" || d[3:5] == "00" || d[5:] == "0000" {
		return ""
	}
	return d
}

// NormalizeIdentifier returns an identifier value as it is compared: without
// white space, in upper case. Leading zeros are kept: in many numbering
// schemes 00123 and 123 are different numbers.
func NormalizeIdentifier(s string) string {
	return strings.ToUpper(strings.Join(strings.Fields(s), ""))
}

// NormalizeEmail returns an address lower-cased, or "" when it has no @.
func NormalizeEmail(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexByte(s, '@'); i <= 0 || i == len(s)-1 {
		return ""
	}
	return s
}
