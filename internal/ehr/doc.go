// Package ehr is Omnichart's domain: the store contract (ResourceStore, Tx, Record),
// the Service through which every FHIR interaction passes, the Principal that every
// request carries, and the one Error type with its closed set of codes.
//
// # One path for every read and write
//
// fhirapi, ingest and the command line never call a store directly for user work:
// they call Service, which validates what is written, stamps meta.source from the
// principal, applies conditional-interaction rules, runs transaction and batch
// Bundles, and asks the Policy before anything is read or written. Access rules,
// consent and audit are added in that one place.
//
//	svc := ehr.NewService(store, ehr.AllowAll{})
//	rec, created, err := svc.Create(ctx, patient, "identifier=http://mrn|123")
//
// # Errors
//
// Every error a caller can act on is an *Error with a Code; fhirapi turns codes into
// HTTP statuses and OperationOutcomes in one table. Messages never hold PHI: they name
// resources by type and id, never by their content.
package ehr
