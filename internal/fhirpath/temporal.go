package fhirpath

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TemporalKind says which of the three FHIRPath temporal types a value is.
type TemporalKind int

// The temporal kinds.
const (
	KindDate TemporalKind = iota
	KindDateTime
	KindTime
)

// Precision is how much of a temporal value was given. Seconds and milliseconds are
// one precision for comparisons, as the spec requires.
type Precision int

// The precisions, coarsest first.
const (
	PrecYear Precision = iota
	PrecMonth
	PrecDay
	PrecHour
	PrecMinute
	PrecSecond
	PrecMillisecond
)

// Temporal is a FHIRPath Date, DateTime or Time with the precision it was written
// with. Partial values matter: @2012 and @2012-01-01 are neither equal nor unequal.
type Temporal struct {
	Kind      TemporalKind
	Precision Precision
	Year      int
	Month     int // 1-12, or 0 below month precision
	Day       int
	Hour      int
	Minute    int
	Second    int
	Milli     int
	HasZone   bool
	ZoneMin   int // offset from UTC in minutes
}

// ParseDate parses a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD).
func ParseDate(s string) (Temporal, error) {
	t, err := parseTemporal(s)
	if err != nil {
		return t, err
	}
	if t.Kind != KindDate {
		return t, fmt.Errorf("not a date: %q", s)
	}
	return t, nil
}

// ParseDateTime parses a FHIR dateTime or instant; a value without a time part is a
// DateTime of year, month or day precision.
func ParseDateTime(s string) (Temporal, error) {
	t, err := parseTemporal(s)
	if err != nil {
		return t, err
	}
	t.Kind = KindDateTime
	return t, nil
}

// ParseTime parses a FHIR time (hh:mm:ss with optional fraction), without "T".
func ParseTime(s string) (Temporal, error) {
	var t Temporal
	t.Kind = KindTime
	rest, err := t.parseClock(s)
	if err != nil {
		return t, err
	}
	if rest != "" {
		return t, fmt.Errorf("not a time: %q", s)
	}
	return t, nil
}

// parseTemporal reads a date with an optional "T" time and zone. A trailing "T" with
// no time (as in the literal @2015T) makes a DateTime.
func parseTemporal(s string) (Temporal, error) {
	var t Temporal
	bad := fmt.Errorf("not a date or dateTime: %q", s)
	t.Kind = KindDate
	num := func(str string, n int) (int, bool) {
		if len(str) < n {
			return 0, false
		}
		for i := 0; i < n; i++ {
			if str[i] < '0' || str[i] > '9' {
				return 0, false
			}
		}
		v, _ := strconv.Atoi(str[:n])
		return v, true
	}
	var ok bool
	if t.Year, ok = num(s, 4); !ok {
		return t, bad
	}
	rest := s[4:]
	t.Precision = PrecYear
	if strings.HasPrefix(rest, "-") {
		if t.Month, ok = num(rest[1:], 2); !ok || t.Month < 1 || t.Month > 12 {
			return t, bad
		}
		rest = rest[3:]
		t.Precision = PrecMonth
		if strings.HasPrefix(rest, "-") {
			if t.Day, ok = num(rest[1:], 2); !ok || t.Day < 1 || t.Day > daysIn(t.Year, t.Month) {
				return t, bad
			}
			rest = rest[3:]
			t.Precision = PrecDay
		}
	}
	if strings.HasPrefix(rest, "T") {
		t.Kind = KindDateTime
		rest = rest[1:]
		if rest == "" {
			return t, nil
		}
		if t.Precision != PrecDay {
			return t, bad
		}
		var err error
		if rest, err = t.parseClock(rest); err != nil {
			return t, bad
		}
	}
	if rest != "" {
		if t.Kind == KindDate {
			// A zone belongs to a time part.
			return t, bad
		}
		if err := t.parseZone(rest); err != nil {
			return t, bad
		}
		t.Kind = KindDateTime
	}
	return t, nil
}

// parseClock reads hh[:mm[:ss[.fff]]] into t and returns what follows.
func (t *Temporal) parseClock(s string) (string, error) {
	bad := fmt.Errorf("not a time: %q", s)
	two := func(str string) (int, bool) {
		if len(str) < 2 || str[0] < '0' || str[0] > '9' || str[1] < '0' || str[1] > '9' {
			return 0, false
		}
		return int(str[0]-'0')*10 + int(str[1]-'0'), true
	}
	var ok bool
	if t.Hour, ok = two(s); !ok || t.Hour > 23 {
		return s, bad
	}
	s = s[2:]
	t.Precision = PrecHour
	if !strings.HasPrefix(s, ":") {
		return s, nil
	}
	if t.Minute, ok = two(s[1:]); !ok || t.Minute > 59 {
		return s, bad
	}
	s = s[3:]
	t.Precision = PrecMinute
	if !strings.HasPrefix(s, ":") {
		return s, nil
	}
	if t.Second, ok = two(s[1:]); !ok || t.Second > 59 {
		return s, bad
	}
	s = s[3:]
	t.Precision = PrecSecond
	if strings.HasPrefix(s, ".") {
		i := 1
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 1 {
			return s, bad
		}
		frac := s[1:i] + "000"
		t.Milli, _ = strconv.Atoi(frac[:3])
		t.Precision = PrecMillisecond
		s = s[i:]
	}
	return s, nil
}

func (t *Temporal) parseZone(s string) error {
	if s == "Z" {
		t.HasZone, t.ZoneMin = true, 0
		return nil
	}
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return fmt.Errorf("bad zone %q", s)
	}
	h, err1 := strconv.Atoi(s[1:3])
	m, err2 := strconv.Atoi(s[4:6])
	if err1 != nil || err2 != nil || h > 14 || m > 59 {
		return fmt.Errorf("bad zone %q", s)
	}
	t.HasZone, t.ZoneMin = true, h*60+m
	if s[0] == '-' {
		t.ZoneMin = -t.ZoneMin
	}
	return nil
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// String formats the value in FHIR syntax (without the "@" of a literal).
func (t Temporal) String() string {
	var b strings.Builder
	if t.Kind != KindTime {
		fmt.Fprintf(&b, "%04d", t.Year)
		if t.Precision >= PrecMonth {
			fmt.Fprintf(&b, "-%02d", t.Month)
		}
		if t.Precision >= PrecDay {
			fmt.Fprintf(&b, "-%02d", t.Day)
		}
		if t.Kind == KindDate {
			return b.String()
		}
		if t.Precision < PrecHour {
			return b.String()
		}
		b.WriteByte('T')
	}
	fmt.Fprintf(&b, "%02d", t.Hour)
	if t.Precision >= PrecMinute {
		fmt.Fprintf(&b, ":%02d", t.Minute)
	}
	if t.Precision >= PrecSecond {
		fmt.Fprintf(&b, ":%02d", t.Second)
	}
	if t.Precision >= PrecMillisecond {
		fmt.Fprintf(&b, ".%03d", t.Milli)
	}
	if t.HasZone && t.Kind == KindDateTime {
		if t.ZoneMin == 0 {
			b.WriteByte('Z')
		} else {
			z := t.ZoneMin
			sign := byte('+')
			if z < 0 {
				sign, z = '-', -z
			}
			fmt.Fprintf(&b, "%c%02d:%02d", sign, z/60, z%60)
		}
	}
	return b.String()
}

// Time converts to a time.Time, filling missing parts with their minimum and a
// missing zone with UTC.
func (t Temporal) Time() time.Time {
	loc := time.UTC
	if t.HasZone && t.ZoneMin != 0 {
		loc = time.FixedZone("", t.ZoneMin*60)
	}
	y, mo, d := t.Year, t.Month, t.Day
	if t.Kind == KindTime {
		y, mo, d = 1970, 1, 1
	}
	mo = max(mo, 1)
	d = max(d, 1)
	return time.Date(y, time.Month(mo), d, t.Hour, t.Minute, t.Second, t.Milli*1e6, loc)
}

// fromTime builds a Temporal from a time.Time at the given precision.
func fromTime(tt time.Time, kind TemporalKind, p Precision, zone bool) Temporal {
	_, off := tt.Zone()
	return Temporal{Kind: kind, Precision: p, Year: tt.Year(), Month: int(tt.Month()), Day: tt.Day(),
		Hour: tt.Hour(), Minute: tt.Minute(), Second: tt.Second(), Milli: tt.Nanosecond() / 1e6,
		HasZone: zone, ZoneMin: off / 60}
}

// normalised shifts a zoned DateTime to UTC so that components compare directly.
func (t Temporal) normalised() Temporal {
	if !t.HasZone || t.ZoneMin == 0 || t.Kind != KindDateTime || t.Precision < PrecHour {
		return t
	}
	u := t.Time().UTC()
	n := fromTime(u, t.Kind, t.Precision, true)
	n.ZoneMin = 0
	return n
}

func (t Temporal) parts() [6]int {
	if t.Kind == KindTime {
		return [6]int{t.Hour, t.Minute, t.Second*1000 + t.Milli}
	}
	return [6]int{t.Year, t.Month, t.Day, t.Hour, t.Minute, t.Second*1000 + t.Milli}
}

// precIndex maps a precision to the index in parts(); seconds and milliseconds share one.
func (t Temporal) precIndex() int {
	p := t.Precision
	if p == PrecMillisecond {
		p = PrecSecond
	}
	if t.Kind == KindTime {
		return int(p) - int(PrecHour)
	}
	return int(p)
}

// compareTemporal orders two temporals. ok is false when the answer is unknown
// because the values differ in precision (or one has a zone and the other not)
// and agree on every part both have.
func compareTemporal(a, b Temporal) (c int, ok bool) {
	if (a.Kind == KindTime) != (b.Kind == KindTime) {
		return 0, false
	}
	if a.HasZone != b.HasZone && a.Precision >= PrecHour && b.Precision >= PrecHour {
		return 0, false
	}
	a, b = a.normalised(), b.normalised()
	pa, pb := a.parts(), b.parts()
	ia, ib := a.precIndex(), b.precIndex()
	n := min(ia, ib)
	for i := 0; i <= n; i++ {
		if pa[i] != pb[i] {
			if pa[i] < pb[i] {
				return -1, true
			}
			return 1, true
		}
	}
	if ia != ib {
		return 0, false
	}
	return 0, true
}

// addDuration adds n units of a calendar duration, keeping the precision of t.
// Units below the precision of t are first converted to whole units of it, as
// the spec requires (adding 25 hours to a date adds one day).
func (t Temporal) addDuration(n int64, unit string) (Temporal, error) {
	tt := t.Time()
	switch unit {
	case "year":
		y := t.Year + int(n)
		r := t
		r.Year = y
		if r.Precision >= PrecDay && r.Day > daysIn(y, r.Month) {
			r.Day = daysIn(y, r.Month)
		}
		return r, nil
	case "month":
		total := t.Year*12 + (max(t.Month, 1) - 1) + int(n)
		r := t
		r.Year, r.Month = total/12, total%12+1
		if t.Precision < PrecMonth {
			r.Month = t.Month
			r.Year = t.Year + int(n)/12
		}
		if r.Precision >= PrecDay && r.Day > daysIn(r.Year, r.Month) {
			r.Day = daysIn(r.Year, r.Month)
		}
		return r, nil
	case "week":
		return t.addDuration(n*7, "day")
	case "day":
		if t.Kind == KindTime {
			return t, fmt.Errorf("cannot add days to a time")
		}
		tt = tt.AddDate(0, 0, int(n))
	case "hour":
		tt = tt.Add(time.Duration(n) * time.Hour)
	case "minute":
		tt = tt.Add(time.Duration(n) * time.Minute)
	case "second":
		tt = tt.Add(time.Duration(n) * time.Second)
	case "millisecond":
		tt = tt.Add(time.Duration(n) * time.Millisecond)
	default:
		return t, fmt.Errorf("cannot add %q to a date or time", unit)
	}
	r := fromTime(tt, t.Kind, t.Precision, t.HasZone)
	r.ZoneMin = t.ZoneMin
	if t.Kind == KindTime {
		r.Year, r.Month, r.Day = 0, 0, 0
	}
	if t.Precision < PrecMonth {
		r.Month = 0
	}
	if t.Precision < PrecDay {
		r.Day = 0
	}
	return r, nil
}
