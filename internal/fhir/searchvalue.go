package fhir

import "strings"

// searchEscaper escapes the four characters that have a meaning inside a search
// parameter value. The backslash comes first so that the escapes it adds are not
// escaped again (strings.Replacer makes one pass, so the order is only for
// readers).
var searchEscaper = strings.NewReplacer(`\`, `\\`, `,`, `\,`, `|`, `\|`, `$`, `\$`)

// EscapeSearchValue escapes s for use as one search parameter value, or as one part
// of a token ("system|code") or composite ("a$b") value: "\", ",", "|" and "$" get
// a backslash in front, so a comma in s is not an OR, a bar is not the
// system/code separator and a dollar is not a composite separator. The result is
// not yet URL-encoded; see IdentifierQuery for a whole query string.
//
// search.Unescape (and search.SplitValues followed by search.SplitToken) is its
// inverse. See https://hl7.org/fhir/R4/search.html#escaping.
func EscapeSearchValue(s string) string {
	return searchEscaper.Replace(s)
}

// IdentifierQuery returns the URL-encoded query string "identifier=system|value"
// that selects the resources with that identifier, as used by conditional creates
// (Bundle.entry.request.ifNoneExist) and conditional updates. Both parts are
// escaped with EscapeSearchValue, so a value such as "A,B" is one value, not two.
// An empty value selects every resource with an identifier in system.
//
// See https://hl7.org/fhir/R4/search.html#token and
// https://hl7.org/fhir/R4/http.html#ccreate.
func IdentifierQuery(system, value string) string {
	return "identifier=" + queryEscape(EscapeSearchValue(system)) + "|" + queryEscape(EscapeSearchValue(value))
}

// queryEscape percent-encodes s for the value half of a query string. It keeps
// the RFC 3986 unreserved characters and ":" and "/" (both allowed in a query) as
// they are, so that systems such as "urn:oid:1.2.3" and "http://loinc.org" stay
// readable, and encodes every other byte, among them "%", "&", "+", "=", "#", ";",
// space, the search escapes "\", ",", "|", "$", and all non-ASCII bytes.
func queryEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("-._~:/", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
