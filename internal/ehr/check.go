package ehr

import "omnichart/internal/fhir"

// CheckType returns an Invalid error unless typ is a concrete R4 resource type.
func CheckType(typ string) error {
	if !fhir.R4().IsResourceType(typ) {
		return Errorf(Invalid, "%q is not an R4 resource type", typ)
	}
	return nil
}

// CheckID returns an Invalid error unless id is a valid resource id: 1 to 64
// letters, digits, "-" and ".". An id that cannot exist is refused before it
// reaches a query, where a NUL or a byte that is not UTF-8 would make PostgreSQL
// fail. See https://hl7.org/fhir/R4/datatypes.html#id.
func CheckID(id string) error {
	if !fhir.ValidID(id) {
		if len(id) > 64 {
			return Errorf(Invalid, "an id of %d bytes is not a valid resource id (1-64 of A-Z a-z 0-9 - .)", len(id))
		}
		return Errorf(Invalid, "%q is not a valid resource id (1-64 of A-Z a-z 0-9 - .)", id)
	}
	return nil
}
