package search

import (
	"fmt"
	"net/url"
	"unicode/utf8"
)

// checkText refuses parameter names and values that no stored value can match and
// that a database may not even accept: bytes that are not UTF-8, and control
// characters other than tab, carriage return and line feed (FHIR strings never
// hold them; see https://hl7.org/fhir/R4/datatypes.html#string). PostgreSQL fails on
// a NUL in a query parameter, so without this check the same search would be an
// empty result on SQLite and a server error on PostgreSQL.
func checkText(values url.Values) error {
	for key, vals := range values {
		if problem := textProblem(key); problem != "" {
			return fmt.Errorf("a search parameter name %s", problem)
		}
		for _, v := range vals {
			if problem := textProblem(v); problem != "" {
				return fmt.Errorf("the value of search parameter %q %s", safeKey(key), problem)
			}
		}
	}
	return nil
}

// textProblem describes what is wrong with the characters of s, or returns "".
func textProblem(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\r' && c != '\n' {
			return fmt.Sprintf("contains the control character U+%04X, which FHIR values never hold", c)
		}
	}
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	return ""
}

// safeKey shortens a parameter name for an error message.
func safeKey(key string) string {
	if len(key) > 64 {
		return key[:64] + "…"
	}
	return key
}
