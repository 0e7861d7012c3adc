package fhir

import (
	"crypto/rand"
	"fmt"
)

// SetIf sets obj[key] to v unless v is nil, an empty string, or an empty object or
// array: FHIR JSON never carries empty values, so builders of resources call this
// instead of checking every optional part.
func SetIf(obj map[string]any, key string, v any) {
	switch x := v.(type) {
	case nil:
		return
	case string:
		if x == "" {
			return
		}
	case map[string]any:
		if len(x) == 0 {
			return
		}
	case []any:
		if len(x) == 0 {
			return
		}
	}
	obj[key] = v
}

// NewUUID returns a random (version 4) UUID, for urn:uuid: fullUrls of converted
// resources.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
