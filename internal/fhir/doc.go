// Package fhir holds what every other package needs to handle FHIR R4 content: the
// generic JSON tree resources are kept in, the R4 type model with structural
// validation, references, and Issue (one OperationOutcome issue).
//
// # Resources as trees
//
// Resources are not decoded into generated structs. A resource is the tree that
// encoding/json produces with UseNumber: map[string]any for objects, []any for arrays,
// json.Number for numbers (so a decimal such as 1.50 keeps its precision, as FHIR
// requires), string and bool. Nothing a source sends is dropped, including extensions
// on primitives ("_birthDate").
//
// See https://hl7.org/fhir/R4/json.html.
package fhir
