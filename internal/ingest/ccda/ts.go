package ccda

import (
	"omnichart/internal/fhir"
	"strconv"
	"strings"
)

// ts is a parsed HL7 TS: YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+|-ZZZZ].
type ts struct {
	date  string // "2020", "2020-03" or "2020-03-14"
	clock string // "hh:mm:ss[.fff]", empty at date precision
	zone  string // "+hh:mm", "Z" or empty
}

// parseTS reads an HL7 TS value; ok is false when it is not one.
func parseTS(s string) (ts, bool) {
	s = strings.TrimSpace(s)
	var t ts
	body, zone := s, ""
	if i := strings.IndexAny(s, "+-"); i >= 0 {
		body, zone = s[:i], s[i:]
	} else if strings.HasSuffix(s, "Z") {
		body, zone = s[:len(s)-1], "Z"
	}
	frac := ""
	if i := strings.IndexByte(body, '.'); i >= 0 {
		body, frac = body[:i], body[i+1:]
		if frac == "" || !allDigits(frac) || len(body) != 14 {
			return t, false
		}
	}
	if !allDigits(body) {
		return t, false
	}
	num := func(a, b, lo, hi int) (string, bool) {
		v, _ := strconv.Atoi(body[a:b])
		return body[a:b], v >= lo && v <= hi
	}
	switch len(body) {
	case 4, 6, 8, 10, 12, 14:
	default:
		return t, false
	}
	y, ok := num(0, 4, 1, 9999)
	if !ok {
		return t, false
	}
	t.date = y
	if len(body) >= 6 {
		m, ok := num(4, 6, 1, 12)
		if !ok {
			return t, false
		}
		t.date += "-" + m
	}
	if len(body) >= 8 {
		d, ok := num(6, 8, 1, daysIn(body[0:4], body[4:6]))
		if !ok {
			return t, false
		}
		t.date += "-" + d
	}
	if len(body) >= 10 {
		h, ok := num(8, 10, 0, 23)
		if !ok {
			return t, false
		}
		mi, sec := "00", "00"
		if len(body) >= 12 {
			if mi, ok = num(10, 12, 0, 59); !ok {
				return t, false
			}
		}
		if len(body) >= 14 {
			if sec, ok = num(12, 14, 0, 60); !ok {
				return t, false
			}
		}
		t.clock = h + ":" + mi + ":" + sec
		if frac != "" {
			t.clock += "." + frac
		}
	}
	switch {
	case zone == "Z":
		t.zone = "Z"
	case zone != "":
		if len(zone) != 5 || !allDigits(zone[1:]) {
			return t, false
		}
		zh, _ := strconv.Atoi(zone[1:3])
		zm, _ := strconv.Atoi(zone[3:5])
		if zh > 14 || zm > 59 {
			return t, false
		}
		t.zone = zone[:3] + ":" + zone[3:]
	}
	return t, true
}

func daysIn(year, month string) int {
	y, _ := strconv.Atoi(year)
	switch month {
	case "02":
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case "04", "06", "09", "11":
		return 30
	}
	return 31
}

// dateTime converts a TS to a FHIR dateTime, keeping its precision. FHIR needs an
// offset once there is a time of day, so a time without one takes the document's
// own offset, or is cut to its date when the document has none.
func (c *converter) dateTime(n *node) string {
	if n == nil || n.nullFlavor() != "" {
		return ""
	}
	v := strings.TrimSpace(n.attr("value"))
	if v == "" {
		return ""
	}
	t, ok := parseTS(v)
	if !ok {
		c.warn("value", n, "timestamp is not an HL7 TS (YYYYMMDDHHMMSS±ZZZZ); dropped")
		return ""
	}
	return c.formatTS(t, n)
}

func (c *converter) formatTS(t ts, n *node) string {
	if t.clock == "" {
		return t.date
	}
	zone := t.zone
	if zone == "" {
		zone = c.docZone
	}
	if zone == "" {
		if !c.warnedZone {
			c.warnedZone = true
			c.warn("value", n, "times without a UTC offset are kept as dates only (FHIR requires an offset)")
		}
		return t.date
	}
	return t.date + "T" + t.clock + zone
}

// date converts a TS to a FHIR date; a time of day is dropped without complaint,
// since a date never needs an offset.
func (c *converter) date(n *node) string {
	if n == nil || n.nullFlavor() != "" || strings.TrimSpace(n.attr("value")) == "" {
		return ""
	}
	t, ok := parseTS(n.attr("value"))
	if !ok {
		c.warn("value", n, "timestamp is not an HL7 TS (YYYYMMDDHHMMSS±ZZZZ); dropped")
		return ""
	}
	return t.date
}

// period converts an IVL_TS with low/high (or a single value) to a Period.
func (c *converter) period(n *node) map[string]any {
	if n == nil {
		return nil
	}
	p := map[string]any{}
	if v := c.dateTime(n); v != "" {
		p["start"] = v
	}
	fhir.SetIf(p, "start", c.dateTime(n.child("low")))
	fhir.SetIf(p, "end", c.dateTime(n.child("high")))
	if len(p) == 0 {
		if v := c.dateTime(n.child("center")); v != "" {
			p["start"], p["end"] = v, v
		}
	}
	if len(p) == 0 {
		return nil
	}
	return p
}

// effective sets <prefix>DateTime or <prefix>Period on obj from an effectiveTime:
// a point in time when there is one, otherwise the interval.
func (c *converter) effective(obj map[string]any, prefix string, n *node) {
	if n == nil {
		return
	}
	if v := c.dateTime(n); v != "" {
		obj[prefix+"DateTime"] = v
		return
	}
	low, high := c.dateTime(n.child("low")), c.dateTime(n.child("high"))
	switch {
	case low != "" && high != "" && low != high:
		obj[prefix+"Period"] = map[string]any{"start": low, "end": high}
	case low != "":
		obj[prefix+"DateTime"] = low
	case high != "":
		obj[prefix+"Period"] = map[string]any{"end": high}
	default:
		if v := c.dateTime(n.child("center")); v != "" {
			obj[prefix+"DateTime"] = v
		}
	}
}
