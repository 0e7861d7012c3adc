package ccda

import (
	"testing"
)

func TestParseTS(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want ts
		ok   bool
	}{
		{"a year keeps year precision", "2020", ts{date: "2020"}, true},
		{"a month keeps month precision", "202003", ts{date: "2020-03"}, true},
		{"a day keeps day precision", "20200314", ts{date: "2020-03-14"}, true},
		{"an hour gets minutes and seconds", "2020031415", ts{date: "2020-03-14", clock: "15:00:00"}, true},
		{"minutes with an offset", "202003141526-0500", ts{date: "2020-03-14", clock: "15:26:00", zone: "-05:00"}, true},
		{"fractional seconds are kept", "20200314152653.1234+0100", ts{date: "2020-03-14", clock: "15:26:53.1234", zone: "+01:00"}, true},
		{"a day with an offset keeps day precision", "20200314-0800", ts{date: "2020-03-14", zone: "-08:00"}, true},
		{"February 30 is refused", "20200230", ts{}, false},
		{"February 29 of a leap year is accepted", "20240229", ts{date: "2024-02-29"}, true},
		{"nine digits are refused", "200130311", ts{}, false},
		{"letters are refused", "2020MMDD", ts{}, false},
		{"a bad offset is refused", "202003141526-05", ts{}, false},
		{"hour 24 is refused", "2020031424", ts{}, false},
		{"an empty value is refused", "", ts{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseTS(tt.in)
			if ok != tt.ok || ok && got != tt.want {
				t.Errorf("parseTS(%q) = %+v, %v, want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestDateTimeUsesTheDocumentOffset(t *testing.T) {
	tests := []struct {
		name    string
		docZone string
		value   string
		want    string
	}{
		{"a local time takes the document offset", "-05:00", "202003141526", "2020-03-14T15:26:00-05:00"},
		{"a local time without a document offset is cut to its date", "", "202003141526", "2020-03-14"},
		{"an explicit offset wins", "-05:00", "202003141526+0100", "2020-03-14T15:26:00+01:00"},
		{"a date needs no offset", "", "20200314", "2020-03-14"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &converter{docZone: tt.docZone}
			n := &node{name: "effectiveTime", attrs: attrs("value", tt.value)}
			if got := c.dateTime(n); got != tt.want {
				t.Errorf("dateTime(%q) with document offset %q = %q, want %q", tt.value, tt.docZone, got, tt.want)
			}
		})
	}
}
