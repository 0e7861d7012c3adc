package match

import "testing"

// These tests need the comparators, which are not exported: a pattern is an
// internal value, and what leaves the package is a Pair's explanation.

func TestCompareDates(t *testing.T) {
	tests := []struct {
		name, a, b string
		want       string
	}{
		{"the same date is exact", "1984-05-03", "1984-05-03", "exact"},
		{"day and month swapped", "1984-05-03", "1984-03-05", "swapped"},
		{"one digit of the day mistyped", "1984-05-03", "1984-05-08", "typo"},
		{"two neighbouring digits of the year transposed", "1984-05-03", "1948-05-03", "typo"},
		{"the two digits of the day transposed", "1984-05-13", "1984-05-31", "typo"},
		{"a year alone agrees with a full date in that year", "1984", "1984-05-03", "partial"},
		{"a year and month agree with a full date in that month", "1984-05", "1984-05-03", "partial"},
		{"a year and month disagree with a date in another month", "1984-06", "1984-05-03", "different"},
		{"twenty years apart is different", "1958-04-12", "1978-09-30", "different"},
		{"a missing date is missing", "", "1984-05-03", "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := levelName(fBirthDate, compareDates(ParseDate(tt.a), ParseDate(tt.b)))
			if got != tt.want {
				t.Errorf("compareDates(%q, %q) = %s, want %s", tt.a, tt.b, got, tt.want)
			}
			if back := levelName(fBirthDate, compareDates(ParseDate(tt.b), ParseDate(tt.a))); back != got {
				t.Errorf("compareDates(%q, %q) = %s, but the other way round %s", tt.b, tt.a, back, got)
			}
		})
	}
}

func TestCompareGiven(t *testing.T) {
	tests := []struct {
		name, a, b string
		want       string
	}{
		{"the same name in another case", "MARY", "Mary", "exact"},
		{"a nickname", "Peggy", "Margaret", "nickname"},
		{"a Spanish nickname", "Pepe", "Jose", "nickname"},
		{"a spelling that sounds alike", "Jaimie", "Jamy", "phonetic"},
		{"a letter doubled sounds the same", "Maryy", "Mary", "phonetic"},
		{"two letters swapped", "Rcihard", "Richard", "typo"},
		{"a typo of a nickname", "Jwn", "Jennifer", "typo"},
		{"a letter left out of a nickname", "Dn", "Donald", "typo"},
		{"typos of a name and of its nickname", "Doon", "Donadl", "typo"},
		{"a typo of a nickname against the name with a typo", "Mikee", "Miichael", "typo"},
		{"a typo of a known name and a known name of another line are different", "Emmma", "Emily", "different"},
		{"an initial that fits", "J", "James", "initial"},
		{"two known names a letter apart are different", "Tim", "Tom", "different"},
		{"two known names that sound alike are different", "Mary", "Maria", "different"},
		{"twins' names are different", "Anna", "Piotr", "different"},
		{"an initial that does not fit", "K", "James", "different"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := prepare(testRecord(tt.a, "Smith"), NewRegistry())
			b := prepare(testRecord(tt.b, "Smith"), NewRegistry())
			l, _ := compareGiven(a, b)
			if got := levelName(fGiven, l); got != tt.want {
				t.Errorf("compareGiven(%q, %q) = %s, want %s", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestCompareFamily(t *testing.T) {
	tests := []struct {
		name, a, b string
		want       string
	}{
		{"punctuation and case do not matter", "O'BRIEN", "OBrien", "exact"},
		{"a hyphen and a space are alike", "Smith-Jones", "Smith Jones", "exact"},
		{"one part of a two-part name", "Garcia Lopez", "Garcia", "part"},
		{"the name after a particle", "St. Pierre", "Pierre", "part"},
		{"a spelling that sounds alike", "Smyth", "Smith", "phonetic"},
		{"two letters swapped in a long name", "Kowaslki", "Kowalski", "typo"},
		{"a letter doubled sounds the same", "Williaams", "Williams", "phonetic"},
		{"another name", "Harris", "Thomas", "different"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := prepare(testRecord("Mary", tt.a), NewRegistry())
			b := prepare(testRecord("Mary", tt.b), NewRegistry())
			l, _ := compareFamily(a, b)
			if got := levelName(fFamily, l); got != tt.want {
				t.Errorf("compareFamily(%q, %q) = %s, want %s", tt.a, tt.b, got, tt.want)
			}
		})
	}
	t.Run("a maiden name of one record is the name of the other", func(t *testing.T) {
		a := testRecord("Elizabeth", "King")
		a.Patient["name"] = append(a.Patient["name"].([]any), map[string]any{"use": "maiden", "family": "Brown", "given": []any{"Elizabeth"}})
		l, _ := compareFamily(prepare(a, NewRegistry()), prepare(testRecord("Elizabeth", "Brown"), NewRegistry()))
		if got := levelName(fFamily, l); got != "alternate" {
			t.Errorf("compareFamily(King maiden Brown, Brown) = %s, want alternate", got)
		}
	})
}

func TestCompareAddresses(t *testing.T) {
	home := NormalizeAddress([]string{"1585 Center Street", "Apt 2B"}, "Holyoke", "01040")
	tests := []struct {
		name string
		b    Address
		want string
	}{
		{"the same address written otherwise", NormalizeAddress([]string{"1585 CENTER ST #2B"}, "HOLYOKE", "01040-2214"), "exact"},
		{"another unit", NormalizeAddress([]string{"1585 Center St", "Apt 3C"}, "Holyoke", "01040"), "street"},
		{"another street in the town", NormalizeAddress([]string{"12 Elm St"}, "Holyoke", "01040"), "town"},
		{"another town", NormalizeAddress([]string{"12 Elm St"}, "Palmer", "01069"), "different"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := levelName(fAddress, compareAddresses([]Address{home}, []Address{tt.b})); got != tt.want {
				t.Errorf("compareAddresses(%+v, %+v) = %s, want %s", home, tt.b, got, tt.want)
			}
		})
	}
}

func TestCompareIdentifiers(t *testing.T) {
	reg := NewRegistry()
	id := func(source, system, value string) identifier {
		x, _ := reg.classify(source, system, "", value)
		return x
	}
	const a, b = "urn:omnichart:source:a", "urn:omnichart:source:b"
	tests := []struct {
		name          string
		x, y          []identifier
		strong, local string
	}{
		{"one SSN is exact", []identifier{id(a, SSNSystem, "931-65-8832")}, []identifier{id(b, SSNSystem, "931658832")}, "exact", "missing"},
		{"an SSN a digit apart is a typo", []identifier{id(a, SSNSystem, "931-65-8832")}, []identifier{id(b, SSNSystem, "931-65-8839")}, "typo", "missing"},
		{"two SSNs are different", []identifier{id(a, SSNSystem, "931-65-8832")}, []identifier{id(b, SSNSystem, "945-12-3456")}, "different", "missing"},
		{"one MRN of one hospital is the same", []identifier{id(a, "urn:oid:2.999.1.1.1", "123")}, []identifier{id(b, "urn:oid:2.999.1.1.1", "123")}, "missing", "same"},
		{"two MRNs of one hospital are different", []identifier{id(a, "urn:oid:2.999.1.1.1", "123")}, []identifier{id(a, "urn:oid:2.999.1.1.1", "456")}, "missing", "different"},
		{"MRNs of two hospitals are not compared", []identifier{id(a, "urn:oid:2.999.1.1.1", "123")}, []identifier{id(b, "urn:oid:2.999.1.2.1", "123")}, "missing", "missing"},
		{"MRNs without a system are compared only within their source", []identifier{id(a, "", "123")}, []identifier{id(b, "", "123")}, "missing", "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, l := compareIdentifiers(tt.x, tt.y)
			if got := levelName(fStrongID, s); got != tt.strong {
				t.Errorf("compareIdentifiers strong = %s, want %s", got, tt.strong)
			}
			if got := levelName(fLocalID, l); got != tt.local {
				t.Errorf("compareIdentifiers local = %s, want %s", got, tt.local)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want int
	}{
		{"Levenshtein's kitten and sitting", "kitten", "sitting", 3},
		{"a transposition is one edit", "ca", "ac", 1},
		{"optimal string alignment does not edit a substring twice", "ca", "abc", 3},
		{"equal strings", "mary", "mary", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := editDistance(tt.a, tt.b, 5); got != tt.want {
				t.Errorf("editDistance(%q, %q, 5) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

// levelName names a level of field f.
func levelName(f int, l int8) string {
	if l == missing {
		return "missing"
	}
	return fieldSpecs[f].levels[l]
}

func testRecord(given, family string) Record {
	return Record{Source: "urn:omnichart:source:a", ID: "1", Patient: map[string]any{
		"resourceType": "Patient",
		"name":         []any{map[string]any{"use": "official", "family": family, "given": []any{given}}},
	}}
}
