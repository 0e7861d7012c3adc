package fhir

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is how deeply objects and arrays may nest in a JSON document that Decode
// accepts. The deepest R4 resources (nested Questionnaire items, extensions of
// extensions, a Bundle in a Bundle) stay well below it; a deeper document is an
// attack on the recursive code that walks resources, not a record.
const MaxDepth = 100

// DecodeError is a JSON document Decode refuses. Path is the element the problem is
// about, as a FHIRPath-like location with the resource type first
// ("Patient.name[0].family"), or "" when it concerns the document as a whole.
type DecodeError struct {
	Path    string
	Message string
}

func (e *DecodeError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Message + " (at " + e.Path + ")"
}

// Issues returns the problem as one OperationOutcome issue of type structure, with
// the element path as its expression when there is one.
func (e *DecodeError) Issues() []Issue {
	return []Issue{ErrorIssue("structure", e.Path, e.Message)}
}

// checkJSON applies the rules of FHIR JSON (https://hl7.org/fhir/R4/json.html) that
// encoding/json does not: the document is UTF-8 (encoding/json silently replaces
// invalid bytes with U+FFFD), a \u escape never leaves half of a UTF-16 surrogate
// pair alone (also replaced), a property appears at most once in an object
// (encoding/json keeps the last one), and nesting stays within MaxDepth. data must
// already be one well-formed JSON value; root names the top of the path.
func checkJSON(data []byte, root string) *DecodeError {
	c := &jsonChecker{data: data, root: root}
	c.space()
	c.value()
	return c.err
}

// jsonChecker walks the bytes of a well-formed JSON document. It keeps the path to
// the current value, to report where a problem is, and the property names of each
// open object, to find duplicates.
type jsonChecker struct {
	data []byte
	i    int
	root string
	path []pathStep
	// keys[d] holds the property names seen so far in the open object at depth d;
	// sets[d] replaces it once an object has many properties.
	keys [][]string
	sets []map[string]bool
	err  *DecodeError
}

// pathStep is one step of a path: a property name, or an array index when key is
// empty.
type pathStep struct {
	key   string
	index int
}

// manyKeys is the number of properties above which an object's names are kept in a
// map rather than compared one by one.
const manyKeys = 16

func (c *jsonChecker) fail(at int, format string, args ...any) {
	if c.err != nil {
		return
	}
	line, col := position(c.data, int64(at))
	c.err = &DecodeError{Path: c.pathString(),
		Message: fmt.Sprintf("invalid JSON at line %d, column %d: %s", line, col, fmt.Sprintf(format, args...))}
}

func (c *jsonChecker) pathString() string {
	var b strings.Builder
	b.WriteString(c.root)
	for _, s := range c.path {
		if s.key != "" {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.key)
			continue
		}
		b.WriteByte('[')
		b.WriteString(strconv.Itoa(s.index))
		b.WriteByte(']')
	}
	return b.String()
}

func (c *jsonChecker) space() {
	for c.i < len(c.data) {
		switch c.data[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

// value checks one value starting at c.i and leaves c.i after it.
func (c *jsonChecker) value() {
	if c.err != nil || c.i >= len(c.data) {
		return
	}
	switch c.data[c.i] {
	case '{':
		c.object()
	case '[':
		c.array()
	case '"':
		c.str(false)
	default:
		// A number or a literal: the bytes up to the next delimiter.
		for c.i < len(c.data) && !isDelimiter(c.data[c.i]) {
			c.i++
		}
	}
}

func isDelimiter(b byte) bool {
	switch b {
	case ',', ']', '}', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

func (c *jsonChecker) enter(at int) bool {
	if len(c.path) >= MaxDepth {
		c.fail(at, "objects and arrays nest more than %d levels deep", MaxDepth)
		// The path would be as long as the nesting; line and column say where.
		c.err.Path = ""
		return false
	}
	return true
}

func (c *jsonChecker) object() {
	if !c.enter(c.i) {
		return
	}
	depth := len(c.path)
	for len(c.keys) <= depth {
		c.keys = append(c.keys, nil)
		c.sets = append(c.sets, nil)
	}
	c.keys[depth], c.sets[depth] = c.keys[depth][:0], nil
	c.i++ // {
	c.space()
	if c.i < len(c.data) && c.data[c.i] == '}' {
		c.i++
		return
	}
	for c.err == nil && c.i < len(c.data) {
		at := c.i
		key, ok := c.str(true)
		if !ok {
			return
		}
		c.path = append(c.path, pathStep{key: key})
		if c.seen(depth, key) {
			c.fail(at, "the property %q appears more than once in this object; FHIR JSON allows each property once", key)
			return
		}
		c.space()
		c.i++ // :
		c.space()
		c.value()
		c.path = c.path[:len(c.path)-1]
		c.space()
		if c.i >= len(c.data) {
			return
		}
		if c.data[c.i] == '}' {
			c.i++
			return
		}
		c.i++ // ,
		c.space()
	}
}

// seen records key as a property of the open object at depth and reports whether
// it was there already.
func (c *jsonChecker) seen(depth int, key string) bool {
	if set := c.sets[depth]; set != nil {
		if set[key] {
			return true
		}
		set[key] = true
		return false
	}
	for _, k := range c.keys[depth] {
		if k == key {
			return true
		}
	}
	c.keys[depth] = append(c.keys[depth], key)
	if len(c.keys[depth]) > manyKeys {
		set := make(map[string]bool, 2*manyKeys)
		for _, k := range c.keys[depth] {
			set[k] = true
		}
		c.sets[depth] = set
	}
	return false
}

func (c *jsonChecker) array() {
	if !c.enter(c.i) {
		return
	}
	c.i++ // [
	c.space()
	if c.i < len(c.data) && c.data[c.i] == ']' {
		c.i++
		return
	}
	for n := 0; c.err == nil && c.i < len(c.data); n++ {
		c.path = append(c.path, pathStep{index: n})
		c.value()
		c.path = c.path[:len(c.path)-1]
		c.space()
		if c.i >= len(c.data) {
			return
		}
		if c.data[c.i] == ']' {
			c.i++
			return
		}
		c.i++ // ,
		c.space()
	}
}

// str checks the string starting at c.i (its opening quote) and, when want is set,
// returns its value; ok is false once a problem has been reported.
func (c *jsonChecker) str(want bool) (s string, ok bool) {
	start := c.i + 1
	i := start
	escaped := false
	for i < len(c.data) {
		b := c.data[i]
		switch {
		case b == '"':
			c.i = i + 1
			switch {
			case !want:
				return "", true
			case !escaped:
				return string(c.data[start:i]), true
			}
			return unescape(c.data[start:i]), true
		case b == '\\':
			escaped = true
			if i+1 < len(c.data) && c.data[i+1] == 'u' {
				n, ok := c.surrogates(i)
				if !ok {
					return "", false
				}
				i += n
				continue
			}
			i += 2
		case b < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(c.data[i:])
			if r == utf8.RuneError && size == 1 {
				c.fail(i, "byte 0x%02X is not valid UTF-8; FHIR JSON must be encoded in UTF-8", b)
				return "", false
			}
			i += size
		}
	}
	c.i = i
	return "", c.err == nil
}

// surrogates checks the \u escape at i: half of a surrogate pair must be followed
// by its other half. It returns how many bytes the escape (or pair) takes.
func (c *jsonChecker) surrogates(i int) (int, bool) {
	r, ok := hex4(c.data, i+2)
	if !ok {
		return 6, true // encoding/json has refused it already
	}
	switch {
	case r >= 0xDC00 && r <= 0xDFFF:
		c.fail(i, `the escape \u%04x is the second half of a UTF-16 surrogate pair without a first half; it encodes no character`, r)
		return 0, false
	case r >= 0xD800 && r <= 0xDBFF:
		if i+12 <= len(c.data) && c.data[i+6] == '\\' && c.data[i+7] == 'u' {
			if r2, ok := hex4(c.data, i+8); ok && r2 >= 0xDC00 && r2 <= 0xDFFF {
				return 12, true
			}
		}
		c.fail(i, `the escape \u%04x is the first half of a UTF-16 surrogate pair without a second half; it encodes no character`, r)
		return 0, false
	}
	return 6, true
}

func hex4(data []byte, i int) (rune, bool) {
	if i+4 > len(data) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(data[i:i+4]), 16, 16)
	return rune(n), err == nil
}

// unescape decodes the body of a JSON string that str has checked.
func unescape(raw []byte) string {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' || i+1 >= len(raw) {
			b.WriteByte(raw[i])
			continue
		}
		i++
		switch raw[i] {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, _ := hex4(raw, i+1)
			i += 4
			if utf16.IsSurrogate(r) {
				r2, _ := hex4(raw, i+3)
				r = utf16.DecodeRune(r, r2)
				i += 6
			}
			b.WriteRune(r)
		default: // " \ /
			b.WriteByte(raw[i])
		}
	}
	return b.String()
}
