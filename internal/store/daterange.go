package store

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"time"
)

// The open ends of date ranges: a Period without start begins at MinRange.
const (
	MinRange int64 = math.MinInt64
	MaxRange int64 = math.MaxInt64
)

var dateRE = regexp.MustCompile(`^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$`)

// DateRange returns the [low, high) range, in microseconds since the epoch, that a
// FHIR date, dateTime or instant covers at its precision: "2013" is all of 2013,
// "2013-01-14T10:00" that minute. Values without a time zone are taken as UTC. A
// day, time or offset that does not exist ("2020-02-30", "T25:61", "+99:99") is an
// error, never a value moved to the next day.
func DateRange(s string) (low, high int64, err error) {
	m := dateRE.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, fmt.Errorf("%q is not a FHIR date or dateTime", s)
	}
	num := func(i, def int) int {
		if m[i] == "" {
			return def
		}
		n, _ := strconv.Atoi(m[i])
		return n
	}
	loc := time.UTC
	if z := m[8]; z != "" && z != "Z" {
		h, _ := strconv.Atoi(z[1:3])
		mi, _ := strconv.Atoi(z[4:6])
		if mi > 59 || h*60+mi > 14*60 {
			return 0, 0, fmt.Errorf("%q has a time-zone offset beyond ±14:00", s)
		}
		off := h*3600 + mi*60
		if z[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	year, month, day := num(1, 0), num(2, 1), num(3, 1)
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, time.Month(month)) {
		return 0, 0, fmt.Errorf("%q is not a valid date", s)
	}
	// A second of 60 is a leap second, which the FHIR formats allow.
	if num(4, 0) > 23 || num(5, 0) > 59 || num(6, 0) > 60 {
		return 0, 0, fmt.Errorf("%q is not a valid time of day", s)
	}
	start := time.Date(year, time.Month(month), day, num(4, 0), num(5, 0), num(6, 0), 0, loc)
	var end time.Time
	switch {
	case m[2] == "":
		end = start.AddDate(1, 0, 0)
	case m[3] == "":
		end = start.AddDate(0, 1, 0)
	case m[4] == "":
		end = start.AddDate(0, 0, 1)
	case m[6] == "":
		end = start.Add(time.Minute)
	case m[7] == "":
		end = start.Add(time.Second)
	default:
		frac := m[7][1:]
		digits := min(len(frac), 6)
		n, _ := strconv.Atoi(frac[:digits])
		for i := digits; i < 6; i++ {
			n *= 10
		}
		start = start.Add(time.Duration(n) * time.Microsecond)
		step := int64(math.Pow10(6 - digits))
		end = start.Add(time.Duration(step) * time.Microsecond)
	}
	return start.UnixMicro(), end.UnixMicro(), nil
}

// daysIn is the number of days of month in year.
func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
