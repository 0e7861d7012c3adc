package search_test

import (
	"testing"

	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// escapeCases are values that use every character with a meaning in a search value
// or a query string.
var escapeCases = []struct {
	name, value string
}{
	{"a comma is part of the value, not an OR", "A,B"},
	{"a bar is part of the value, not a system separator", "A|B"},
	{"a backslash is kept", `A\B`},
	{"a trailing backslash is kept", `A\`},
	{"an escape sequence in the source is kept literally", `A\,B`},
	{"a dollar is part of the value, not a composite separator", "A$B"},
	{"a percent sign is not a URL escape", "100%25"},
	{"an ampersand does not start another parameter", "A&B=C"},
	{"a plus is not a space", "A+B"},
	{"a space is kept", "A B"},
	{"a semicolon is kept", "A;B"},
	{"a hash is not a fragment", "A#B"},
	{"non-ASCII text is kept", "Zürich-é"},
	{"every special character at once", `\,|$%&+ =;#?`},
}

func TestEscapeSearchValueRoundTripsThroughTheQueryParser(t *testing.T) {
	for _, tt := range escapeCases {
		t.Run(tt.name, func(t *testing.T) {
			for _, system := range []string{"urn:oid:2.16.840.1.113883.19.5", "http://x.example/a,b|c$d", tt.value} {
				q := fhir.IdentifierQuery(system, tt.value)
				parsed, err := search.ParseString("Patient", q)
				if err != nil {
					t.Fatalf("ParseString(%q) = %v", q, err)
				}
				if len(parsed.Params) != 1 || parsed.Params[0].Name != "identifier" {
					t.Fatalf("ParseString(%q) = %+v, want one identifier parameter", q, parsed.Params)
				}
				values := parsed.Params[0].Values
				if len(values) != 1 {
					t.Fatalf("ParseString(%q) values = %q, want exactly one", q, values)
				}
				sys, code, hasSystem := search.SplitToken(values[0])
				if sys != system || code != tt.value || !hasSystem {
					t.Errorf("SplitToken(%q) = %q, %q, %v; want %q, %q, true", values[0], sys, code, hasSystem, system, tt.value)
				}
			}
		})
	}
}

func TestUnescapeIsTheInverseOfEscapeSearchValue(t *testing.T) {
	for _, tt := range escapeCases {
		t.Run(tt.name, func(t *testing.T) {
			esc := fhir.EscapeSearchValue(tt.value)
			if got := search.Unescape(esc); got != tt.value {
				t.Errorf("Unescape(EscapeSearchValue(%q)) = %q, want the value back", tt.value, got)
			}
			if got := search.SplitValues(esc); len(got) != 1 {
				t.Errorf("SplitValues(%q) = %q, want one value", esc, got)
			}
			if sys, code, has := search.SplitToken(esc); has || sys != "" || code != tt.value {
				t.Errorf("SplitToken(%q) = %q, %q, %v; want no system and the value", esc, sys, code, has)
			}
		})
	}
}

func TestIdentifierQueryWithoutValueSelectsTheWholeSystem(t *testing.T) {
	q := fhir.IdentifierQuery("urn:omnichart:source", "")
	parsed, err := search.ParseString("Task", q)
	if err != nil {
		t.Fatalf("ParseString(%q) = %v", q, err)
	}
	sys, code, has := search.SplitToken(parsed.Params[0].Values[0])
	if sys != "urn:omnichart:source" || code != "" || !has {
		t.Errorf("SplitToken of %q = %q, %q, %v; want the system, no code, true", q, sys, code, has)
	}
}

func TestIdentifierQueryKeepsCommonSystemsReadable(t *testing.T) {
	tests := []struct {
		name, system, value, want string
	}{
		{"an OID system and a plain MRN", "urn:oid:2.16.840.1.113883.19.5", "MRN-0001", "identifier=urn:oid:2.16.840.1.113883.19.5|MRN-0001"},
		{"an http system", "http://hl7.org/fhir/sid/us-npi", "1000000001", "identifier=http://hl7.org/fhir/sid/us-npi|1000000001"},
		{"a comma is escaped then URL-encoded", "urn:x", "A,B", `identifier=urn:x|A%5C%2CB`},
		{"a space and a plus are URL-encoded", "urn:x", "A B+C", "identifier=urn:x|A%20B%2BC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fhir.IdentifierQuery(tt.system, tt.value); got != tt.want {
				t.Errorf("IdentifierQuery(%q, %q) = %q, want %q", tt.system, tt.value, got, tt.want)
			}
		})
	}
}
