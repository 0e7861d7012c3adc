package hl7v2

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The functions below map HL7 v2 datatypes to FHIR datatypes, following the
// datatype maps of the v2-to-FHIR IG (mappings/datatypes: CWE[CodeableConcept],
// CX[Identifier], XPN[HumanName], XAD[Address], XTN[ContactPoint], EI[Identifier],
// DTM[dateTime]). Each returns nil when the source is empty.

// codeableConcept maps CWE/CE/CNE: primary triplet (1-3), alternate triplet (4-6),
// versions (7, 8) and original text (9).
func codeableConcept(r Rep) map[string]any {
	var codings []any
	add := func(code, display, sys, version string) {
		code, display = val(code), val(display)
		if code == "" && display == "" {
			return
		}
		c := map[string]any{}
		if code != "" {
			c["code"] = code
		}
		if display != "" {
			c["display"] = display
		}
		if u := codeSystemURI(sys); u != "" && code != "" {
			c["system"] = u
		}
		if v := val(version); v != "" && code != "" {
			c["version"] = v
		}
		if code == "" {
			return
		}
		codings = append(codings, c)
	}
	add(r.Comp(1), r.Comp(2), r.Comp(3), r.Comp(7))
	add(r.Comp(4), r.Comp(5), r.Comp(6), r.Comp(8))
	cc := map[string]any{}
	if len(codings) > 0 {
		cc["coding"] = codings
	}
	text := val(r.Comp(9))
	if text == "" && len(codings) == 0 {
		text = val(r.Comp(2))
		if text == "" {
			text = val(r.Comp(5))
		}
	}
	if text != "" {
		cc["text"] = text
	}
	if len(cc) == 0 {
		return nil
	}
	return cc
}

// codeableConcepts maps every repetition of a CWE field.
func codeableConcepts(f Field) []any {
	var out []any
	for _, r := range f.Reps() {
		if cc := codeableConcept(r); cc != nil {
			out = append(out, cc)
		}
	}
	return out
}

// tableConcept codes an ID/IS value from HL7 table id; with the code unknown to the
// table it still carries the code.
func tableConcept(code, table, display string) map[string]any {
	code = val(code)
	if code == "" {
		return nil
	}
	c := map[string]any{"system": v2Table(table), "code": code}
	if display != "" {
		c["display"] = display
	}
	return map[string]any{"coding": []any{c}}
}

// identifierCX maps CX: ID (1), assigning authority (4) to the system, identifier
// type code (5, table 0203), effective and expiration dates (7, 8). fallback is the
// system to use when CX-4 is empty.
func (c *converter) identifierCX(r Rep, fallback string) map[string]any {
	value := val(r.Comp(1))
	if value == "" {
		return nil
	}
	id := map[string]any{"value": value}
	aa := r.Component(4)
	sys := hdSystem(aa.Sub(1), aa.Sub(2), aa.Sub(3))
	typ := val(r.Comp(5))
	if sys == "" {
		sys = fallback
	}
	if sys == "" {
		sys = c.facilitySystem(typ)
	}
	if sys != "" {
		id["system"] = sys
	}
	if typ != "" {
		id["type"] = tableConcept(typ, "0203", "")
	}
	if p := period(c.dateTime(r.Comp(7)), c.dateTime(r.Comp(8))); p != nil {
		id["period"] = p
	}
	return id
}

// facilitySystem is the identifier system used when an identifier names no
// assigning authority: it is scoped to the sending facility (MSH-4) and the
// identifier type, since such identifiers are only unique there.
func (c *converter) facilitySystem(typ string) string {
	fac := c.facilityKey()
	if fac == "" {
		return ""
	}
	if typ == "" {
		typ = "ID"
	}
	return "urn:omnichart:hl7v2:facility:" + fac + ":" + strings.ReplaceAll(typ, ":", "%3A")
}

// identifierEI maps EI: entity identifier (1) and its namespace (2-4).
func identifierEI(r Rep, typeCode string) map[string]any {
	value := val(r.Comp(1))
	if value == "" {
		return nil
	}
	id := map[string]any{"value": value}
	if sys := hdSystem(r.Comp(2), r.Comp(3), r.Comp(4)); sys != "" {
		id["system"] = sys
	}
	if typeCode != "" {
		id["type"] = tableConcept(typeCode, "0203", "")
	}
	return id
}

// humanName maps XPN (family 1, given 2, middle 3, suffix 4, prefix 5, degree 6,
// name type 7 through table 0200).
func humanName(r Rep) map[string]any {
	n := map[string]any{}
	if fam := val(r.Component(1).Sub(1)); fam != "" {
		n["family"] = fam
	}
	var given []any
	for _, g := range []string{r.Comp(2), r.Comp(3)} {
		if g = val(g); g != "" {
			given = append(given, g)
		}
	}
	if len(given) > 0 {
		n["given"] = given
	}
	if p := val(r.Comp(5)); p != "" {
		n["prefix"] = []any{p}
	}
	var suffix []any
	for _, s := range []string{r.Comp(4), r.Comp(6)} {
		if s = val(s); s != "" {
			suffix = append(suffix, s)
		}
	}
	if len(suffix) > 0 {
		n["suffix"] = suffix
	}
	if len(n) == 0 {
		return nil
	}
	switch val(r.Comp(7)) {
	case "L":
		n["use"] = "official"
	case "D", "A":
		n["use"] = "usual"
	case "M":
		n["use"] = "maiden"
	case "N":
		n["use"] = "nickname"
	case "S":
		n["use"] = "anonymous"
	case "T":
		n["use"] = "temp"
	case "BAD":
		n["use"] = "old"
	}
	return n
}

func humanNames(f Field) []any {
	var out []any
	for _, r := range f.Reps() {
		if n := humanName(r); n != nil {
			out = append(out, n)
		}
	}
	return out
}

// address maps XAD (street 1.1, other designation 2, city 3, state 4, postal code
// 5, country 6, type 7 through table 0190, county 9).
func address(r Rep) map[string]any {
	a := map[string]any{}
	var lines []any
	for _, l := range []string{r.Component(1).Sub(1), r.Comp(2)} {
		if l = val(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > 0 {
		a["line"] = lines
	}
	for k, i := range map[string]int{"city": 3, "state": 4, "postalCode": 5, "country": 6, "district": 9} {
		if v := val(r.Comp(i)); v != "" {
			a[k] = v
		}
	}
	if len(a) == 0 {
		return nil
	}
	switch val(r.Comp(7)) {
	case "H", "P":
		a["use"] = "home"
	case "B", "O":
		a["use"] = "work"
	case "C":
		a["use"] = "temp"
	case "BA", "BAD":
		a["use"] = "old"
	case "M":
		a["type"] = "postal"
	case "SH":
		a["type"] = "physical"
	}
	return a
}

func addresses(f Field) []any {
	var out []any
	for _, r := range f.Reps() {
		if a := address(r); a != nil {
			out = append(out, a)
		}
	}
	return out
}

// contactPoint maps XTN: use code (2, table 0201), equipment type (3, table 0202),
// email (4), country, area, local number and extension (5-8), unformatted number
// (12), and the pre-2.3 number in component 1.
func contactPoint(r Rep, defaultUse string) map[string]any {
	cp := map[string]any{}
	equip := strings.ToUpper(val(r.Comp(3)))
	email := val(r.Comp(4))
	value := ""
	switch {
	case equip == "INTERNET" || equip == "X.400" || (equip == "" && email != ""):
		cp["system"] = "email"
		value = email
		if value == "" {
			value = val(r.Comp(1))
		}
	default:
		switch equip {
		case "FX":
			cp["system"] = "fax"
		case "BP":
			cp["system"] = "pager"
		case "PH", "CP", "SAT", "":
			cp["system"] = "phone"
		default:
			cp["system"] = "other"
		}
		value = val(r.Comp(12))
		if value == "" && val(r.Comp(7)) != "" {
			var sb strings.Builder
			if cc := val(r.Comp(5)); cc != "" {
				sb.WriteString("+" + strings.TrimPrefix(cc, "+") + " ")
			}
			if area := val(r.Comp(6)); area != "" {
				sb.WriteString("(" + area + ") ")
			}
			sb.WriteString(val(r.Comp(7)))
			if ext := val(r.Comp(8)); ext != "" {
				sb.WriteString(" x" + ext)
			}
			value = sb.String()
		}
		if value == "" {
			value = val(r.Comp(1))
		}
	}
	if value == "" {
		return nil
	}
	cp["value"] = value
	use := defaultUse
	switch val(r.Comp(2)) {
	case "PRN", "ORN", "VHN":
		use = "home"
	case "WPN", "BPN":
		use = "work"
	}
	if equip == "CP" {
		use = "mobile"
	}
	if use != "" {
		cp["use"] = use
	}
	return cp
}

func contactPoints(f Field, defaultUse string) []any {
	var out []any
	for _, r := range f.Reps() {
		if cp := contactPoint(r, defaultUse); cp != nil {
			out = append(out, cp)
		}
	}
	return out
}

// locationText renders a PL (point of care, room, bed, facility, building, floor)
// as one line of text.
func locationText(r Rep) string {
	var parts []string
	for _, i := range []int{1, 2, 3, 4, 7, 8} {
		if v := val(r.Comp(i)); v != "" {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, ", ")
}

func period(start, end string) map[string]any {
	p := map[string]any{}
	if start != "" {
		p["start"] = start
	}
	if end != "" {
		p["end"] = end
	}
	if len(p) == 0 {
		return nil
	}
	return p
}

// dateTime converts a DTM/TS (YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]) to a
// FHIR dateTime of the same precision. FHIR requires a UTC offset whenever a time
// is given: a time without offset is read in Options.TimeZone, or reduced to its
// date when that is nil. Malformed values give "" and an issue.
//
// A time of hour precision (YYYYMMDDHH) cannot be written as such: FHIR's dateTime
// has minutes and seconds whenever it has a time. The v2-to-FHIR IG's DTM map only
// says to convert to the FHIR format, and FHIR itself zero-fills what a sender
// left out ("seconds must be provided due to schema type constraints but may be
// zero-filled", https://hl7.org/fhir/R4/datatypes.html#dateTime), so the hour is
// kept with :00 minutes and seconds rather than dropped to the date: it is the
// start of the hour the sender named, as minute precision gives the start of the
// minute.
func (c *converter) dateTime(s string) string {
	s = val(s)
	if s == "" {
		return ""
	}
	if i := strings.IndexByte(s, '^'); i >= 0 {
		s = s[:i]
	}
	out, hasTime, hasZone, ok := formatDTM(s)
	if !ok {
		c.warn("value", "a date/time value is not a valid HL7 DTM and was left out")
		return ""
	}
	if hasTime && !hasZone {
		if c.opts.TimeZone != nil {
			t, err := timeInZone(out, c.opts.TimeZone)
			if err == nil {
				return t
			}
		}
		if !c.warnedTZ {
			c.warnedTZ = true
			c.issues = append(c.issues, infoIssue("times without a UTC offset were reduced to their date"))
		}
		return out[:10]
	}
	return out
}

// date is dateTime cut to a FHIR date.
func (c *converter) date(s string) string {
	s = val(s)
	if s == "" {
		return ""
	}
	out, _, _, ok := formatDTM(s)
	if !ok {
		c.warn("value", "a date value is not a valid HL7 DT and was left out")
		return ""
	}
	if len(out) > 10 {
		out = out[:10]
	}
	return out
}

// formatDTM reads an HL7 DTM, YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ] (HL7
// v2.5+ chapter 2A.22; TS-1 of earlier versions has the same form), and writes it
// in FHIR dateTime form: YYYY, YYYY-MM, YYYY-MM-DD, or YYYY-MM-DDThh:mm:ss[.f] with
// the offset as +hh:mm when there is a time (a date has no zone in FHIR, so the
// offset of a date-only value is dropped). hasTime and hasZone say what the value
// holds. ok is false for anything else: odd lengths, a day the month does not
// have, a fraction without seconds or of more than four digits, an offset FHIR
// cannot carry (beyond ±14:00).
func formatDTM(s string) (out string, hasTime, hasZone, ok bool) {
	body, zone := s, ""
	if i := strings.IndexAny(s, "+-"); i >= 0 {
		body, zone = s[:i], s[i:]
	}
	frac := ""
	if i := strings.IndexByte(body, '.'); i >= 0 {
		body, frac = body[:i], body[i+1:]
		if len(body) != 14 || frac == "" || len(frac) > 4 || !isDigits(frac) {
			return "", false, false, false
		}
	}
	if !isDigits(body) || len(body) < 4 || len(body)%2 != 0 || len(body) > 14 {
		return "", false, false, false
	}
	num := func(a, b int) int { n, _ := strconv.Atoi(body[a:b]); return n }
	year := num(0, 4)
	var sb strings.Builder
	sb.WriteString(body[:4])
	if len(body) >= 6 {
		if m := num(4, 6); m < 1 || m > 12 {
			return "", false, false, false
		}
		sb.WriteString("-" + body[4:6])
	}
	if len(body) >= 8 {
		m := time.Month(num(4, 6))
		// Day 0 of the next month is the last day of this one.
		last := time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
		if d := num(6, 8); d < 1 || d > last {
			return "", false, false, false
		}
		sb.WriteString("-" + body[6:8])
	}
	if len(body) >= 10 {
		hh, mm, ss := num(8, 10), 0, 0
		if len(body) >= 12 {
			mm = num(10, 12)
		}
		if len(body) >= 14 {
			ss = num(12, 14)
		}
		if hh > 23 || mm > 59 || ss > 60 {
			return "", false, false, false
		}
		fmt.Fprintf(&sb, "T%02d:%02d:%02d", hh, mm, ss)
		if frac != "" {
			sb.WriteString("." + frac)
		}
		hasTime = true
	}
	if zone != "" {
		if len(zone) != 5 || !isDigits(zone[1:]) {
			return "", false, false, false
		}
		zh, _ := strconv.Atoi(zone[1:3])
		zm, _ := strconv.Atoi(zone[3:5])
		if zm > 59 || zh > 14 || zh == 14 && zm != 0 {
			return "", false, false, false
		}
		hasZone = true
		if hasTime {
			sb.WriteString(zone[:3] + ":" + zone[3:])
		}
	}
	return sb.String(), hasTime, hasZone, true
}

// decimal checks a NM value and returns it as a JSON number in FHIR decimal form.
func decimal(s string) (json.Number, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "+")
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if strings.HasPrefix(s, ".") {
		s = "0" + s
	}
	s = strings.TrimSuffix(s, ".")
	intPart, frac, _ := strings.Cut(s, ".")
	if !isDigits(intPart) || (frac != "" && !isDigits(frac)) || strings.Count(s, ".") > 1 {
		return "", false
	}
	for len(intPart) > 1 && intPart[0] == '0' {
		intPart = intPart[1:]
	}
	out := intPart
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return json.Number(out), true
}
