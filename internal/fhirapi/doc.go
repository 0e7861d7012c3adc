// Package fhirapi serves the FHIR R4 RESTful API over the interaction engine
// (service.Service): one file per interaction, OperationOutcome for every error, and
// the CapabilityStatement derived from what is wired.
//
// # Formats
//
// Bodies are JSON (application/fhir+json, also application/json). XML is not served
// yet: an XML request body is answered 415 and an XML-only Accept or _format 406, each
// with an OperationOutcome that says so.
//
// # Errors
//
// Every failure, whatever its origin, leaves through writeError in outcome.go: the
// ehr error code decides the HTTP status, the message and issues become the
// OperationOutcome, and internal errors are logged with the request id and shown as
// a generic message only.
//
// See https://hl7.org/fhir/R4/http.html.
package fhirapi
