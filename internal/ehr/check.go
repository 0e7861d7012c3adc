package ehr

import "omnichart/internal/fhir"

// CheckType returns an Invalid error unless typ is a concrete R4 resource type.
func CheckType(typ string) error {
	if !fhir.R4().IsResourceType(typ) {
		return Errorf(Invalid, "%q is not an R4 resource type", typ)
	}
	return nil
}
