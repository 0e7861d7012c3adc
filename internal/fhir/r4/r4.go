// Package r4 embeds the FHIR R4 (4.0.1) definitions Omnichart is built on, distilled
// from the official HL7 definitions by the generator in ./gen: the element model of
// every resource and data type, the 1,375 SearchParameters, the Patient
// CompartmentDefinition, and the codes of required value-set bindings.
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

// BindingsJSON holds the required value-set bindings of code, Coding and
// CodeableConcept elements: "elements" maps an element path ("Patient.gender") to
// the canonical URL of its value set, and "valueSets" maps that URL to the allowed
// codes by code system, in the order the definitions give them. Only value sets that
// the definitions can expand are here: enumerated codes and whole code systems held
// in full. Those drawn from outside terminologies (UCUM, BCP 13 MIME types, ISO 4217
// currencies, LOINC answer lists) and the few missing from the definitions are left
// out, so their elements are not checked; gen prints which.
//
//go:embed bindings.json
var BindingsJSON []byte
