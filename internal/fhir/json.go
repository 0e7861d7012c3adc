package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"unicode/utf8"
)

// Resource is one decoded FHIR resource. See the package comment for its shape.
type Resource = map[string]any

// Decode parses one JSON object. Numbers stay json.Number. Trailing data after the
// object and any other top-level value are errors, and so is what FHIR JSON forbids
// but encoding/json lets through: bytes that are not UTF-8, a \u escape that is
// half of a surrogate pair, a property repeated in one object, and nesting deeper
// than MaxDepth. Every error is a *DecodeError; those about one element name its
// path. See https://hl7.org/fhir/R4/json.html.
func Decode(data []byte) (Resource, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, describeJSONError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &DecodeError{Message: "invalid JSON: unexpected data after the top-level object"}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &DecodeError{Message: "invalid JSON: the top-level value must be an object"}
	}
	root, _ := obj["resourceType"].(string)
	if !validTypeName(root) {
		root = ""
	}
	if err := checkJSON(data, root); err != nil {
		return nil, err
	}
	return obj, nil
}

// validTypeName reports whether s can start a path: a name of letters and digits.
func validTypeName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// describeJSONError turns a decoder error into a message with line and column.
func describeJSONError(data []byte, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line, col := position(data, syn.Offset)
		return &DecodeError{Message: fmt.Sprintf("invalid JSON at line %d, column %d: %s", line, col, syn.Error())}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &DecodeError{Message: "invalid JSON: the body is empty or ends too early"}
	}
	return &DecodeError{Message: fmt.Sprintf("invalid JSON: %s", err.Error())}
}

func position(data []byte, offset int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < offset && i < int64(len(data)); i++ {
		if data[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// Marshal encodes a tree as compact JSON. Object members come in a stable order with
// "resourceType" first, as FHIR JSON is conventionally written; strings are not
// HTML-escaped (narratives are XHTML, and escaping "<" only bloats them).
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := encode(&buf, v, "", ""); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// MarshalIndent is Marshal with two-space indentation, for _pretty=true.
func MarshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := encode(&buf, v, "\n", "  "); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func encode(buf *bytes.Buffer, v any, nl, indent string) error {
	switch x := v.(type) {
	case nil:
		buf.WriteString("null")
	case string:
		writeString(buf, x)
	case bool:
		if x {
			buf.WriteString("true")
		} else {
			buf.WriteString("false")
		}
	case json.Number:
		if x == "" {
			buf.WriteString("0")
		} else {
			buf.WriteString(string(x))
		}
	case json.RawMessage:
		if nl == "" {
			if err := json.Compact(buf, x); err != nil {
				return err
			}
			return nil
		}
		var tree any
		d := json.NewDecoder(bytes.NewReader(x))
		d.UseNumber()
		if err := d.Decode(&tree); err != nil {
			return err
		}
		return encode(buf, tree, nl, indent)
	case []byte:
		return encode(buf, json.RawMessage(x), nl, indent)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			if k != "resourceType" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		if _, ok := x["resourceType"]; ok {
			keys = append([]string{"resourceType"}, keys...)
		}
		buf.WriteByte('{')
		inner := nl
		if nl != "" {
			inner = nl + indent
		}
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(inner)
			writeString(buf, k)
			buf.WriteByte(':')
			if nl != "" {
				buf.WriteByte(' ')
			}
			if err := encode(buf, x[k], inner, indent); err != nil {
				return err
			}
		}
		if len(keys) > 0 {
			buf.WriteString(nl)
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		inner := nl
		if nl != "" {
			inner = nl + indent
		}
		for i, e := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(inner)
			if err := encode(buf, e, inner, indent); err != nil {
				return err
			}
		}
		if len(x) > 0 {
			buf.WriteString(nl)
		}
		buf.WriteByte(']')
	default:
		// Other Go values (ints from code that builds trees by hand, structs)
		// go through encoding/json, re-read as a tree to keep the member order.
		b, err := json.Marshal(x)
		if err != nil {
			return err
		}
		return encode(buf, json.RawMessage(b), nl, indent)
	}
	return nil
}

const hexDigits = "0123456789abcdef"

// writeString writes s as a JSON string, escaping only what JSON requires (and the
// line separators U+2028/U+2029, which break JavaScript embedding).
func writeString(buf *bytes.Buffer, s string) {
	buf.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < 0x80 {
			i++
			continue
		}
		if c < 0x80 {
			buf.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				buf.WriteByte('\\')
				buf.WriteByte(c)
			case '\n':
				buf.WriteString(`\n`)
			case '\r':
				buf.WriteString(`\r`)
			case '\t':
				buf.WriteString(`\t`)
			default:
				buf.WriteString(`\u00`)
				buf.WriteByte(hexDigits[c>>4])
				buf.WriteByte(hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf.WriteString(s[start:i])
			buf.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf.WriteString(s[start:i])
			buf.WriteString(`\u202`)
			buf.WriteByte(hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf.WriteString(s[start:])
	buf.WriteByte('"')
}

// Clone deep-copies a tree so that a change to the copy never reaches the original.
func Clone(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = Clone(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = Clone(e)
		}
		return s
	default:
		return v
	}
}

// String returns the string at key in obj, or "" when it is absent or not a string.
func String(obj map[string]any, key string) string {
	s, _ := obj[key].(string)
	return s
}

// Object returns the object at key in obj, or nil.
func Object(obj map[string]any, key string) map[string]any {
	m, _ := obj[key].(map[string]any)
	return m
}

// Array returns the array at key in obj, or nil.
func Array(obj map[string]any, key string) []any {
	a, _ := obj[key].([]any)
	return a
}
