package search_test

import (
	"compress/bzip2"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

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

// queryInJSON finds search queries in FHIR JSON: conditional-create criteria and
// the query part of conditional request URLs and references ("Type?query").
var queryInJSON = regexp.MustCompile(`"(?:ifNoneExist|ifNoneMatch|url|reference)"\s*:\s*"(?:[A-Za-z]+\?)?([^"]*=[^"]*)"`)

// realQueries returns search queries found in real data: the conditional requests
// and references of the shared Synthea batch bundles and of the converters' golden
// bundles. It returns what it finds, nothing when the data is absent.
func realQueries(tb testing.TB) []string {
	var texts [][]byte
	synthea, _ := filepath.Glob(filepath.Join("..", "..", "..", "..", "shared", "testdata", "synthea-r4", "0-*.json.bz2"))
	for _, p := range synthea {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(bzip2.NewReader(f), 32<<20))
		f.Close()
		if err == nil {
			texts = append(texts, data)
		}
	}
	goldens, _ := filepath.Glob(filepath.Join("..", "..", "ingest", "*", "testdata", "*.golden.json"))
	for _, p := range goldens {
		if data, err := os.ReadFile(p); err == nil {
			texts = append(texts, data)
		}
	}
	seen := map[string]bool{}
	var out []string
	for _, t := range texts {
		// A few of each file: the queries of one file are much alike.
		n := 0
		for _, m := range queryInJSON.FindAllSubmatch(t, -1) {
			q := strings.ReplaceAll(string(m[1]), `\u0026`, "&")
			if !seen[q] && n < 10 {
				seen[q] = true
				out = append(out, q)
				n++
			}
		}
	}
	return out
}

// FuzzParseString checks that no query string makes the parser panic, and that a
// parsed query encodes (as self links do) to a query that parses the same.
func FuzzParseString(f *testing.F) {
	for _, q := range realQueries(f) {
		f.Add(q)
	}
	for _, q := range []string{
		"identifier=http://x|A%5C%2CB",
		"name:exact=Chalmers&birthdate=ge1970-01-01&birthdate=lt1980&_sort=-birthdate,family&_count=20",
		"code=http://loinc.org|8480-6,8462-4&_include=Observation:subject&_revinclude:iterate=Provenance:target&_summary=count&_total=accurate",
		"component-code-value-quantity=http://loinc.org|8480-6$gt150&subject:Patient.name=pet&_elements=id,%20code",
		"_has:Observation:patient:code=1234-5&_lastUpdated=gt2024-01-01T00:00:00Z&value-quantity=5.4|http://unitsofmeasure.org|mg",
		`identifier=a\|b|c\,d\$e\\`,
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		q, err := search.ParseString("Patient", query)
		if err != nil {
			return
		}
		for _, p := range q.Params {
			for _, v := range p.Values {
				search.SplitToken(v)
				search.Unescape(v)
			}
		}
		enc := q.Encode().Encode()
		again, err := search.ParseString("Patient", enc)
		if err != nil {
			t.Fatalf("ParseString(%q) of the encoding of %q = %v", enc, query, err)
		}
		q.Cursor = "" // paging cursors are not part of the encoding
		// Parameters are ANDed, so their order carries no meaning; the encoding
		// sorts them by key, modifier included.
		byKey := cmpopts.SortSlices(func(a, b search.Param) bool {
			return a.Name+"\x00"+a.Modifier+"\x00"+strings.Join(a.Values, ",") < b.Name+"\x00"+b.Modifier+"\x00"+strings.Join(b.Values, ",")
		})
		if d := cmp.Diff(q, again, cmpopts.EquateEmpty(), byKey); d != "" {
			t.Errorf("ParseString(Encode(ParseString(%q))) differs (-first +again):\n%s", query, d)
		}
	})
}

// FuzzEscapeSearchValue checks that any system and value, escaped by
// fhir.IdentifierQuery, parse back into exactly that one token.
func FuzzEscapeSearchValue(f *testing.F) {
	for _, tt := range escapeCases {
		f.Add("urn:oid:1.2.3", tt.value)
	}
	for _, q := range realQueries(f) {
		if sys, val, ok := strings.Cut(strings.TrimPrefix(q, "identifier="), "|"); ok {
			f.Add(sys, val)
		}
	}
	f.Fuzz(func(t *testing.T, system, value string) {
		esc := fhir.EscapeSearchValue(value)
		if got := search.Unescape(esc); got != value {
			t.Fatalf("Unescape(EscapeSearchValue(%q)) = %q", value, got)
		}
		if got := search.SplitValues(esc); len(got) != 1 {
			t.Fatalf("SplitValues(EscapeSearchValue(%q)) = %q, want one value", value, got)
		}
		q := fhir.IdentifierQuery(system, value)
		parsed, err := search.ParseString("Patient", q)
		if !holdable(system) || !holdable(value) {
			// Text no FHIR value can hold (not UTF-8, control characters) is
			// refused, never searched for.
			if err == nil {
				t.Fatalf("ParseString(%q) accepted text no FHIR value can hold", q)
			}
			return
		}
		if err != nil {
			t.Fatalf("ParseString(%q) = %v", q, err)
		}
		if len(parsed.Params) != 1 || len(parsed.Params[0].Values) != 1 {
			t.Fatalf("ParseString(%q) = %+v, want one parameter with one value", q, parsed.Params)
		}
		sys, code, has := search.SplitToken(parsed.Params[0].Values[0])
		if sys != system || code != value || !has {
			t.Fatalf("SplitToken of %q = %q, %q, %v; want %q, %q, true", q, sys, code, has, system, value)
		}
	})
}

// holdable reports whether s is text a FHIR value can hold: UTF-8 without control
// characters other than tab, CR and LF.
func holdable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\r' && r != '\n' {
			return false
		}
	}
	return true
}
