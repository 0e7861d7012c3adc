package hl7v2

import (
	"fmt"
	"strconv"
	"strings"

	"omnichart/internal/fhir"
)

// Delimiters are the separators a message declares in MSH-1 and MSH-2.
type Delimiters struct {
	Field, Component, Repetition, Escape, SubComponent byte
	// Truncation is the v2.7+ truncation character, or 0 when MSH-2 declares none.
	Truncation byte
}

// DefaultDelimiters are the delimiters almost every sender uses: |^~\&.
var DefaultDelimiters = Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', SubComponent: '&'}

// encodingChars is MSH-2 as these delimiters write it.
func (d Delimiters) encodingChars() string {
	s := string([]byte{d.Component, d.Repetition, d.Escape, d.SubComponent})
	if d.Truncation != 0 {
		s += string(d.Truncation)
	}
	return s
}

// Message is one parsed HL7 v2 message. Values are stored unescaped and in UTF-8,
// whatever character set the sender declared.
type Message struct {
	Delims  Delimiters
	segs    []*Segment
	charset string
	// Issues are problems found while parsing that did not stop it (an unknown
	// character set, a line that is not a segment, bytes that are not valid UTF-8).
	Issues []fhir.Issue
}

// Segment is one segment. Fields are numbered as in the standard: Field(1) is the
// first field after the segment ID; in MSH, Field(1) is the field separator and
// Field(2) the encoding characters.
type Segment struct {
	Name   string
	fields []Field // fields[0] holds the segment ID
}

// Field is one field with its repetitions.
type Field struct{ reps []Rep }

// Rep is one repetition of a field.
type Rep struct{ comps []Comp }

// Comp is one component of a repetition.
type Comp struct{ subs []string }

// Segments returns every segment named name, in message order.
func (m *Message) Segments(name string) []*Segment {
	var out []*Segment
	for _, s := range m.segs {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// Segment returns the first segment named name, or nil.
func (m *Message) Segment(name string) *Segment {
	for _, s := range m.segs {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// All returns every segment in message order. The slice must not be modified.
func (m *Message) All() []*Segment { return m.segs }

// Charset is the character set the message was decoded from: "UTF-8", "ISO-8859-1"
// or "ASCII".
func (m *Message) Charset() string { return m.charset }

// Type is MSH-9 as "ORU^R01" (message code and trigger event).
func (m *Message) Type() string {
	h := m.Header()
	code, ev := h.Field(9).Comp(1), h.Field(9).Comp(2)
	if ev == "" {
		return code
	}
	return code + "^" + ev
}

// ControlID is MSH-10.
func (m *Message) ControlID() string { return m.Header().Field(10).String() }

// Version is MSH-12.1, e.g. "2.5.1".
func (m *Message) Version() string { return m.Header().Field(12).Comp(1) }

// Header is the MSH segment.
func (m *Message) Header() *Segment {
	if len(m.segs) == 0 {
		return nil
	}
	return m.segs[0]
}

// Get reads a value by terser path: "PID-5-1" is component 1 of the first
// repetition of PID-5 of the first PID; "OBX(2)-5(1)-1-2" is sub-component 2 of
// component 1 of the second repetition of OBX-5 in the second OBX. Occurrences and
// repetitions in parentheses are 1-based. A path that does not resolve gives "".
func (m *Message) Get(path string) string {
	parts := strings.Split(path, "-")
	if len(parts) < 2 {
		return ""
	}
	name, seq, ok := splitIndex(parts[0])
	if !ok {
		return ""
	}
	var seg *Segment
	n := 0
	for _, s := range m.segs {
		if s.Name == name {
			n++
			if n == seq {
				seg = s
				break
			}
		}
	}
	if seg == nil {
		return ""
	}
	fs, rep, ok := splitIndex(parts[1])
	fn, err := strconv.Atoi(fs)
	if !ok || err != nil {
		return ""
	}
	r := seg.Field(fn).Rep(rep - 1)
	if len(parts) == 2 {
		return r.String()
	}
	cn, err := strconv.Atoi(parts[2])
	if err != nil {
		return ""
	}
	c := r.Component(cn)
	if len(parts) == 3 {
		return c.String()
	}
	sn, err := strconv.Atoi(parts[3])
	if err != nil || len(parts) > 4 {
		return ""
	}
	return c.Sub(sn)
}

// splitIndex splits "OBX(2)" into "OBX", 2; without parentheses the index is 1.
func splitIndex(s string) (string, int, bool) {
	i := strings.IndexByte(s, '(')
	if i < 0 {
		return s, 1, s != ""
	}
	if !strings.HasSuffix(s, ")") {
		return "", 0, false
	}
	n, err := strconv.Atoi(s[i+1 : len(s)-1])
	if err != nil || n < 1 {
		return "", 0, false
	}
	return s[:i], n, true
}

// Field returns field n (1-based), or an empty Field when the segment is shorter.
func (s *Segment) Field(n int) Field {
	if s == nil || n < 1 || n >= len(s.fields) {
		return Field{}
	}
	return s.fields[n]
}

// NumFields is the number of the last field present.
func (s *Segment) NumFields() int {
	if s == nil || len(s.fields) == 0 {
		return 0
	}
	return len(s.fields) - 1
}

// Reps returns every repetition.
func (f Field) Reps() []Rep { return f.reps }

// Rep returns repetition i (0-based), or an empty Rep.
func (f Field) Rep(i int) Rep {
	if i < 0 || i >= len(f.reps) {
		return Rep{}
	}
	return f.reps[i]
}

// Comp is component n (1-based) of the first repetition, sub-component 1.
func (f Field) Comp(n int) string { return f.Rep(0).Component(n).String() }

// String is the first sub-component of the first component of the first repetition.
func (f Field) String() string { return f.Rep(0).String() }

// IsEmpty reports whether the field holds no value in any repetition.
func (f Field) IsEmpty() bool {
	for _, r := range f.reps {
		if !r.IsEmpty() {
			return false
		}
	}
	return true
}

// Component returns component n (1-based), or an empty Comp.
func (r Rep) Component(n int) Comp {
	if n < 1 || n > len(r.comps) {
		return Comp{}
	}
	return r.comps[n-1]
}

// Comp is the first sub-component of component n (1-based).
func (r Rep) Comp(n int) string { return r.Component(n).String() }

// NumComps is the number of components present.
func (r Rep) NumComps() int { return len(r.comps) }

// String is the first sub-component of the first component.
func (r Rep) String() string { return r.Component(1).String() }

// IsEmpty reports whether every sub-component is empty.
func (r Rep) IsEmpty() bool {
	for _, c := range r.comps {
		for _, s := range c.subs {
			if s != "" {
				return false
			}
		}
	}
	return true
}

// Sub returns sub-component n (1-based), or "".
func (c Comp) Sub(n int) string {
	if n < 1 || n > len(c.subs) {
		return ""
	}
	return c.subs[n-1]
}

// String is the first sub-component.
func (c Comp) String() string { return c.Sub(1) }

// NumSubs is the number of sub-components present.
func (c Comp) NumSubs() int { return len(c.subs) }

// Position is the location of segment s in m as "OBX(3)", for issues and errors.
func (m *Message) Position(s *Segment) string {
	n := 0
	for _, x := range m.segs {
		if x.Name == s.Name {
			n++
		}
		if x == s {
			return fmt.Sprintf("%s(%d)", s.Name, n)
		}
	}
	return s.Name
}
