// Package r4 embeds the FHIR R4 (4.0.1) definitions Omnichart is built on, distilled
// from the official HL7 definitions by the generator in ./gen: the element model of
// every resource and data type, the 1,375 SearchParameters, and the Patient
// CompartmentDefinition.
package r4

import _ "embed"

//go:generate go run ./gen -defs ../../../../shared/testdata/fhir-r4-definitions -out .

// TypesJSON maps each type name to its kind, base and element paths.
//
//go:embed types.json
var TypesJSON []byte

// SearchParametersJSON is the array of official R4 SearchParameters (trimmed to the
// fields search uses), sorted by canonical URL.
//
//go:embed searchparameters.json
var SearchParametersJSON []byte

// CompartmentPatientJSON maps each resource type in the Patient compartment to the
// search parameters that place it there.
//
//go:embed compartment_patient.json
var CompartmentPatientJSON []byte
