package service

import (
	"strings"

	"omnichart/internal/ehr"
)

// checkTypeID refuses a resource type or id that cannot exist, before it reaches
// the store.
func checkTypeID(typ, id string) error {
	if err := ehr.CheckType(typ); err != nil {
		return err
	}
	return ehr.CheckID(id)
}

// checkCompartment refuses a compartment ("Patient/<id>") whose id cannot exist;
// "" is no compartment.
func checkCompartment(c string) error {
	if c == "" {
		return nil
	}
	typ, id, _ := strings.Cut(c, "/")
	return checkTypeID(typ, id)
}
