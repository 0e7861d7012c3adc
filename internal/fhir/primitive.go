package fhir

import (
	"errors"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// MaxStringLength is the most characters a string or markdown value may hold: "strings
// SHALL NOT exceed 1MB in size" (the maxLength of the R4 string type). See
// https://hl7.org/fhir/R4/datatypes.html#string.
const MaxStringLength = 1 << 20

// The range of the 32-bit integer types integer, unsignedInt and positiveInt. See
// https://hl7.org/fhir/R4/datatypes.html#integer.
const (
	minInteger = math.MinInt32
	maxInteger = math.MaxInt32
)

// numberProblem checks the value of a number of type typ, whose format the pattern of
// the type has accepted, and describes what is wrong with it, or returns "".
// Integers are 32-bit. A decimal is a finite IEEE 754 double (the union of
// xs:decimal and xs:double, without INF and NaN): 1e400 is refused, and so is a
// non-zero value too small to tell from zero.
func numberProblem(typ, n string) string {
	switch typ {
	case "integer", "positiveInt", "unsignedInt", "System.Integer":
		v, err := strconv.ParseInt(n, 10, 64)
		if err != nil || v < minInteger || v > maxInteger {
			return "the value is outside the range of a " + typ + " (a 32-bit integer, -2147483648 to 2147483647)"
		}
	case "decimal", "System.Decimal":
		f, err := strconv.ParseFloat(n, 64)
		if errors.Is(err, strconv.ErrRange) || math.IsInf(f, 0) {
			return "the value is too large for a decimal, which must be finite (at most about 1.8e308)"
		}
		if f == 0 && hasNonZeroDigit(n) {
			return "the value is too small for a decimal: it cannot be told from zero (below about 4.9e-324)"
		}
	}
	return ""
}

// hasNonZeroDigit reports whether the mantissa of a JSON number has a digit other
// than 0.
func hasNonZeroDigit(n string) bool {
	for i := 0; i < len(n); i++ {
		switch c := n[i]; {
		case c == 'e' || c == 'E':
			return false
		case c >= '1' && c <= '9':
			return true
		}
	}
	return false
}

// textProblem checks the characters of a string-valued primitive of type typ and
// describes what is wrong with them, or returns "". FHIR strings hold Unicode text
// without control characters other than tab, carriage return and line feed (also
// in the xhtml of narratives, which XML forbids them in), and string and markdown
// values hold at most MaxStringLength characters. See
// https://hl7.org/fhir/R4/datatypes.html#string.
func textProblem(typ, s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\r' && c != '\n' {
			return "the value contains a control character (U+00" + hexDigitsUpper(c) + "); FHIR strings may contain only tab, carriage return and line feed of them"
		}
	}
	if (typ == "string" || typ == "markdown" || typ == "System.String") && len(s) > MaxStringLength &&
		utf8.RuneCountInString(s) > MaxStringLength {
		return "the value is longer than the " + strconv.Itoa(MaxStringLength) + " characters a FHIR string may hold"
	}
	return ""
}

func hexDigitsUpper(c byte) string {
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[c>>4], digits[c&0xF]})
}

// calendarProblem checks that a date, dateTime or instant whose format the pattern
// of the type has accepted names a day that exists ("2020-02-30" does not), and
// describes the problem, or returns "". The patterns already bound months, hours,
// minutes, seconds and time-zone offsets (-14:00 to +14:00). See
// https://hl7.org/fhir/R4/datatypes.html#dateTime ("Dates SHALL be valid dates").
func calendarProblem(typ, s string) string {
	switch typ {
	case "date", "dateTime", "instant", "System.Date", "System.DateTime":
	default:
		return ""
	}
	if len(s) < len("2006-01-02") {
		return ""
	}
	year, err1 := strconv.Atoi(s[0:4])
	month, err2 := strconv.Atoi(s[5:7])
	day, err3 := strconv.Atoi(s[8:10])
	if err1 != nil || err2 != nil || err3 != nil || month < 1 || month > 12 {
		return ""
	}
	if day > daysIn(year, time.Month(month)) {
		return "the value is not a real date: its day is past the end of its month"
	}
	return ""
}

// daysIn is the number of days of month in year (proleptic Gregorian calendar).
func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
