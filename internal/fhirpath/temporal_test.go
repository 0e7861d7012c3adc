package fhirpath_test

import (
	"testing"

	"omnichart/internal/fhirpath"
)

func TestParseTemporal(t *testing.T) {
	tests := []struct {
		name      string
		parse     func(string) (fhirpath.Temporal, error)
		in        string
		precision fhirpath.Precision
		kind      fhirpath.TemporalKind
	}{
		{"a year is a date of year precision", fhirpath.ParseDate, "2012", fhirpath.PrecYear, fhirpath.KindDate},
		{"a full date has day precision", fhirpath.ParseDate, "2012-02-29", fhirpath.PrecDay, fhirpath.KindDate},
		{"a dateTime without time is a DateTime of day precision", fhirpath.ParseDateTime, "2012-02-29", fhirpath.PrecDay, fhirpath.KindDateTime},
		{"an instant has millisecond precision", fhirpath.ParseDateTime, "2015-02-07T13:28:17.239+02:00", fhirpath.PrecMillisecond, fhirpath.KindDateTime},
		{"a time has second precision", fhirpath.ParseTime, "10:30:00", fhirpath.PrecSecond, fhirpath.KindTime},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := tc.parse(tc.in)
			if err != nil {
				t.Fatalf("parse %q: %v", tc.in, err)
			}
			if v.Precision != tc.precision || v.Kind != tc.kind || v.String() != tc.in {
				t.Errorf("parse %q = %s (precision %d, kind %d), want precision %d, kind %d", tc.in, v, v.Precision, v.Kind, tc.precision, tc.kind)
			}
		})
	}
	for _, bad := range []string{"2013-02-29", "2012-13", "12", "2012-01-01T25:00:00Z", "2012-01-01T10:00:00+1:00"} {
		if v, err := fhirpath.ParseDateTime(bad); err == nil {
			t.Errorf("ParseDateTime(%q) = %s, want an error", bad, v)
		}
	}
}
