package hl7v2

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is. Every error Parse, Convert and ReadFrame
// return wraps one of them, so a listener can pick the ACK code without string tests.
var (
	// ErrEmpty: the input holds no message at all.
	ErrEmpty = errors.New("hl7v2: empty message")
	// ErrNoMSH: the input does not start with an MSH segment.
	ErrNoMSH = errors.New("hl7v2: message does not start with an MSH segment")
	// ErrDelimiters: MSH-1 or MSH-2 does not declare a usable set of delimiters.
	ErrDelimiters = errors.New("hl7v2: invalid delimiters in MSH-1/MSH-2")
	// ErrTruncated: the message stops before its header or a segment is complete.
	ErrTruncated = errors.New("hl7v2: message is truncated")
	// ErrTooLarge: the message or one of its fields exceeds the size limits.
	ErrTooLarge = errors.New("hl7v2: message too large")
	// ErrRequiredField: a field the standard requires is empty.
	ErrRequiredField = errors.New("hl7v2: required field missing")
	// ErrMissingSegment: a segment the message type requires is absent.
	ErrMissingSegment = errors.New("hl7v2: required segment missing")
	// ErrUnsupportedType: the message type or trigger event is not converted.
	ErrUnsupportedType = errors.New("hl7v2: unsupported message type")
	// ErrBatch: Parse was given several messages; use SplitMessages first.
	ErrBatch = errors.New("hl7v2: input holds several messages")
	// ErrFrame: an MLLP frame is malformed.
	ErrFrame = errors.New("hl7v2: malformed MLLP frame")
)

// Error is a problem located in a message. It never holds field values, only
// positions, so it is safe to log and to echo in an ACK.
type Error struct {
	Err     error  // one of the sentinel errors above
	Segment string // segment ID, e.g. "PID"; empty when the problem is not in a segment
	Seq     int    // 1-based occurrence of the segment in the message
	Field   int    // 1-based field position; 0 for the whole segment
	Detail  string // what is wrong, without PHI
}

func (e *Error) Error() string {
	loc := e.Location()
	if loc == "" {
		return fmt.Sprintf("%v: %s", e.Err, e.Detail)
	}
	return fmt.Sprintf("%v: %s: %s", e.Err, loc, e.Detail)
}

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error { return e.Err }

// Location is the HL7 position of the problem, "PID(1)-3" style, or "" when unknown.
func (e *Error) Location() string {
	if e.Segment == "" {
		return ""
	}
	s := e.Segment
	if e.Seq > 0 {
		s += fmt.Sprintf("(%d)", e.Seq)
	}
	if e.Field > 0 {
		s += fmt.Sprintf("-%d", e.Field)
	}
	return s
}

// errCode is the HL7 table 0357 message error condition code for err.
func errCode(err error) (code, text string) {
	switch {
	case errors.Is(err, ErrUnsupportedType):
		return "200", "Unsupported message type"
	case errors.Is(err, ErrMissingSegment):
		return "100", "Segment sequence error"
	case errors.Is(err, ErrRequiredField):
		return "101", "Required field missing"
	case errors.Is(err, ErrDelimiters), errors.Is(err, ErrNoMSH), errors.Is(err, ErrEmpty),
		errors.Is(err, ErrTruncated), errors.Is(err, ErrTooLarge):
		return "102", "Data type error"
	default:
		return "207", "Application internal error"
	}
}
