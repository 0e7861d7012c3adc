package fhir

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// specificationExpressions are the regular expressions of FHIR R4's primitive
// types (https://hl7.org/fhir/R4/datatypes.html), anchored: the oracle of the
// hand-written formats.
var specificationExpressions = map[string]*regexp.Regexp{
	"id":           regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`),
	"date":         regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$`),
	"dateTime":     regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$`),
	"instant":      regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$`),
	"time":         regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?$`),
	"code":         regexp.MustCompile(`^[^\s]+( [^\s]+)*$`),
	"integer":      regexp.MustCompile(`^-?([0]|([1-9][0-9]*))$`),
	"unsignedInt":  regexp.MustCompile(`^([0]|([1-9][0-9]*))$`),
	"positiveInt":  regexp.MustCompile(`^\+?[1-9][0-9]*$`),
	"decimal":      regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`),
	"oid":          regexp.MustCompile(`^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$`),
	"uuid":         regexp.MustCompile(`^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`),
	"base64Binary": regexp.MustCompile(`^(\s*([0-9a-zA-Z\+/=]){4}\s*)+$`),
}

// formatSamples are values near the edges of each format, valid and not.
var formatSamples = []string{
	"", " ", "a", "a b", "a  b", " a", "a ", "a\tb", "a\u00a0b", "é", "x\n",
	"0", "00", "01", "-0", "-01", "+0", "+1", "+01", "1.", "1.0", ".5", "1e5", "1E+05", "1e", "1e+", "-1.5e-3", "0.0e0", "--1",
	"2024", "0000", "0001", "2024-", "2024-1", "2024-00", "2024-13", "2024-12", "2024-02-30", "2024-02-00", "2024-02-31", "2024-02-32",
	"2024-02-29T", "2024-02-29T10:00", "2024-02-29T10:00:00", "2024-02-29T10:00:00Z", "2024-02-29T24:00:00Z", "2024-02-29T23:59:60Z",
	"2024-02-29T23:60:00Z", "2024-02-29T10:00:00.Z", "2024-02-29T10:00:00.123Z", "2024-02-29T10:00:00+14:00", "2024-02-29T10:00:00+14:01",
	"2024-02-29T10:00:00-13:59", "2024-02-29T10:00:00+1400", "2024-02-29T10:00:00z", "2024-02-29 10:00:00Z", "2024T10:00:00Z",
	"10:00:00", "10:00", "23:59:60.5", "24:00:00", "9:00:00",
	"urn:oid:1.2.3", "urn:oid:3.1", "urn:oid:1", "urn:oid:1.02", "urn:oid:1.0.", "urn:oid:0.0", "urn:oid:",
	"urn:uuid:c757873d-ec9a-4326-a141-556f43239520", "urn:uuid:C757873D-EC9A-4326-A141-556F43239520", "urn:uuid:c757873d-ec9a-4326-a141-556f4323952",
	"urn:uuid:c757873dxec9a-4326-a141-556f43239520", "urn:uuid:g757873d-ec9a-4326-a141-556f43239520",
	"QUJD", "QUJD RA==", " QUJD ", "QU JD", "QUJ", "QUJDRA==\n", "====", "QUJD\r\nRA==", "QUJD\u00a0", "QU\tJD",
	"Patient-1.a", strings.Repeat("a", 64), strings.Repeat("a", 65), "a_b",
}

// formatAlphabets are the characters random values of each format are made of.
var formatAlphabets = map[string]string{
	"date": "0123-T:Z+.9", "dateTime": "0123-T:Z+.45", "instant": "0123-T:Z+.45", "time": "0123:.5", "code": "ab \t\n",
	"integer": "01-+9", "unsignedInt": "01-+9", "positiveInt": "01-+9", "decimal": "019-+.eE", "id": "aZ0-._ ",
	"oid": "urn:oid.0129", "uuid": "urn:id-0aF", "base64Binary": "aZ0+/= \n\t-",
}

// TestPrimitiveFormatsMatchTheSpecificationsExpressions checks every hand-written
// format against the specification's expression on the edge samples, on
// well-formed values of the format with one character changed, and on 20,000
// random strings per type.
func TestPrimitiveFormatsMatchTheSpecificationsExpressions(t *testing.T) {
	if len(primitiveFormats) != len(specificationExpressions) {
		t.Fatalf("%d formats for %d expressions", len(primitiveFormats), len(specificationExpressions))
	}
	valid := map[string][]string{
		"date": {"2024", "2024-02", "2024-02-29"}, "dateTime": {"2024-02-29T10:00:00.123+05:30"}, "instant": {"2024-02-29T10:00:00Z"},
		"time": {"10:00:00.5"}, "code": {"a b"}, "integer": {"-10"}, "unsignedInt": {"10"}, "positiveInt": {"+10"},
		"decimal": {"-10.5e+3"}, "id": {"a-1.b"}, "oid": {"urn:oid:2.16.840.1"}, "uuid": {"urn:uuid:c757873d-ec9a-4326-a141-556f43239520"},
		"base64Binary": {"QUJD RA=="},
	}
	rng := rand.New(rand.NewPCG(2026, 12))
	checked := 0
	for typ, re := range specificationExpressions {
		format := primitiveFormats[typ]
		if format == nil {
			t.Fatalf("no format for %s", typ)
		}
		check := func(s string) {
			t.Helper()
			checked++
			if got, want := format(s), re.MatchString(s); got != want {
				t.Errorf("%s %q: the format says %v, the specification's expression %v", typ, s, got, want)
			}
		}
		for _, s := range formatSamples {
			check(s)
		}
		alphabet := formatAlphabets[typ]
		for _, v := range valid[typ] {
			if !re.MatchString(v) {
				t.Fatalf("%s %q is not valid by the expression", typ, v)
			}
			check(v)
			for i := range len(v) {
				for _, c := range alphabet {
					check(v[:i] + string(c) + v[i+1:])
					check(v[:i] + string(c) + v[i:])
				}
				check(v[:i] + v[i+1:])
			}
		}
		for range 20000 {
			b := make([]byte, 1+rng.IntN(14))
			for i := range b {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
			check(string(b))
		}
	}
	if checked < 13*20000 {
		t.Fatalf("only %d values checked", checked)
	}
}
