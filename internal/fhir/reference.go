package fhir

import (
	"strings"
)

// ValidID reports whether id is a valid FHIR resource id: 1 to 64 characters from
// A-Z, a-z, 0-9, "-" and ".". See https://hl7.org/fhir/R4/datatypes.html#id.
func ValidID(id string) bool { return isID(id) }

// ParseReference splits a literal reference into type, id and version. It accepts
// relative ("Patient/1", "Patient/1/_history/2") and absolute
// ("https://x/fhir/Patient/1") forms; ok is false for contained ("#x"), urn:uuid:,
// urn:oid: and other references that name no resource on a FHIR server.
func ParseReference(ref string) (typ, id, version string, ok bool) {
	if ref == "" || strings.HasPrefix(ref, "#") || strings.HasPrefix(ref, "urn:") {
		return "", "", "", false
	}
	if i := strings.IndexByte(ref, '?'); i >= 0 {
		return "", "", "", false
	}
	parts := strings.Split(strings.TrimSuffix(ref, "/"), "/")
	if len(parts) >= 4 && parts[len(parts)-2] == "_history" {
		version = parts[len(parts)-1]
		parts = parts[:len(parts)-2]
	}
	if len(parts) < 2 {
		return "", "", "", false
	}
	typ, id = parts[len(parts)-2], parts[len(parts)-1]
	if !R4().IsResourceType(typ) || !ValidID(id) {
		return "", "", "", false
	}
	return typ, id, version, true
}
