package match_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/match"
)

func TestNormalizeFamily(t *testing.T) {
	tests := []struct {
		name, in string
		want     match.FamilyName
	}{
		{"an apostrophe vanishes", "O'Brien", match.FamilyName{Compact: "obrien", Parts: []string{"obrien"}, Words: 1}},
		{"case does not matter", "McDONALD", match.FamilyName{Compact: "mcdonald", Parts: []string{"mcdonald"}, Words: 1}},
		{"diacritics are folded", "Müller-Lüdenscheidt", match.FamilyName{Compact: "mullerludenscheidt", Parts: []string{"muller", "ludenscheidt"}, Words: 2}},
		{"particles join the name but are not parts", "De La Cruz", match.FamilyName{Compact: "delacruz", Parts: []string{"cruz"}, Words: 3}},
		{"a two-part Spanish name has two parts", "Garcia Lopez", match.FamilyName{Compact: "garcialopez", Parts: []string{"garcia", "lopez"}, Words: 2}},
		{"a hyphen separates parts", "Smith-Jones", match.FamilyName{Compact: "smithjones", Parts: []string{"smith", "jones"}, Words: 2}},
		{"Saint is written st", "Saint Pierre", match.FamilyName{Compact: "stpierre", Parts: []string{"pierre"}, Words: 2}},
		{"St. with a period is st too", "St. Pierre", match.FamilyName{Compact: "stpierre", Parts: []string{"pierre"}, Words: 2}},
		{"a suffix inside the family name is taken out", "Smith Jr.", match.FamilyName{Compact: "smith", Parts: []string{"smith"}, Suffix: "jr", Words: 1}},
		{"a Polish letter without decomposition is spelled", "Łukasz", match.FamilyName{Compact: "lukasz", Parts: []string{"lukasz"}, Words: 1}},
		{"nothing but punctuation is empty", " .-' ", match.FamilyName{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, match.NormalizeFamily(tt.in)); diff != "" {
				t.Errorf("NormalizeFamily(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestNormalizeGiven(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want match.GivenNames
	}{
		{"a first and a middle name", []string{"Mary", "Ann"}, match.GivenNames{First: "mary", Others: []string{"ann"}}},
		{"a hyphenated first name is one name", []string{"Mary-Jane"}, match.GivenNames{First: "maryjane"}},
		{"an initial keeps its letter", []string{"J.", "Robert"}, match.GivenNames{First: "j", Others: []string{"robert"}}},
		{"diacritics and case are folded", []string{"JOSÉ"}, match.GivenNames{First: "jose"}},
		{"a title before the name is dropped", []string{"Dr. John"}, match.GivenNames{First: "john"}},
		{"a suffix among the given names is taken out", []string{"William", "Jr"}, match.GivenNames{First: "william", Suffix: "jr"}},
		{"no given name is empty", nil, match.GivenNames{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, match.NormalizeGiven(tt.in)); diff != "" {
				t.Errorf("NormalizeGiven(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestNormalizeSuffix(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"Jr with a period", "Jr.", "jr"},
		{"Junior in full", "JUNIOR", "jr"},
		{"Senior", "Sr", "sr"},
		{"a Roman numeral", "III", "iii"},
		{"an ordinal", "2nd", "ii"},
		{"a professional suffix is none", "MD", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := match.NormalizeSuffix(tt.in); got != tt.want {
				t.Errorf("NormalizeSuffix(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		name, in string
		want     match.Date
	}{
		{"a full FHIR date", "1984-05-03", match.Date{Year: 1984, Month: 5, Day: 3}},
		{"a year and month", "1984-05", match.Date{Year: 1984, Month: 5}},
		{"a year alone", "1984", match.Date{Year: 1984}},
		{"a dateTime keeps its date", "1984-05-03T10:00:00Z", match.Date{Year: 1984, Month: 5, Day: 3}},
		{"an HL7 v2 date", "19840503", match.Date{Year: 1984, Month: 5, Day: 3}},
		{"an HL7 v2 year and month", "198405", match.Date{Year: 1984, Month: 5}},
		{"the 29th of February of a leap year", "2000-02-29", match.Date{Year: 2000, Month: 2, Day: 29}},
		{"a day that does not exist is missing", "1984-02-30", match.Date{}},
		{"the 29th of February of a common year is missing", "1900-02-29", match.Date{}},
		{"a two-digit year is missing", "84-05-03", match.Date{}},
		{"a month 13 is missing", "1984-13-01", match.Date{}},
		{"a year before 1850 is missing", "1800-01-01", match.Date{}},
		{"text is missing", "unknown", match.Date{}},
		{"nothing is missing", "", match.Date{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := match.ParseDate(tt.in); got != tt.want {
				t.Errorf("ParseDate(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeAddress(t *testing.T) {
	want := match.Address{Number: "1585", Street: "center st", Unit: "2b", City: "holyoke", Zip: "01040"}
	tests := []struct {
		name      string
		lines     []string
		city, zip string
		want      match.Address
	}{
		{"the street type written in full and the unit on its own line", []string{"1585 Center Street", "Apt 2B"}, "Holyoke", "01040", want},
		{"abbreviated, upper case, ZIP+4 and a # unit", []string{"1585 CENTER ST", "#2B"}, "HOLYOKE", "01040-2214", want},
		{"the unit at the end of the street line", []string{"1585 Center St. Unit 2B"}, "Holyoke", "01040", want},
		{"Suite for the unit", []string{"1585 Center Street Suite 2B"}, "Holyoke", "01040", want},
		{"a trailing number is the unit", []string{"1585 Center St 2B"}, "Holyoke", "01040", want},
		{"directions are abbreviated wherever they are", []string{"12 North Main Street"}, "Springfield", "01103",
			match.Address{Number: "12", Street: "n main st", City: "springfield", Zip: "01103"}},
		{"a street named after a type keeps the name", []string{"40 Park Avenue"}, "Springfield", "01103",
			match.Address{Number: "40", Street: "park ave", City: "springfield", Zip: "01103"}},
		{"a post office box has no house number", []string{"PO Box 12"}, "Ludlow", "01056",
			match.Address{Street: "po box 12", City: "ludlow", Zip: "01056"}},
		{"a short postal code is no ZIP", []string{"1 Elm St"}, "Palmer", "010",
			match.Address{Number: "1", Street: "elm st", City: "palmer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := match.NormalizeAddress(tt.lines, tt.city, tt.zip)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("NormalizeAddress(%q, %q, %q) mismatch (-want +got):\n%s", tt.lines, tt.city, tt.zip, diff)
			}
		})
	}
}

func TestNormalizePhone(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"dashes", "413-555-0134", "4135550134"},
		{"parentheses and a space", "(413) 555-0134", "4135550134"},
		{"digits only", "4135550134", "4135550134"},
		{"the country code is dropped", "+1 413 555 0134", "4135550134"},
		{"an extension is dropped", "413.555.0134 ext. 12", "4135550134"},
		{"an x extension is dropped", "413-555-0134x12", "4135550134"},
		{"a local number of seven digits is kept", "555-0134", "5550134"},
		{"a placeholder of one digit is missing", "000-000-0000", ""},
		{"a counting placeholder is missing", "123-456-7890", ""},
		{"too few digits is missing", "0134", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := match.NormalizePhone(tt.in); got != tt.want {
				t.Errorf("NormalizePhone(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeSSN(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"with dashes", "931-65-8832", "931658832"},
		{"without dashes", "931658832", "931658832"},
		{"with spaces", "931 65 8832", "931658832"},
		{"area 000 is a placeholder", "000-12-3456", ""},
		{"area 666 is never issued", "666-12-3456", ""},
		{"group 00 is a placeholder", "123-00-4567", ""},
		{"serial 0000 is a placeholder", "123-45-0000", ""},
		{"one digit repeated is a placeholder", "999-99-9999", ""},
		{"counting is a placeholder", "123-45-6789", ""},
		{"eight digits are not an SSN", "93165883", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := match.NormalizeSSN(tt.in); got != tt.want {
				t.Errorf("NormalizeSSN(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeIdentifier(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"white space goes and letters are upper case", " l 6929001 ", "L6929001"},
		{"leading zeros stay", "000123", "000123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := match.NormalizeIdentifier(tt.in); got != tt.want {
				t.Errorf("NormalizeIdentifier(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"case is folded", " Mary.King@Example.com ", "mary.king@example.com"},
		{"no at sign is missing", "mary.king", ""},
		{"nothing after the at sign is missing", "mary@", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := match.NormalizeEmail(tt.in); got != tt.want {
				t.Errorf("NormalizeEmail(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
