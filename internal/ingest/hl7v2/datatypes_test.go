package hl7v2

import (
	"testing"
	"time"

	"omnichart/internal/fhir"
)

// validAs reports whether the R4 model accepts v as Observation.<element>: a
// dateTime for effectiveDateTime, an instant for issued.
func validAs(element, v string) bool {
	o := fhir.Resource{"resourceType": "Observation", "status": "final", "code": map[string]any{"text": "x"}, element: v}
	return len(fhir.R4().Validate(o)) == 0
}

// TestDateTimeReadsEveryDTMPrecision covers each precision HL7 allows for DTM/TS,
// YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ], with and without an offset, and
// the FHIR dateTime (and whether it is also a valid instant) each maps to.
func TestDateTimeReadsEveryDTMPrecision(t *testing.T) {
	est := time.FixedZone("EST", -5*3600)
	tests := []struct {
		name    string
		in      string
		zone    *time.Location // Options.TimeZone
		want    string
		instant bool
	}{
		{"a year", "2021", nil, "2021", false},
		{"a year with an offset drops the offset", "2021+0215", nil, "2021", false},
		{"a month", "202108", nil, "2021-08", false},
		{"a month with an offset", "202108-0500", nil, "2021-08", false},
		{"a day", "20210818", nil, "2021-08-18", false},
		{"a day with an offset", "20210818+0215", nil, "2021-08-18", false},
		{"an hour without offset or zone is reduced to the day", "2021081811", nil, "2021-08-18", false},
		{"an hour without offset is read in the configured zone", "2021081811", est, "2021-08-18T11:00:00-05:00", true},
		{"an hour with an offset gets zero minutes and seconds", "2021081811+0215", nil, "2021-08-18T11:00:00+02:15", true},
		{"minutes without offset or zone are reduced to the day", "202108181126", nil, "2021-08-18", false},
		{"minutes without offset are read in the configured zone", "202108181126", est, "2021-08-18T11:26:00-05:00", true},
		{"minutes with an offset", "202108181126+0215", nil, "2021-08-18T11:26:00+02:15", true},
		{"minutes with a negative offset", "202108181126-0330", nil, "2021-08-18T11:26:00-03:30", true},
		{"seconds without offset or zone are reduced to the day", "20210818112633", nil, "2021-08-18", false},
		{"seconds without offset are read in the configured zone", "20210818112633", est, "2021-08-18T11:26:33-05:00", true},
		{"seconds with an offset", "20210818112633+0000", nil, "2021-08-18T11:26:33+00:00", true},
		{"tenths of a second with an offset", "20210818112633.1+0215", nil, "2021-08-18T11:26:33.1+02:15", true},
		{"hundredths of a second with an offset", "20210818112633.12-0500", nil, "2021-08-18T11:26:33.12-05:00", true},
		{"thousandths of a second with an offset", "20210818112633.123+0100", nil, "2021-08-18T11:26:33.123+01:00", true},
		{"ten-thousandths of a second with an offset", "20210818112633.1234+1400", nil, "2021-08-18T11:26:33.1234+14:00", true},
		{"a fraction without offset is read in the configured zone", "20210818112633.1234", est, "2021-08-18T11:26:33.1234-05:00", true},
		{"a fraction without offset or zone is reduced to the day", "20210818112633.1234", nil, "2021-08-18", false},
		{"a leap second", "20161231235960+0000", nil, "2016-12-31T23:59:60+00:00", true},
		{"the 29th of February of a leap year", "20240229", nil, "2024-02-29", false},
		{"a degree-of-precision component is ignored", "20210818112633+0215^S", nil, "2021-08-18T11:26:33+02:15", true},
		{"an explicit null is no value", `""`, nil, "", false},
		{"an odd number of digits is refused", "2021081", nil, "", false},
		{"month 13 is refused", "20211301", nil, "", false},
		{"the 30th of February is refused", "20210230", nil, "", false},
		{"the 29th of February of a common year is refused", "20230229", nil, "", false},
		{"hour 24 is refused", "2021081824+0000", nil, "", false},
		{"minute 60 is refused", "202108181160+0000", nil, "", false},
		{"second 61 is refused", "20210818112661+0000", nil, "", false},
		{"a fraction of minutes is refused", "202108181126.5+0000", nil, "", false},
		{"a fraction of five digits is refused", "20210818112633.12345+0000", nil, "", false},
		{"an offset FHIR cannot hold is refused", "202108181126+1430", nil, "", false},
		{"an offset of three digits is refused", "202108181126+021", nil, "", false},
		{"an offset with 60 minutes is refused", "202108181126+0260", nil, "", false},
		{"an ISO 8601 date is refused", "2021-08-18", nil, "", false},
		{"text is refused", "yesterday", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &converter{opts: Options{TimeZone: tt.zone}.withDefaults()}
			got := c.dateTime(tt.in)
			if got != tt.want {
				t.Errorf("dateTime(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got != "" && !validAs("effectiveDateTime", got) {
				t.Errorf("dateTime(%q) = %q, which is not a valid FHIR dateTime", tt.in, got)
			}
			if isInstant(got) != tt.instant {
				t.Errorf("isInstant(%q) = %v, want %v", got, isInstant(got), tt.instant)
			}
			if tt.instant && !validAs("issued", got) {
				t.Errorf("dateTime(%q) = %q, which is not a valid FHIR instant", tt.in, got)
			}
			warned := len(c.issues) > 0 && c.issues[0].Severity == "warning"
			if wantWarn := tt.want == "" && tt.in != `""`; warned != wantWarn {
				t.Errorf("dateTime(%q) issues = %v, want a warning: %v", tt.in, c.issues, wantWarn)
			}
		})
	}
}

func TestDateKeepsTheDayOfEveryDTMPrecision(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"a year", "1988", "1988"},
		{"a day", "19880818", "1988-08-18"},
		{"a time of birth with an offset gives its day", "198808181126+0215", "1988-08-18"},
		{"a time of birth without offset gives its day", "19880818112633.12", "1988-08-18"},
		{"an impossible day is left out", "19880231", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &converter{opts: Options{}.withDefaults()}
			if got := c.date(tt.in); got != tt.want {
				t.Errorf("date(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFormatTMRefusesTimesFHIRCannotHold(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"hours and minutes", "1126", "11:26:00"},
		{"seconds with a fraction", "112633.5", "11:26:33.5"},
		{"hour 25 is refused", "2500", ""},
		{"minute 75 is refused", "1175", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatTM(tt.in); got != tt.want {
				t.Errorf("formatTM(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
