package gen

import (
	"sort"
	"strings"
	"time"
)

// A small HL7 v2 ER7 writer with the standard delimiters: field |, component ^,
// repetition ~, escape \, sub-component &. Values are escaped once, when they
// become er7; the builders join er7 values, so nothing is escaped twice and no
// delimiter in a value can split it.
//
// See HL7 v2.5.1 chapter 2, section 2.7 (escape sequences in text fields).

// er7 is text already encoded for a message.
type er7 string

var er7Escaper = strings.NewReplacer(
	`\`, `\E\`, `|`, `\F\`, `^`, `\S\`, `&`, `\T\`, `~`, `\R\`,
	"\r\n", `\.br\`, "\n", `\.br\`, "\r", `\.br\`,
)

// text escapes a value: the five delimiters become \E\ \F\ \S\ \T\ \R\ and a line
// break becomes \.br\.
func text(s string) er7 { return er7(er7Escaper.Replace(s)) }

// join joins parts with sep, leaving out empty parts at the end.
func join(sep string, parts []er7) er7 {
	n := len(parts)
	for n > 0 && parts[n-1] == "" {
		n--
	}
	var b strings.Builder
	for i, p := range parts[:n] {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(string(p))
	}
	return er7(b.String())
}

// comps joins components (^); subs joins sub-components (&); reps joins
// repetitions (~).
func comps(parts ...er7) er7 { return join("^", parts) }
func subs(parts ...er7) er7  { return join("&", parts) }
func reps(parts ...er7) er7  { return join("~", parts) }

// texts escapes each value and joins them as components.
func texts(parts ...string) er7 {
	out := make([]er7, len(parts))
	for i, p := range parts {
		out[i] = text(p)
	}
	return comps(out...)
}

// hd is a hierarchic designator for an ISO OID: namespace&oid&ISO, as a
// component of an identifier (CX-4, XCN-9); ei is an entity identifier with the
// same authority, as one field (EI: id^namespace^oid^ISO).
func hdOID(oid string) er7  { return subs("", text(oid), "ISO") }
func ei(id, oid string) er7 { return comps(text(id), "", text(oid), "ISO") }

// segment is one segment being built: fields by their number in the standard.
type segment struct {
	name   string
	fields map[int]er7
}

func seg(name string) *segment { return &segment{name: name, fields: map[int]er7{}} }

// set puts v in field n (1-based, as the standard numbers them) and returns the
// segment, so that fields can be chained.
func (s *segment) set(n int, v er7) *segment {
	if v != "" {
		s.fields[n] = v
	}
	return s
}

// encode writes the segment with its fields in order, empty ones in between.
func (s *segment) encode(b *strings.Builder) {
	b.WriteString(s.name)
	nums := make([]int, 0, len(s.fields))
	for n := range s.fields {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	first := 1
	if s.name == "MSH" {
		// MSH-1 is the field separator itself and MSH-2 the encoding characters.
		b.WriteString(`|^~\&`)
		first = 3
	}
	last := first - 1
	if len(nums) > 0 {
		last = nums[len(nums)-1]
	}
	for n := first; n <= last; n++ {
		b.WriteByte('|')
		b.WriteString(string(s.fields[n]))
	}
	b.WriteByte('\r')
}

// message is an HL7 v2 message: its segments, each ended by a carriage return.
type message []*segment

func (m message) bytes() []byte {
	var b strings.Builder
	for _, s := range m {
		s.encode(&b)
	}
	return []byte(b.String())
}

// ts writes a time as an HL7 v2 DTM to the second, with its UTC offset.
func ts(t time.Time) er7 { return er7(t.In(zone).Format("20060102150405-0700")) }

// dt writes a date as an HL7 v2 DT.
func dt(t time.Time) er7 { return er7(t.Format("20060102")) }
