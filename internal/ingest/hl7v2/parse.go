package hl7v2

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"omnichart/internal/fhir"
)

// Size limits. A message or field beyond them is refused with ErrTooLarge rather than
// held in memory: embedded documents (OBX-5 of type ED) are the only legitimately
// large fields, and they stay well below these.
const (
	MaxMessageSize = 64 << 20
	MaxFieldSize   = 32 << 20
	// MaxValues bounds the delimiters (field, component, repetition and
	// subcomponent separators) of one message: each becomes a value in the parsed
	// message, so this caps its tree at about 100 MB whatever the input.
	MaxValues = 1 << 20
	// DefaultMaxSegments is the segment limit of Limits.
	DefaultMaxSegments = 5000
)

// Limits bound what ParseWithLimits accepts. A zero field takes its default.
type Limits struct {
	// MaxSegments bounds the segments (every line counts, batch envelope and
	// lines that are not segments too) of one message; 0 means DefaultMaxSegments.
	MaxSegments int
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Parse reads one message. It honours the delimiters declared in MSH-1 and MSH-2,
// accepts CR, LF or CRLF between segments, skips a UTF-8 byte order mark and batch
// envelope segments (FHS, BHS, BTS, FTS), decodes the character set named in MSH-18
// into UTF-8 and resolves escape sequences. Errors wrap ErrEmpty, ErrNoMSH,
// ErrDelimiters, ErrTruncated, ErrTooLarge, ErrRequiredField or ErrBatch; problems
// that do not stop parsing are returned in Message.Issues. It applies the default
// Limits.
func Parse(data []byte) (*Message, error) {
	return ParseWithLimits(data, Limits{})
}

// ParseWithLimits is Parse with the limits of lim. A message over a limit is
// refused with ErrTooLarge before any of it is parsed.
func ParseWithLimits(data []byte, lim Limits) (*Message, error) {
	maxSegments := lim.MaxSegments
	if maxSegments <= 0 {
		maxSegments = DefaultMaxSegments
	}
	if len(data) > MaxMessageSize {
		return nil, &Error{Err: ErrTooLarge, Detail: fmt.Sprintf("message is %d bytes, the limit is %d", len(data), MaxMessageSize)}
	}
	data = bytes.TrimPrefix(data, utf8BOM)
	data = bytes.TrimLeft(data, " \t\r\n\v\x1c")
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &Error{Err: ErrEmpty, Detail: "no data"}
	}
	for hasSegmentName(data, "FHS") || hasSegmentName(data, "BHS") {
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			data = nil
			break
		}
		data = bytes.TrimLeft(data[i:], "\r\n")
	}
	if !bytes.HasPrefix(data, []byte("MSH")) {
		if len(data) == 0 {
			return nil, &Error{Err: ErrEmpty, Detail: "batch envelope holds no message"}
		}
		return nil, &Error{Err: ErrNoMSH, Detail: "the first segment must be MSH"}
	}
	d, err := readDelimiters(data)
	if err != nil {
		return nil, err
	}
	if err := checkSize(data, d, maxSegments); err != nil {
		return nil, err
	}
	m := &Message{Delims: d}
	text, err := m.decodeCharset(data)
	if err != nil {
		return nil, err
	}
	lines := splitLines(text)
	counts := map[string]int{}
	for i, line := range lines {
		name, ok := segmentName(line, d.Field)
		if !ok {
			if i == len(lines)-1 && len(line) < 4 && isAlnum(line) {
				return nil, &Error{Err: ErrTruncated, Detail: fmt.Sprintf("the message ends inside a segment ID after segment %d", i)}
			}
			m.Issues = append(m.Issues, fhir.WarningIssue("structure", "", fmt.Sprintf("line %d is not a segment and was skipped", i+1)))
			continue
		}
		switch name {
		case "FHS", "BHS", "BTS", "FTS":
			continue
		case "MSH":
			if i > 0 {
				return nil, &Error{Err: ErrBatch, Segment: "MSH", Seq: counts["MSH"] + 1, Detail: "a second MSH starts another message; split them with SplitMessages"}
			}
		}
		counts[name]++
		seg, err := m.parseSegment(name, line, counts[name])
		if err != nil {
			return nil, err
		}
		m.segs = append(m.segs, seg)
	}
	h := m.segs[0]
	if h.NumFields() < 12 {
		return nil, &Error{Err: ErrTruncated, Segment: "MSH", Seq: 1, Field: h.NumFields() + 1, Detail: fmt.Sprintf("MSH stops after field %d; MSH-9 to MSH-12 are required", h.NumFields())}
	}
	if h.Field(9).Comp(1) == "" {
		return nil, &Error{Err: ErrRequiredField, Segment: "MSH", Seq: 1, Field: 9, Detail: "message type is empty"}
	}
	if m.ControlID() == "" {
		m.Issues = append(m.Issues, fhir.WarningIssue("required", "", "MSH-10 (message control ID) is empty"))
	}
	if m.Version() == "" {
		m.Issues = append(m.Issues, fhir.WarningIssue("required", "", "MSH-12 (version ID) is empty"))
	}
	return m, nil
}

// checkSize counts the lines and delimiters of data, without holding anything,
// and refuses a message over maxSegments lines or MaxValues delimiters.
func checkSize(data []byte, d Delimiters, maxSegments int) error {
	var isDelim [256]bool
	for _, c := range []byte{d.Field, d.Component, d.Repetition, d.SubComponent} {
		isDelim[c] = true
	}
	lines, values := 0, 0
	inLine := false
	for _, c := range data {
		switch {
		case c == '\r' || c == '\n':
			inLine = false
			continue
		case !inLine:
			inLine = true
			lines++
			if lines > maxSegments {
				return &Error{Err: ErrTooLarge, Detail: fmt.Sprintf("the message has more than %d segments (max-hl7v2-segments)", maxSegments)}
			}
		}
		if isDelim[c] {
			values++
			if values > MaxValues {
				return &Error{Err: ErrTooLarge, Detail: fmt.Sprintf("the message has more than %d field, component and repetition separators", MaxValues)}
			}
		}
	}
	return nil
}

func hasSegmentName(data []byte, name string) bool {
	return len(data) > 3 && string(data[:3]) == name && !isAlnumByte(data[3])
}

// readDelimiters reads MSH-1 and MSH-2 from the start of data, which begins with "MSH".
func readDelimiters(data []byte) (Delimiters, error) {
	bad := func(detail string) error {
		return &Error{Err: ErrDelimiters, Segment: "MSH", Seq: 1, Field: 2, Detail: detail}
	}
	if len(data) < 4 {
		return Delimiters{}, &Error{Err: ErrTruncated, Segment: "MSH", Seq: 1, Detail: "the message ends before MSH-1"}
	}
	var d Delimiters
	d.Field = data[3]
	if isAlnumByte(d.Field) || d.Field == '\r' || d.Field == '\n' || d.Field == ' ' {
		return Delimiters{}, &Error{Err: ErrDelimiters, Segment: "MSH", Seq: 1, Field: 1, Detail: "the field separator must be a punctuation character"}
	}
	enc := data[4:]
	if i := bytes.IndexAny(enc, string([]byte{d.Field, '\r', '\n'})); i >= 0 {
		enc = enc[:i]
	}
	if len(enc) < 4 || len(enc) > 5 {
		return Delimiters{}, bad(fmt.Sprintf("MSH-2 has %d encoding characters, want 4 (or 5 from v2.7)", len(enc)))
	}
	seen := map[byte]bool{d.Field: true}
	for _, c := range enc {
		if isAlnumByte(c) || c == ' ' || c < 0x20 || c > 0x7e || seen[c] {
			return Delimiters{}, bad("the encoding characters must be distinct punctuation characters")
		}
		seen[c] = true
	}
	d.Component, d.Repetition, d.Escape, d.SubComponent = enc[0], enc[1], enc[2], enc[3]
	if len(enc) == 5 {
		d.Truncation = enc[4]
	}
	return d, nil
}

// decodeCharset turns data into UTF-8 text according to MSH-18.
func (m *Message) decodeCharset(data []byte) (string, error) {
	first := data
	if i := bytes.IndexAny(first, "\r\n"); i >= 0 {
		first = first[:i]
	}
	declared := ""
	if parts := bytes.Split(first, []byte{m.Delims.Field}); len(parts) > 17 {
		v := parts[17]
		if i := bytes.IndexAny(v, string([]byte{m.Delims.Repetition, m.Delims.Component})); i >= 0 {
			v = v[:i]
		}
		declared = strings.ToUpper(strings.TrimSpace(string(v)))
	}
	switch declared {
	case "8859/1", "8859/15", "ISO-8859-1", "ISO8859-1", "LATIN1":
		m.charset = "ISO-8859-1"
		if declared == "8859/15" {
			m.Issues = append(m.Issues, fhir.WarningIssue("not-supported", "", "MSH-18 character set 8859/15 was read as 8859/1"))
		}
		return decodeLatin1(data), nil
	case "", "ASCII":
		if utf8.Valid(data) {
			m.charset = "UTF-8"
			if declared == "ASCII" {
				m.charset = "ASCII"
			}
			return string(data), nil
		}
		m.charset = "ISO-8859-1"
		m.Issues = append(m.Issues, fhir.WarningIssue("invalid", "", "the message is not valid UTF-8 and MSH-18 names no character set; it was read as ISO 8859-1"))
		return decodeLatin1(data), nil
	case "UNICODE UTF-8", "UNICODE", "UTF-8", "UTF8":
	default:
		m.Issues = append(m.Issues, fhir.WarningIssue("not-supported", "", "MSH-18 names a character set that is not supported; the message was read as UTF-8"))
	}
	m.charset = "UTF-8"
	if !utf8.Valid(data) {
		m.Issues = append(m.Issues, fhir.WarningIssue("invalid", "", fmt.Sprintf("the message holds bytes that are not valid UTF-8 (first at byte %d); they were replaced with U+FFFD", firstInvalidUTF8(data))))
		return strings.ToValidUTF8(string(data), "\uFFFD"), nil
	}
	return string(data), nil
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

func decodeLatin1(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// splitLines splits on CR, LF and CRLF and drops empty lines.
func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			out = append(out, s)
			break
		}
		if i > 0 {
			out = append(out, s[:i])
		}
		s = s[i+1:]
	}
	return out
}

// segmentName returns the segment ID of line when it is three upper-case letters or
// digits followed by the field separator or the end of the line.
func segmentName(line string, fs byte) (string, bool) {
	if len(line) < 3 {
		return "", false
	}
	for i := 0; i < 3; i++ {
		c := line[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return "", false
		}
	}
	if len(line) > 3 && line[3] != fs {
		return "", false
	}
	return line[:3], true
}

func isAlnumByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlnumByte(s[i]) {
			return false
		}
	}
	return s != ""
}

func (m *Message) parseSegment(name, line string, seq int) (*Segment, error) {
	d := m.Delims
	seg := &Segment{Name: name}
	seg.fields = append(seg.fields, rawField(name))
	if len(line) <= 3 {
		return seg, nil
	}
	rest := line[4:]
	if name == "MSH" {
		seg.fields = append(seg.fields, rawField(string(d.Field)))
		enc, after, found := strings.Cut(rest, string(d.Field))
		seg.fields = append(seg.fields, rawField(enc))
		if !found {
			return seg, nil
		}
		rest = after
	}
	for n := len(seg.fields); ; n++ {
		raw, after, more := strings.Cut(rest, string(d.Field))
		if len(raw) > MaxFieldSize {
			return nil, &Error{Err: ErrTooLarge, Segment: name, Seq: seq, Field: n, Detail: fmt.Sprintf("field is %d bytes, the limit is %d", len(raw), MaxFieldSize)}
		}
		seg.fields = append(seg.fields, m.parseField(raw))
		if !more {
			break
		}
		rest = after
	}
	return seg, nil
}

func rawField(s string) Field {
	return Field{reps: []Rep{{comps: []Comp{{subs: []string{s}}}}}}
}

func (m *Message) parseField(raw string) Field {
	if raw == "" {
		return Field{}
	}
	d := m.Delims
	var f Field
	for _, r := range strings.Split(raw, string(d.Repetition)) {
		var rep Rep
		for _, c := range strings.Split(r, string(d.Component)) {
			var comp Comp
			for _, s := range strings.Split(c, string(d.SubComponent)) {
				comp.subs = append(comp.subs, m.unescape(s))
			}
			rep.comps = append(rep.comps, comp)
		}
		f.reps = append(f.reps, rep)
	}
	return f
}

// unescape resolves the escape sequences of HL7 v2 section 2.7: delimiters, hex
// data and the formatting commands of FT (line breaks become "\n"; highlighting
// and the other layout commands have no plain-text form and are dropped).
func (m *Message) unescape(s string) string {
	d := m.Delims
	if strings.IndexByte(s, d.Escape) < 0 {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != d.Escape {
			sb.WriteByte(c)
			continue
		}
		j := strings.IndexByte(s[i+1:], d.Escape)
		if j < 0 {
			sb.WriteString(s[i:])
			break
		}
		seq := s[i+1 : i+1+j]
		i += j + 1
		switch {
		case seq == "F":
			sb.WriteByte(d.Field)
		case seq == "S":
			sb.WriteByte(d.Component)
		case seq == "T":
			sb.WriteByte(d.SubComponent)
		case seq == "R":
			sb.WriteByte(d.Repetition)
		case seq == "E":
			sb.WriteByte(d.Escape)
		case seq == "P" && d.Truncation != 0:
			sb.WriteByte(d.Truncation)
		case seq == "H", seq == "N":
		case seq == ".br", seq == ".sp", strings.HasPrefix(seq, ".sp"):
			sb.WriteByte('\n')
		case strings.HasPrefix(seq, "."):
		case len(seq) > 1 && (seq[0] == 'X' || seq[0] == 'x'):
			sb.WriteString(m.hexText(seq[1:]))
		case len(seq) > 0 && (seq[0] == 'C' || seq[0] == 'M' || seq[0] == 'Z'):
			// Character set switches and locally defined escapes carry no text.
		default:
			sb.WriteByte(d.Escape)
			sb.WriteString(seq)
			sb.WriteByte(d.Escape)
		}
	}
	return sb.String()
}

func (m *Message) hexText(h string) string {
	if len(h)%2 != 0 {
		return ""
	}
	b := make([]byte, 0, len(h)/2)
	for i := 0; i+1 < len(h); i += 2 {
		v, err := strconv.ParseUint(h[i:i+2], 16, 8)
		if err != nil {
			return ""
		}
		b = append(b, byte(v))
	}
	if m.charset == "ISO-8859-1" {
		return decodeLatin1(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// SplitMessages splits a file or stream holding several messages into one byte
// slice per message, each starting at its MSH. Batch envelope segments (FHS, BHS,
// BTS, FTS), blank lines and lines that are not segments (comments some files carry
// between messages) are dropped; segments are rejoined with CR.
func SplitMessages(data []byte) [][]byte {
	data = bytes.TrimPrefix(data, utf8BOM)
	var out [][]byte
	var cur []byte
	flush := func() {
		if cur != nil {
			out = append(out, cur)
			cur = nil
		}
	}
	for len(data) > 0 {
		i := bytes.IndexAny(data, "\r\n")
		var line []byte
		if i < 0 {
			line, data = data, nil
		} else {
			line, data = data[:i], data[i+1:]
		}
		line = bytes.Trim(line, "\v\x1c")
		if !looksLikeSegment(line) {
			continue
		}
		switch string(line[:3]) {
		case "FHS", "BHS", "BTS", "FTS":
			flush()
			continue
		case "MSH":
			flush()
			cur = append([]byte{}, line...)
			continue
		}
		if cur != nil {
			cur = append(cur, '\r')
			cur = append(cur, line...)
		}
	}
	flush()
	return out
}

func looksLikeSegment(line []byte) bool {
	if len(line) < 3 {
		return false
	}
	for _, c := range line[:3] {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return len(line) == 3 || !isAlnumByte(line[3])
}
