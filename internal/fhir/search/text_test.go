package search_test

import (
	"strings"
	"testing"

	"omnichart/internal/fhir/search"
)

func TestParseRefusesTextNoValueCanHold(t *testing.T) {
	tests := []struct {
		name  string
		query string
		err   string // a part of the error; "" for none
	}{
		{"a NUL in a value is refused", "name=a%00b", "control character U+0000"},
		{"an escape character in a token is refused", "identifier=sys|%1B", "control character U+001B"},
		{"a NUL in a result parameter is refused", "_sort=name%00", "control character"},
		{"a NUL in a parameter name is refused", "na%00me=x", "parameter name"},
		{"a value that is not UTF-8 is refused", "name=%C3%28", "not valid UTF-8"},
		{"a name that is not UTF-8 is refused", "%FF=x", "not valid UTF-8"},
		{"tab, carriage return and line feed are text", "name=a%09b%0D%0Ac", ""},
		{"letters beyond ASCII are text", "name=%C3%A9mile", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := search.ParseString("Patient", tt.query)
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("ParseString(%q) = %v, want no error", tt.query, err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("ParseString(%q) = %v, want an error with %q", tt.query, err, tt.err)
			}
		})
	}
}
