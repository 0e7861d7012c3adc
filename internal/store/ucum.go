package store

import "omnichart/internal/fhir"

// Canonicalize converts a UCUM value to its canonical unit; ok is false for units it
// does not know. See fhir.CanonicalUCUM.
func Canonicalize(value float64, code string) (float64, string, bool) {
	return fhir.CanonicalUCUM(value, code)
}

// UCUMSystem is the code system of UCUM units.
const UCUMSystem = fhir.UCUMSystem
