package hl7v2

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// Acknowledgment codes for MSA-1 (HL7 table 0008, original mode).
const (
	AckAccept = "AA" // processed
	AckError  = "AE" // understood, but its content was in error
	AckReject = "AR" // not understood or not supported: resending will not help
)

// AckCode is the MSA-1 code for the outcome of handling a message: AA when cause
// is nil, AR when the message could not be read or its type is not supported, AE
// for any other problem.
func AckCode(cause error) string {
	switch {
	case cause == nil:
		return AckAccept
	case errors.Is(cause, ErrUnsupportedType), errors.Is(cause, ErrEmpty), errors.Is(cause, ErrNoMSH),
		errors.Is(cause, ErrDelimiters), errors.Is(cause, ErrTooLarge), errors.Is(cause, ErrTruncated),
		errors.Is(cause, ErrBatch):
		return AckReject
	default:
		return AckError
	}
}

// NewACK builds the acknowledgement for a received message. msg is the parsed
// message, or nil when it could not be parsed; then the header is recovered from
// raw as far as possible. The ACK swaps sender and receiver, keeps the version and
// processing ID, carries the received control ID in MSA-2, gets a new control ID
// from opts.NewID and its time from opts.Now. When cause is not nil the ACK is AE or
// AR (see AckCode) with an ERR segment: ERR-2 location, ERR-3 code from table 0357,
// ERR-4 severity and ERR-8 text from v2.5 on, ERR-1 before. The text holds
// positions, never field values.
//
// See HL7 v2.5.1 section 2.9 (message acknowledgment) and 2.15.5 (ERR).
func NewACK(raw []byte, msg *Message, cause error, opts Options) []byte {
	opts = opts.withDefaults()
	h := ackHeaderOf(raw, msg)
	d := h.delims
	fs := string(d.Field)
	version := h.get(12)
	if version == "" {
		version = "2.5.1"
	}
	code := AckCode(cause)
	ctrl := strings.ReplaceAll(opts.NewID(), "-", "")
	if len(ctrl) > 20 {
		ctrl = ctrl[:20]
	}
	msgType := "ACK"
	if ev := h.comp(9, 2); ev != "" {
		msgType += string(d.Component) + ev
		if versionAtLeast(version, "2.3.1") {
			msgType += string(d.Component) + "ACK"
		}
	}
	proc := h.get(11)
	if proc == "" {
		proc = "P"
	}
	var b bytes.Buffer
	b.WriteString("MSH" + fs + d.encodingChars())
	for _, v := range []string{h.get(5), h.get(6), h.get(3), h.get(4), opts.Now().Format("20060102150405-0700"), "", msgType, ctrl, proc, version} {
		b.WriteString(fs + v)
	}
	b.WriteByte('\r')
	b.WriteString("MSA" + fs + code + fs + h.get(10))
	if cause != nil && !versionAtLeast(version, "2.5") {
		b.WriteString(fs + h.esc(describe(cause)))
	}
	b.WriteByte('\r')
	if cause != nil {
		ecode, etext := errCode(cause)
		var seg, seq, field string
		var e *Error
		if errors.As(cause, &e) && e.Segment != "" {
			seg = e.Segment
			if e.Seq > 0 {
				seq = strconv.Itoa(e.Seq)
			}
			if e.Field > 0 {
				field = strconv.Itoa(e.Field)
			}
		}
		c, s := string(d.Component), string(d.SubComponent)
		if versionAtLeast(version, "2.5") {
			loc := ""
			if seg != "" {
				loc = seg + c + seq + c + field
			}
			b.WriteString("ERR" + fs + fs + loc + fs + ecode + c + etext + c + "HL70357" + fs + "E" + fs + fs + fs + fs + h.esc(describe(cause)))
		} else {
			b.WriteString("ERR" + fs + seg + c + seq + c + field + c + ecode + s + etext + s + "HL70357")
		}
		b.WriteByte('\r')
	}
	return b.Bytes()
}

// describe is the text of an error for people, without the sentinel prefix when
// the error is located.
func describe(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Detail
	}
	return err.Error()
}

// ackHeader is the part of a received MSH an ACK needs, kept in the sender's own
// encoding so it can be echoed without re-escaping.
type ackHeader struct {
	delims Delimiters
	fields []string // fields[n] is MSH-n
	msg    *Message
}

func (h ackHeader) get(n int) string {
	if h.msg != nil {
		return h.msg.encodeField(h.msg.Header().Field(n))
	}
	if n < len(h.fields) {
		return h.fields[n]
	}
	return ""
}

func (h ackHeader) comp(n, c int) string {
	if h.msg != nil {
		return h.msg.Header().Field(n).Comp(c)
	}
	parts := strings.Split(h.get(n), string(h.delims.Component))
	if c-1 < len(parts) {
		return parts[c-1]
	}
	return ""
}

func (h ackHeader) esc(s string) string {
	m := h.msg
	if m == nil {
		m = &Message{Delims: h.delims}
	}
	return m.escape(s)
}

func ackHeaderOf(raw []byte, msg *Message) ackHeader {
	if msg != nil && msg.Header() != nil {
		return ackHeader{delims: msg.Delims, msg: msg}
	}
	h := ackHeader{delims: DefaultDelimiters}
	raw = bytes.TrimPrefix(raw, utf8BOM)
	i := bytes.Index(raw, []byte("MSH"))
	if i < 0 || len(raw) < i+4 {
		return h
	}
	line := raw[i:]
	if j := bytes.IndexAny(line, "\r\n"); j >= 0 {
		line = line[:j]
	}
	if len(line) < 4 {
		return h
	}
	if d, err := readDelimiters(line); err == nil {
		h.delims = d
	} else if fs := line[3]; !isAlnumByte(fs) && fs != ' ' {
		h.delims.Field = fs
	} else {
		return h
	}
	parts := strings.Split(string(line), string(h.delims.Field))
	h.fields = make([]string, len(parts)+1)
	for k := 1; k < len(parts); k++ {
		// parts[1] is MSH-2, parts[k] is MSH-(k+1).
		h.fields[k+1] = strings.ToValidUTF8(parts[k], "")
	}
	return h
}

// versionAtLeast compares dotted version numbers such as "2.3.1" and "2.5".
func versionAtLeast(v, min string) bool {
	a, b := strings.Split(v, "."), strings.Split(min, ".")
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x, _ = strconv.Atoi(a[i])
		}
		if i < len(b) {
			y, _ = strconv.Atoi(b[i])
		}
		if x != y {
			return x > y
		}
	}
	return true
}
