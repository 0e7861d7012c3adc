package fhir

// The formats of FHIR R4's primitive types, as the specification's regular
// expressions give them (datatypes.html), matched by hand. Every write validates
// each primitive of its resources, and Go's regular expressions, which must
// stay linear on any input, run an automaton over every byte: on the import of
// Synthea bundles they took a fifth of the CPU, most of it on the base64 of the
// kept originals. Each matcher here accepts exactly what its expression does
// (TestPrimitiveFormatsMatchTheSpecificationsExpressions holds them to the
// expressions themselves).

// primitiveFormats maps a primitive type to its format; types absent have
// none beyond what Validate checks otherwise (string, uri, markdown...).
var primitiveFormats = map[string]func(string) bool{
	"id":           isID,
	"date":         isDate,
	"dateTime":     isDateTime,
	"instant":      isInstant,
	"time":         isTime,
	"code":         isCode,
	"integer":      isInteger,
	"unsignedInt":  isUnsignedInt,
	"positiveInt":  isPositiveInt,
	"decimal":      isDecimal,
	"oid":          isOID,
	"uuid":         isUUID,
	"base64Binary": isBase64Binary,
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isID: [A-Za-z0-9\-\.]{1,64}
func isID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// isSpace is \s of the expressions: tab, newline, form feed, carriage return
// and space.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

// isCode: [^\s]+( [^\s]+)*, words of anything but white space, one space apart.
func isCode(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ':
			if s[i+1] == ' ' {
				return false
			}
		case isSpace(c):
			return false
		}
	}
	return true
}

// digits returns the length of the run of digits at the start of s.
func digits(s string) int {
	n := 0
	for n < len(s) && isDigit(s[n]) {
		n++
	}
	return n
}

// twoDigits reads exactly two digits at s[0:2] as a number, or -1.
func twoDigits(s string) int {
	if len(s) < 2 || !isDigit(s[0]) || !isDigit(s[1]) {
		return -1
	}
	return int(s[0]-'0')*10 + int(s[1]-'0')
}

// year reads the four digits of a year other than 0000; it returns what follows
// and whether there was one.
func year(s string) (string, bool) {
	if len(s) < 4 || !isDigit(s[0]) || !isDigit(s[1]) || !isDigit(s[2]) || !isDigit(s[3]) || s[:4] == "0000" {
		return s, false
	}
	return s[4:], true
}

// part reads sep and then two digits between lo and hi.
func part(s string, sep byte, lo, hi int) (string, bool) {
	if len(s) < 3 || s[0] != sep {
		return s, false
	}
	if n := twoDigits(s[1:]); n < lo || n > hi {
		return s, false
	}
	return s[3:], true
}

// clock reads hh:mm:ss(.f+)? with hours to 23 and seconds to 60.
func clock(s string) (string, bool) {
	if h := twoDigits(s); h < 0 || h > 23 {
		return s, false
	}
	rest, ok := part(s[2:], ':', 0, 59)
	if !ok {
		return s, false
	}
	if rest, ok = part(rest, ':', 0, 60); !ok {
		return s, false
	}
	if len(rest) > 0 && rest[0] == '.' {
		n := digits(rest[1:])
		if n == 0 {
			return s, false
		}
		rest = rest[1+n:]
	}
	return rest, true
}

// zone: Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00), the whole of s.
func zone(s string) bool {
	if s == "Z" {
		return true
	}
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return false
	}
	h, m := twoDigits(s[1:]), twoDigits(s[4:])
	return h >= 0 && m >= 0 && (h <= 13 && m <= 59 || h == 14 && m == 0)
}

// isDate: YYYY(-MM(-DD)?)?
func isDate(s string) bool {
	rest, ok := year(s)
	if !ok {
		return false
	}
	if rest == "" {
		return true
	}
	if rest, ok = part(rest, '-', 1, 12); !ok {
		return false
	}
	if rest == "" {
		return true
	}
	rest, ok = part(rest, '-', 1, 31)
	return ok && rest == ""
}

// isDateTime: YYYY(-MM(-DD(Thh:mm:ss(.f)?zone)?)?)?
func isDateTime(s string) bool {
	if len(s) <= 10 {
		return isDate(s)
	}
	if !isDate(s[:10]) || s[10] != 'T' {
		return false
	}
	rest, ok := clock(s[11:])
	return ok && zone(rest)
}

// isInstant: YYYY-MM-DDThh:mm:ss(.f)?zone
func isInstant(s string) bool { return len(s) > 10 && isDateTime(s) }

// isTime: hh:mm:ss(.f)?
func isTime(s string) bool {
	rest, ok := clock(s)
	return ok && rest == ""
}

// wholeNumber: 0|[1-9][0-9]*, the whole of s.
func wholeNumber(s string) bool {
	n := digits(s)
	return n == len(s) && n > 0 && (s[0] != '0' || n == 1)
}

// isInteger: -?(0|[1-9][0-9]*)
func isInteger(s string) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	return wholeNumber(s)
}

// isUnsignedInt: 0|[1-9][0-9]*
func isUnsignedInt(s string) bool { return wholeNumber(s) }

// isPositiveInt: \+?[1-9][0-9]*
func isPositiveInt(s string) bool {
	if len(s) > 0 && s[0] == '+' {
		s = s[1:]
	}
	return len(s) > 0 && s[0] != '0' && digits(s) == len(s)
}

// isDecimal: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func isDecimal(s string) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	n := digits(s)
	if n == 0 || (s[0] == '0' && n > 1) {
		return false
	}
	s = s[n:]
	if len(s) > 0 && s[0] == '.' {
		f := digits(s[1:])
		if f == 0 {
			return false
		}
		s = s[1+f:]
	}
	if len(s) > 0 && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
			s = s[1:]
		}
		e := digits(s)
		if e == 0 {
			return false
		}
		s = s[e:]
	}
	return s == ""
}

// isOID: urn:oid:[0-2](\.(0|[1-9][0-9]*))+
func isOID(s string) bool {
	const prefix = "urn:oid:"
	if len(s) < len(prefix)+3 || s[:len(prefix)] != prefix {
		return false
	}
	s = s[len(prefix):]
	if s[0] < '0' || s[0] > '2' || s[1] != '.' {
		return false
	}
	s = s[1:]
	for len(s) > 0 {
		if s[0] != '.' {
			return false
		}
		n := digits(s[1:])
		if n == 0 || (s[1] == '0' && n > 1) {
			return false
		}
		s = s[1+n:]
	}
	return true
}

// isUUID: urn:uuid: and the 8-4-4-4-12 hexadecimal digits of a UUID.
func isUUID(s string) bool {
	const prefix = "urn:uuid:"
	if len(s) != len(prefix)+36 || s[:len(prefix)] != prefix {
		return false
	}
	s = s[len(prefix):]
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// isBase64Binary: (\s*([0-9a-zA-Z\+/=]){4}\s*)+, groups of four characters
// of the base64 alphabet (with =), white space only between groups.
func isBase64Binary(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '+' || c == '/' || c == '=':
			n++
		case isSpace(c):
			if n%4 != 0 {
				return false
			}
		default:
			return false
		}
	}
	return n > 0 && n%4 == 0
}
