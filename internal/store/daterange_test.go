package store_test

import (
	"testing"
	"time"

	"omnichart/internal/store"
)

func TestDateRangeRefusesDaysAndTimesThatDoNotExist(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"a real day is a range", "2020-02-29", true},
		{"a minute with an offset of 14 hours is a range", "2020-02-29T10:00+14:00", true},
		{"a leap second is a range", "2016-12-31T23:59:60Z", true},
		{"the 30th of February is refused", "2020-02-30", false},
		{"the 29th of February of 2021 is refused", "2021-02-29", false},
		{"the 31st of June is refused", "2021-06-31T10:00:00Z", false},
		{"an hour of 25 is refused", "2021-06-01T25:00:00Z", false},
		{"a minute of 61 is refused", "2021-06-01T10:61:00Z", false},
		{"a second of 61 is refused", "2021-06-01T10:00:61Z", false},
		{"an offset of +99:99 is refused", "2021-06-01T10:00:00+99:99", false},
		{"an offset beyond 14 hours is refused", "2021-06-01T10:00:00-14:30", false},
		{"an offset with 60 minutes is refused", "2021-06-01T10:00:00+01:60", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			low, high, err := store.DateRange(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("DateRange(%q) error = %v, want ok %v", tt.in, err, tt.ok)
			}
			if tt.ok && high <= low {
				t.Errorf("DateRange(%q) = [%v, %v), want a non-empty range", tt.in, time.UnixMicro(low), time.UnixMicro(high))
			}
		})
	}
}
