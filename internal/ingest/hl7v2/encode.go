package hl7v2

import "strings"

// Encode writes the message back in HL7 v2 syntax with its own delimiters, segments
// ended by CR, and values escaped. Text is written as UTF-8. Parsing the result gives
// the same segments, fields and values (escape sequences with no text form, such as
// highlighting, are not restored).
func (m *Message) Encode() []byte {
	var sb strings.Builder
	d := m.Delims
	for _, s := range m.segs {
		sb.WriteString(s.Name)
		start := 1
		if s.Name == "MSH" {
			sb.WriteByte(d.Field)
			sb.WriteString(s.Field(2).String())
			start = 3
		}
		for i := start; i < len(s.fields); i++ {
			sb.WriteByte(d.Field)
			sb.WriteString(m.encodeField(s.fields[i]))
		}
		sb.WriteByte('\r')
	}
	return []byte(sb.String())
}

func (m *Message) encodeField(f Field) string {
	d := m.Delims
	var sb strings.Builder
	for ri, r := range f.reps {
		if ri > 0 {
			sb.WriteByte(d.Repetition)
		}
		for ci, c := range r.comps {
			if ci > 0 {
				sb.WriteByte(d.Component)
			}
			for si, sub := range c.subs {
				if si > 0 {
					sb.WriteByte(d.SubComponent)
				}
				sb.WriteString(m.escape(sub))
			}
		}
	}
	return sb.String()
}

func (m *Message) escape(s string) string {
	d := m.Delims
	if !strings.ContainsAny(s, string([]byte{d.Field, d.Component, d.Repetition, d.Escape, d.SubComponent, '\r', '\n'})) {
		return s
	}
	var sb strings.Builder
	esc := func(code string) {
		sb.WriteByte(d.Escape)
		sb.WriteString(code)
		sb.WriteByte(d.Escape)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case d.Field:
			esc("F")
		case d.Component:
			esc("S")
		case d.SubComponent:
			esc("T")
		case d.Repetition:
			esc("R")
		case d.Escape:
			esc("E")
		case '\n':
			esc(".br")
		case '\r':
			esc("X0D")
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}
