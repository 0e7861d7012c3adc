package hl7v2

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MLLP framing bytes: a message travels as <VT> message <FS><CR>.
//
// See HL7 v2.5.1 Appendix C, "Lower Layer Protocols".
const (
	mllpStart = 0x0b
	mllpEnd   = 0x1c
	mllpCR    = 0x0d
)

// ReadFrame reads the next MLLP frame from r and returns the message inside it.
// Bytes before the start byte are skipped, as is a start byte inside a frame that
// never ended (the sender gave up on that frame). A frame longer than maxSize
// (when maxSize > 0) is consumed and reported with ErrTooLarge, so the next call
// starts at the following frame. io.EOF means the stream ended between frames;
// a stream ending inside a frame gives an error wrapping ErrFrame and
// io.ErrUnexpectedEOF.
func ReadFrame(r *bufio.Reader, maxSize int) ([]byte, error) {
	for {
		b, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		if b == mllpStart {
			break
		}
	}
	var buf bytes.Buffer
	tooLarge := false
	for {
		b, err := r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("%w: stream ended inside a frame: %w", ErrFrame, io.ErrUnexpectedEOF)
			}
			return nil, err
		}
		switch b {
		case mllpStart:
			buf.Reset()
			tooLarge = false
			continue
		case mllpEnd:
			// The trailing CR is required, but some senders leave it out; accept a
			// missing one without swallowing the next frame's start byte.
			next, err := r.ReadByte()
			if err == nil && next != mllpCR {
				_ = r.UnreadByte()
			}
			if tooLarge {
				return nil, &Error{Err: ErrTooLarge, Detail: fmt.Sprintf("MLLP frame exceeds the limit of %d bytes (mllp-max-frame-bytes)", maxSize)}
			}
			return buf.Bytes(), nil
		}
		if tooLarge {
			continue
		}
		if maxSize > 0 && buf.Len() >= maxSize {
			tooLarge = true
			buf.Reset()
			continue
		}
		buf.WriteByte(b)
	}
}

// WriteFrame writes msg to w as one MLLP frame. A message holding a framing byte
// cannot be framed and is refused with ErrFrame.
func WriteFrame(w io.Writer, msg []byte) error {
	if bytes.IndexByte(msg, mllpStart) >= 0 || bytes.IndexByte(msg, mllpEnd) >= 0 {
		return fmt.Errorf("%w: message contains an MLLP framing byte", ErrFrame)
	}
	buf := make([]byte, 0, len(msg)+3)
	buf = append(buf, mllpStart)
	buf = append(buf, msg...)
	buf = append(buf, mllpEnd, mllpCR)
	_, err := w.Write(buf)
	return err
}
