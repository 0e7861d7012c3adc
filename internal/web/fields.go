package web

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"omnichart/internal/fhir"
)

// Readers of the FHIR tree for display. None of them invent what a source did
// not send: a missing value is "", and the templates say so in words.

// conceptText is a CodeableConcept's text, else its first coding's display, else
// its first code.
func conceptText(cc map[string]any) string {
	if cc == nil {
		return ""
	}
	if t := fhir.String(cc, "text"); t != "" {
		return t
	}
	for _, c := range fhir.Array(cc, "coding") {
		if m, ok := c.(map[string]any); ok && fhir.String(m, "display") != "" {
			return fhir.String(m, "display")
		}
	}
	for _, c := range fhir.Array(cc, "coding") {
		if m, ok := c.(map[string]any); ok && fhir.String(m, "code") != "" {
			return fhir.String(m, "code")
		}
	}
	return ""
}

// codings lists "system|code" of a CodeableConcept's codings.
func codings(cc map[string]any) []string {
	var out []string
	for _, c := range fhir.Array(cc, "coding") {
		if m, ok := c.(map[string]any); ok && fhir.String(m, "code") != "" {
			out = append(out, fhir.String(m, "system")+"|"+fhir.String(m, "code"))
		}
	}
	return out
}

// hasCode reports whether cc has a coding with code (of any system).
func hasCode(cc map[string]any, codes ...string) bool {
	for _, c := range fhir.Array(cc, "coding") {
		if m, ok := c.(map[string]any); ok {
			for _, code := range codes {
				if fhir.String(m, "code") == code {
					return true
				}
			}
		}
	}
	return false
}

// humanName formats a Patient's first official (or first) name.
func humanName(res map[string]any) string {
	names := fhir.Array(res, "name")
	var pick map[string]any
	for _, n := range names {
		if m, ok := n.(map[string]any); ok {
			if pick == nil || fhir.String(m, "use") == "official" {
				pick = m
			}
		}
	}
	if pick == nil {
		return ""
	}
	if t := fhir.String(pick, "text"); t != "" {
		return t
	}
	var parts []string
	for _, g := range fhir.Array(pick, "given") {
		if s, ok := g.(string); ok {
			parts = append(parts, s)
		}
	}
	parts = append(parts, fhir.String(pick, "family"))
	for _, s := range fhir.Array(pick, "suffix") {
		if s, ok := s.(string); ok {
			parts = append(parts, s)
		}
	}
	return strings.TrimSpace(strings.Join(parts, " "))
}

// identifierView is one identifier of a Patient.
type identifierView struct {
	Kind, System, Value string
}

func identifiers(res map[string]any) []identifierView {
	var out []identifierView
	for _, v := range fhir.Array(res, "identifier") {
		m, ok := v.(map[string]any)
		if !ok || fhir.String(m, "value") == "" {
			continue
		}
		kind := conceptText(fhir.Object(m, "type"))
		if hasCode(fhir.Object(m, "type"), "MR") {
			kind = "MRN"
		}
		out = append(out, identifierView{Kind: kind, System: fhir.String(m, "system"), Value: fhir.String(m, "value")})
	}
	return out
}

// dateView is a date or dateTime shown at the precision it was sent with.
type dateView struct {
	// Text is what is shown; Raw the value as sent (for datetime attributes).
	Text, Raw string
	// Precision is year, month, day or time.
	Precision string
	t         time.Time
}

// parseDate reads a FHIR date, dateTime or instant, keeping its precision: a
// year stays a year.
func parseDate(s string) dateView {
	d := dateView{Raw: s}
	switch {
	case s == "":
		return d
	case len(s) == 4:
		d.Precision, d.Text = "year", s
		d.t, _ = time.Parse("2006", s)
	case len(s) == 7:
		d.Precision = "month"
		d.t, _ = time.Parse("2006-01", s)
		d.Text = d.t.Format("Jan 2006")
	case len(s) == 10:
		d.Precision, d.Text = "day", s
		d.t, _ = time.Parse("2006-01-02", s)
	default:
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			d.Precision, d.Text = "unknown", s
			return d
		}
		d.t, d.Precision = t, "time"
		d.Text = t.Format("2006-01-02 15:04")
		if len(s) > 19 {
			d.Text += " " + t.Format("Z07:00")
		}
	}
	return d
}

// Time is the start of the date's period, for sorting and plotting.
func (d dateView) Time() time.Time { return d.t }

// firstDate returns the first of keys of res that holds a date, reading
// Periods by their start.
func firstDate(res map[string]any, keys ...string) dateView {
	for _, k := range keys {
		switch v := res[k].(type) {
		case string:
			if v != "" {
				return parseDate(v)
			}
		case map[string]any:
			if s := fhir.String(v, "start"); s != "" {
				return parseDate(s)
			}
			if s := fhir.String(v, "end"); s != "" {
				return parseDate(s)
			}
		}
	}
	return dateView{}
}

// age is the age in whole years on now of someone born on birth (a FHIR date), or
// "" when the birth date is not known to the day's year.
func age(birth string, now time.Time) string {
	d := parseDate(birth)
	if d.t.IsZero() {
		return ""
	}
	years := now.Year() - d.t.Year()
	if d.Precision != "year" && now.YearDay() < d.t.YearDay() {
		years--
	}
	if d.Precision == "year" {
		return fmt.Sprintf("about %d", years)
	}
	return strconv.Itoa(years)
}

// number reads a JSON number of the tree (json.Number with UseNumber) as text
// exactly as sent, and as a float for plotting.
func number(v any) (text string, f float64, ok bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return n.String(), f, err == nil
	case float64:
		return strconv.FormatFloat(n, 'f', -1, 64), n, true
	case int:
		return strconv.Itoa(n), float64(n), true
	}
	return "", 0, false
}

// quantityText formats a Quantity's comparator and value (without the unit).
func quantityValue(q map[string]any) (text string, f float64, ok bool) {
	text, f, ok = number(q["value"])
	if ok {
		text = fhir.String(q, "comparator") + text
	}
	return text, f, ok
}

// unitOf is a Quantity's unit, else its code.
func unitOf(q map[string]any) string {
	if u := fhir.String(q, "unit"); u != "" {
		return u
	}
	return fhir.String(q, "code")
}

// refRange formats an Observation's first reference range.
func refRange(o map[string]any) string {
	rr := fhir.Array(o, "referenceRange")
	if len(rr) == 0 {
		return ""
	}
	m, _ := rr[0].(map[string]any)
	if t := fhir.String(m, "text"); t != "" {
		return t
	}
	lo, _, lok := quantityValue(fhir.Object(m, "low"))
	hi, _, hok := quantityValue(fhir.Object(m, "high"))
	switch {
	case lok && hok:
		return lo + "–" + hi
	case lok:
		return "≥ " + lo
	case hok:
		return "≤ " + hi
	}
	return ""
}

// flagView is an abnormal flag, in words and a symbol: never colour alone.
type flagView struct {
	Symbol, Text string
	Abnormal     bool
}

// interpretation reads an Observation's interpretation (v3 ObservationInterpretation).
func interpretation(o map[string]any) flagView {
	for _, v := range fhir.Array(o, "interpretation") {
		cc, _ := v.(map[string]any)
		for _, c := range fhir.Array(cc, "coding") {
			m, _ := c.(map[string]any)
			switch fhir.String(m, "code") {
			case "H", "HU", ">":
				return flagView{"▲", "High", true}
			case "HH", "H>":
				return flagView{"▲▲", "Critically high", true}
			case "L", "LU", "<":
				return flagView{"▼", "Low", true}
			case "LL", "L<":
				return flagView{"▼▼", "Critically low", true}
			case "A", "AA", "POS", "DET":
				return flagView{"!", "Abnormal", true}
			case "N", "NEG", "ND":
				return flagView{"", "Normal", false}
			}
		}
		if t := conceptText(cc); t != "" {
			return flagView{"?", t, true}
		}
	}
	return flagView{}
}
