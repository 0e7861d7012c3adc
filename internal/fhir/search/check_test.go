package search_test

import (
	"net/url"
	"strings"
	"testing"

	"omnichart/internal/fhir/search"
)

func TestCheckRecordsWhyItIgnoredAParameter(t *testing.T) {
	reg := search.NewRegistry()
	tests := []struct {
		name    string
		query   string
		ignored string // the keys of q.Ignored, joined with ","
		reason  string // what the reason of the first must contain
	}{
		{"a known parameter is kept", "gender=female", "", ""},
		{"an unknown parameter is ignored with the reason", "gender=female&colour=red", "colour", `unknown search parameter "colour"`},
		{"an unknown modifier is ignored under its full key", "gender:sounds-like=f", "gender:sounds-like", "modifier :sounds-like"},
		{"a chain through a parameter that is no reference is ignored", "gender.name=x", "gender.name", "not a reference parameter"},
		{":mdm is a modifier of reference parameters", "general-practitioner:mdm=Patient/1", "", ""},
		{":mdm on a token parameter is ignored", "gender:mdm=female", "gender:mdm", "modifier :mdm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values, _ := url.ParseQuery(tt.query)
			q, err := search.Parse("Patient", values)
			if err != nil {
				t.Fatal(err)
			}
			if err := reg.Check(q); err != nil {
				t.Fatalf("Check(%s) = %v, want lenient handling", tt.query, err)
			}
			if got := strings.Join(q.Ignored, ","); got != tt.ignored {
				t.Fatalf("Check(%s) ignored %q, want %q", tt.query, got, tt.ignored)
			}
			if tt.ignored == "" {
				return
			}
			if why := q.IgnoredReasons[q.Ignored[0]]; !strings.Contains(why, tt.reason) {
				t.Errorf("Check(%s) reason %q, want it to contain %q", tt.query, why, tt.reason)
			}
		})
	}
}

func TestCheckRefusesUnknownParametersWhenStrict(t *testing.T) {
	values, _ := url.ParseQuery("colour=red")
	q, err := search.Parse("Patient", values)
	if err != nil {
		t.Fatal(err)
	}
	q.Strict = true
	if err := search.NewRegistry().Check(q); err == nil || len(q.Ignored) > 0 {
		t.Errorf("strict Check(colour=red) = %v, ignored %v; want an error and nothing ignored", err, q.Ignored)
	}
}
