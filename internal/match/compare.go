package match

// The fields two records are compared on, and each field's agreement levels,
// best first. A field is missing (and weighs nothing) when either record
// lacks it.
const (
	fGiven = iota
	fFamily
	fMiddle
	fSuffix
	fBirthDate
	fSex
	fStrongID
	fLocalID
	fAddress
	fPhone
	fEmail
	fMultipleBirth
	numFields
)

// missing is the level of a field either record lacks.
const missing int8 = -1

// fieldSpec describes one field: its name, its levels, and the level (if
// any) that is a critical conflict: evidence the records are two people that
// no sum of other agreement may overrule automatically.
type fieldSpec struct {
	name     string
	levels   []string
	critical int8 // -1 when none
}

var fieldSpecs = [numFields]fieldSpec{
	fGiven:         {"given", []string{"exact", "nickname", "phonetic", "typo", "initial", "different"}, 5},
	fFamily:        {"family", []string{"exact", "alternate", "part", "phonetic", "typo", "different"}, -1},
	fMiddle:        {"middle", []string{"exact", "initial", "different"}, -1},
	fSuffix:        {"suffix", []string{"same", "different"}, 1},
	fBirthDate:     {"birthDate", []string{"exact", "swapped", "typo", "partial", "different"}, 4},
	fSex:           {"sex", []string{"same", "different"}, 1},
	fStrongID:      {"strongIdentifier", []string{"exact", "typo", "different"}, 2},
	fLocalID:       {"localIdentifier", []string{"same", "different"}, 1},
	fAddress:       {"address", []string{"exact", "street", "town", "different"}, -1},
	fPhone:         {"phone", []string{"same", "different"}, -1},
	fEmail:         {"email", []string{"same", "different"}, -1},
	fMultipleBirth: {"multipleBirth", []string{"same", "different"}, 1},
}

// pattern is the agreement level of each field for one pair.
type pattern [numFields]int8

// key packs a pattern into an integer, four bits a field (15 for missing),
// so that patterns can be counted and sorted.
func (p pattern) key() uint64 {
	var k uint64
	for f := numFields - 1; f >= 0; f-- {
		k <<= 4
		if p[f] == missing {
			k |= 15
		} else {
			k |= uint64(p[f])
		}
	}
	return k
}

func patternOf(k uint64) pattern {
	var p pattern
	for f := 0; f < numFields; f++ {
		v := int8(k & 15)
		if v == 15 {
			v = missing
		}
		p[f] = v
		k >>= 4
	}
	return p
}

// comparison is the result of comparing two profiles: the pattern, and the
// given and family names that agreed exactly (for their frequency).
type comparison struct {
	pattern
	given, family string
}

// compare compares two profiles field by field. It is symmetric.
func compare(a, b *profile) comparison {
	var c comparison
	c.pattern[fGiven], c.given = compareGiven(a, b)
	c.pattern[fFamily], c.family = compareFamily(a, b)
	c.pattern[fMiddle] = compareMiddle(a.middle, b.middle)
	c.pattern[fSuffix] = compareEqual(a.suffix, b.suffix)
	c.pattern[fBirthDate] = compareDates(a.birth, b.birth)
	c.pattern[fSex] = missing
	if a.sex != 0 && b.sex != 0 {
		c.pattern[fSex] = boolLevel(a.sex == b.sex)
	}
	c.pattern[fStrongID], c.pattern[fLocalID] = compareIdentifiers(a.ids, b.ids)
	c.pattern[fAddress] = compareAddresses(a.addrs, b.addrs)
	c.pattern[fPhone] = compareSets(a.phones, b.phones)
	c.pattern[fEmail] = compareSets(a.emails, b.emails)
	c.pattern[fMultipleBirth] = missing
	if a.birthOrder > 0 && b.birthOrder > 0 {
		c.pattern[fMultipleBirth] = boolLevel(a.birthOrder == b.birthOrder)
	}
	return c
}

func boolLevel(same bool) int8 {
	if same {
		return 0
	}
	return 1
}

func compareEqual(a, b string) int8 {
	if a == "" || b == "" {
		return missing
	}
	return boolLevel(a == b)
}

// compareSets: same when the sorted lists share a value, different when both
// have values but none in common.
func compareSets(a, b []string) int8 {
	if len(a) == 0 || len(b) == 0 {
		return missing
	}
	return boolLevel(shareAny(a, b))
}

// compareGiven compares first given names: exact, a nickname of one another
// or of one formal name, alike by Double Metaphone, a typo apart, or an
// initial that fits. Two names the nickname table knows and does not relate
// are different names, however alike they sound or look: Mary and Maria, Tim
// and Tom, as twins are named. When one of the two is not a known name (a
// typing error rather than a name), a typo of a variant of the other counts
// too ("Dn" and Donald, by Don), and so do two typos of names of one line of
// the table ("Doon" and "Donadl", by Don and Donald); when neither is known,
// two edits in names of five letters or more.
func compareGiven(a, b *profile) (int8, string) {
	if len(a.given) == 0 || len(b.given) == 0 {
		return missing, ""
	}
	best := int8(5)
	for _, x := range a.given {
		for _, y := range b.given {
			l := int8(5)
			long := len(x.name) > 1 && len(y.name) > 1
			unknown := !x.known || !y.known
			switch {
			case x.name == y.name:
				return 0, x.name
			case shareAny(x.formal, y.formal):
				l = 1
			case long && unknown && phoneticAlike(x.dm, y.dm):
				l = 2
			case long && unknown && (typo(x.name, y.name) || typoVariant(x, y) || typoVariant(y, x)):
				l = 3
			case long && unknown && shareAny(orFormal(x), orFormal(y)):
				l = 3
			case long && !x.known && !y.known && len(x.name) >= 5 && len(y.name) >= 5 && editDistance(x.name, y.name, 2) <= 2:
				l = 3
			case !long && x.name[0] == y.name[0]:
				l = 4
			}
			best = min(best, l)
		}
	}
	return best, ""
}

// orFormal returns the formal names of a known name, and those of the known
// names one edit from an unknown one.
func orFormal(x givenForm) []string {
	if x.known {
		return x.formal
	}
	return x.near
}

// typoVariant reports that y is not a known name and is a typo of a variant
// of x by the nickname table.
func typoVariant(x, y givenForm) bool {
	if y.known {
		return false
	}
	for _, v := range x.variants {
		if typo(v, y.name) {
			return true
		}
	}
	return false
}

func phoneticAlike(a, b [2]string) bool {
	return a[0] != "" && (a[0] == b[0] || a[0] == b[1] || a[1] == b[0] || a[1] == b[1])
}

// typo reports two names one edit apart (an insertion, deletion, substitution
// or two neighbouring letters swapped), or two edits when both have eight
// letters or more.
func typo(a, b string) bool {
	k := 1
	if len(a) >= 8 && len(b) >= 8 {
		k = 2
	}
	return editDistance(a, b, k) <= k
}

// compareFamily compares family names: exact (current names), alternate (a
// maiden or former name of one is a name of the other), part (one part of a
// two-part name is the other name or one of its parts), alike by Double
// Metaphone, a typo apart.
func compareFamily(a, b *profile) (int8, string) {
	if len(a.family) == 0 || len(b.family) == 0 {
		return missing, ""
	}
	best := int8(5)
	value := ""
	for _, x := range a.family {
		for _, y := range b.family {
			l := int8(5)
			switch {
			case x.Compact == y.Compact && !x.old && !y.old:
				return 0, x.Compact
			case x.Compact == y.Compact:
				l = 1
			case shareParts(x.FamilyName, y.FamilyName):
				l = 2
			case phoneticAlike(x.dm, y.dm):
				l = 3
			case typo(x.Compact, y.Compact):
				l = 4
			}
			if l < best {
				best = l
				if l == 1 {
					value = x.Compact
				}
			}
		}
	}
	return best, value
}

// shareParts reports a part of one name (three letters or more) that is the
// other name or one of its parts, when one of them has several words
// (Garcia Lopez and Garcia, St. Pierre and Pierre).
func shareParts(a, b FamilyName) bool {
	if a.Words < 2 && b.Words < 2 {
		return false
	}
	for _, x := range a.Parts {
		if len(x) < 3 {
			continue
		}
		if x == b.Compact {
			return true
		}
		for _, y := range b.Parts {
			if x == y {
				return true
			}
		}
	}
	for _, y := range b.Parts {
		if len(y) >= 3 && y == a.Compact {
			return true
		}
	}
	return false
}

// compareMiddle compares the first middle names: exact, or an initial that
// fits (both initials alike too).
func compareMiddle(a, b []string) int8 {
	if len(a) == 0 || len(b) == 0 {
		return missing
	}
	x, y := a[0], b[0]
	switch {
	case x == y && len(x) > 1:
		return 0
	case x[0] == y[0] && (len(x) == 1 || len(y) == 1):
		return 1
	}
	return 2
}

// compareDates compares birth dates: exact, day and month swapped, one digit
// wrong or two neighbouring digits swapped (of YYYYMMDD), alike at the
// precision of the less precise, or different.
func compareDates(a, b Date) int8 {
	if a.IsZero() || b.IsZero() {
		return missing
	}
	if a.Day != 0 && b.Day != 0 {
		switch {
		case a == b:
			return 0
		case a.Year == b.Year && a.Month == b.Day && a.Day == b.Month:
			return 1
		case digitTypo(a.digits(), b.digits()):
			return 2
		}
		return 4
	}
	if a.Year == b.Year && (a.Month == 0 || b.Month == 0 || a.Month == b.Month) {
		return 3
	}
	return 4
}

// digitTypo reports two digit strings of one length that differ in one
// position or by one swap of neighbours.
func digitTypo(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	first, diffs := -1, 0
	for i := 0; i < len(a); i++ {
		if a[i] != b[i] {
			if first < 0 {
				first = i
			}
			diffs++
		}
	}
	switch diffs {
	case 1:
		return true
	case 2:
		return first+1 < len(a) && a[first] == b[first+1] && a[first+1] == b[first]
	}
	return false
}

// compareIdentifiers compares the identifiers of two records namespace by
// namespace. Strong: exact when a value is shared, typo when two values are a
// digit or a swap apart, different otherwise. Local: same when a value is
// shared, different when the records have only other values of a shared
// namespace. Identifiers of different namespaces are never compared.
func compareIdentifiers(a, b []identifier) (strong, local int8) {
	strong, local = missing, missing
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i].namespace < b[j].namespace:
			i++
			continue
		case a[i].namespace > b[j].namespace:
			j++
			continue
		}
		ns := a[i].namespace
		ie, je := i, j
		for ie < len(a) && a[ie].namespace == ns {
			ie++
		}
		for je < len(b) && b[je].namespace == ns {
			je++
		}
		l := int8(2)
		for _, x := range a[i:ie] {
			for _, y := range b[j:je] {
				switch {
				case x.value == y.value:
					l = 0
				case l > 1 && digitTypo(x.value, y.value):
					l = 1
				}
			}
		}
		if a[i].kind == Strong {
			if strong == missing || l < strong {
				strong = l
			}
		} else {
			ll := boolLevel(l == 0)
			if local == missing || ll < local {
				local = ll
			}
		}
		i, j = ie, je
	}
	return strong, local
}

// compareAddresses compares every address of one record with every address
// of the other and keeps the best: exact (house number, street, unit, and ZIP
// or city), street (house number and street), town (ZIP, or city when a ZIP
// is missing), or different.
func compareAddresses(a, b []Address) int8 {
	if len(a) == 0 || len(b) == 0 {
		return missing
	}
	best := int8(3)
	for _, x := range a {
		for _, y := range b {
			sameTown := (x.Zip != "" && x.Zip == y.Zip) || ((x.Zip == "" || y.Zip == "") && x.City != "" && x.City == y.City)
			switch {
			case x.Street != "" && x.Number == y.Number && x.Street == y.Street && x.Unit == y.Unit && sameTown:
				return 0
			case x.Street != "" && x.Number == y.Number && x.Street == y.Street:
				best = min(best, 1)
			case sameTown:
				best = min(best, 2)
			}
		}
	}
	return best
}

// editDistance returns the optimal string alignment distance of a and b
// (Damerau-Levenshtein without repeated edits of one substring), or a number
// above limit as soon as it is certain to exceed limit.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	if len(a) > 32 || len(b) > 32 {
		if a == b {
			return 0
		}
		return limit + 1
	}
	var rows [3][33]int
	prev2, prev, cur := &rows[0], &rows[1], &rows[2]
	for j := 0; j <= len(b); j++ {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
