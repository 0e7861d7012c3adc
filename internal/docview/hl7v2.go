package docview

import (
	"fmt"
	"strings"

	"omnichart/internal/ingest/hl7v2"
)

// Message is an HL7 v2 message as the chart shows it: its segments in order,
// each with its fields numbered and named.
type Message struct {
	// ID prefixes every id in the rendered fragment ("dv-msg" unless changed),
	// so that several messages can share a page; it must be a valid HTML id.
	ID        string
	Type      string // MSH-9 as "ORU^R01"
	ControlID string // MSH-10
	Version   string // MSH-12
	Segments  []Segment
}

// Segment is one segment and its non-empty fields.
type Segment struct {
	Name        string // "PID"
	Description string // "Patient Identification", or "" for a segment not in the table
	Seq         int    // occurrence of this segment name in the message, from 1
	Fields      []Field
}

// Field is one field with its repetitions, components and sub-components, all
// unescaped text.
type Field struct {
	Position string // "PID-5"
	Name     string // "Patient Name", or "" when unknown
	Reps     []Rep
}

// Rep is one repetition of a field.
type Rep struct {
	Components []Component
}

// Component is one component and its sub-components.
type Component struct {
	Position string // "PID-5.1"
	Subs     []string
}

// Text is the component's sub-components joined by " & ", unescaped.
func (c Component) Text() string { return strings.Join(c.Subs, " & ") }

// Simple reports whether the repetition is one plain value.
func (r Rep) Simple() bool {
	return len(r.Components) == 1 && len(r.Components[0].Subs) <= 1
}

// Text is the repetition's value when it is simple.
func (r Rep) Text() string {
	if len(r.Components) == 0 {
		return ""
	}
	return r.Components[0].Text()
}

// HL7v2 parses one HL7 v2 message with the ingest parser (internal/ingest/hl7v2)
// and lays it out by segment and field, naming the fields of the common v2.5.1
// segments. It fails when the parser cannot read the message; the error names
// the segment and field, never a value.
func HL7v2(msg []byte) (*Message, error) {
	m, err := hl7v2.Parse(msg)
	if err != nil {
		return nil, fmt.Errorf("read HL7 v2 message: %w", err)
	}
	out := &Message{ID: "dv-msg", Type: m.Type(), ControlID: m.ControlID(), Version: m.Version()}
	seen := map[string]int{}
	for _, s := range m.All() {
		seen[s.Name]++
		seg := Segment{Name: s.Name, Description: segmentNames[s.Name], Seq: seen[s.Name]}
		for i := 1; i <= s.NumFields(); i++ {
			f := s.Field(i)
			if f.IsEmpty() {
				continue
			}
			pos := fmt.Sprintf("%s-%d", s.Name, i)
			fv := Field{Position: pos, Name: FieldName(s.Name, i)}
			for _, r := range f.Reps() {
				var rv Rep
				for c := 1; c <= r.NumComps(); c++ {
					comp := r.Component(c)
					cv := Component{Position: fmt.Sprintf("%s.%d", pos, c)}
					for k := 1; k <= comp.NumSubs(); k++ {
						cv.Subs = append(cv.Subs, comp.Sub(k))
					}
					rv.Components = append(rv.Components, cv)
				}
				// Trailing empty components add nothing to read.
				for len(rv.Components) > 1 && rv.Components[len(rv.Components)-1].Text() == "" {
					rv.Components = rv.Components[:len(rv.Components)-1]
				}
				fv.Reps = append(fv.Reps, rv)
			}
			seg.Fields = append(seg.Fields, fv)
		}
		out.Segments = append(out.Segments, seg)
	}
	return out, nil
}

// FieldName is the HL7 v2.5.1 name of field n of segment seg ("PID", 5 is
// "Patient Name"), or "" when the segment is not one of the common ones this
// package names or has no field n.
func FieldName(seg string, n int) string {
	names := fieldNames[seg]
	if n < 1 || n > len(names) {
		return ""
	}
	return names[n-1]
}

// SegmentName is the HL7 v2.5.1 name of a segment ("PID" is "Patient
// Identification"), or "" for a segment this package does not name.
func SegmentName(seg string) string { return segmentNames[seg] }
