package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Resource is one decoded FHIR resource. See the package comment for its shape.
type Resource = map[string]any

// Decode parses one JSON object. Numbers stay json.Number. Trailing data after the
// object and any other top-level value are errors.
func Decode(data []byte) (Resource, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, describeJSONError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid JSON: unexpected data after the top-level object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("invalid JSON: the top-level value must be an object")
	}
	return obj, nil
}

// describeJSONError turns a decoder error into a message with line and column.
func describeJSONError(data []byte, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line, col := position(data, syn.Offset)
		return fmt.Errorf("invalid JSON at line %d, column %d: %s", line, col, syn.Error())
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("invalid JSON: the body is empty or ends too early")
	}
	return fmt.Errorf("invalid JSON: %s", err.Error())
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

// Marshal encodes a tree as compact JSON without HTML escaping (FHIR narratives are
// XHTML, and escaping "<" as \u003c only bloats them).
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// MarshalIndent is Marshal with two-space indentation, for _pretty=true.
func MarshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
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
