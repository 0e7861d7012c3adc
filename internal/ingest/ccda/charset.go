package ccda

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// charsetReader decodes the single-byte encodings US vendors still declare.
// encoding/xml handles UTF-8 itself and calls this for anything else.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return input, nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "iso_8859-1", "cp819", "ibm819",
		"windows-1252", "cp1252", "x-cp1252":
		// Documents labelled ISO-8859-1 are in practice windows-1252 (curly quotes,
		// dashes in 0x80-0x9F, where ISO-8859-1 has unused control codes), which is
		// also how the WHATWG Encoding Standard reads the label.
		return &cp1252Reader{r: bufio.NewReader(input)}, nil
	}
	return nil, fmt.Errorf("unsupported encoding %q (want UTF-8, ISO-8859-1 or windows-1252)", label)
}

// cp1252High maps bytes 0x80–0x9F of windows-1252; the rest equal ISO-8859-1.
var cp1252High = [32]rune{
	'€', 0xFFFD, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0xFFFD, 'Ž', 0xFFFD,
	0xFFFD, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0xFFFD, 'ž', 'Ÿ',
}

// cp1252Reader turns windows-1252 bytes into UTF-8.
type cp1252Reader struct {
	r    *bufio.Reader
	buf  [utf8.UTFMax]byte
	pend []byte // the rest of a multi-byte character that did not fit in p
}

func (s *cp1252Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(s.pend) > 0 {
			c := copy(p[n:], s.pend)
			s.pend = s.pend[c:]
			n += c
			continue
		}
		b, err := s.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if b < 0x80 {
			p[n] = b
			n++
			continue
		}
		r := rune(b)
		if b < 0xA0 {
			r = cp1252High[b-0x80]
		}
		w := utf8.EncodeRune(s.buf[:], r)
		s.pend = s.buf[:w]
	}
	return n, nil
}
