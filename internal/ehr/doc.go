// Package ehr is Omnichart's domain, and knows nothing of HTTP or SQL: the store
// contract (ResourceStore, Tx, Record), the Principal every request carries, the
// access Scope a Policy grants it, the typed Changes of transactions and batches,
// the access events of every interaction, source systems (Source), person links
// (PersonLink) and the one Error type with its closed set of codes.
//
// # Records belong to their source
//
// Every stored version carries the source that owns it (Record.Source, the URI of
// the EMR system that sent it) and its patient compartment (Record.Compartment).
// A record is changed only by its source; a source's conditional interactions
// match only its own records. Deciding that records of several sources are one
// person is the patient matcher's work (PersonLink), never a side effect of an
// identifier lookup.
//
// # One gate for every read
//
// Once per request the Policy turns the principal into a Scope, and the store
// compiles that scope into the SQL of every read the request makes, so that no
// count, link, included resource or error reveals what the caller may not see:
//
//	scope := ehr.Scope{Sources: []string{"urn:omnichart:source:st-marys"}}
//	svc := service.New(store, service.Options{Policy: ehr.FixedScope{Allowed: scope}})
//
// The interaction engine (package service) is the only path from fhirapi, ingest
// and the command line to the store for user work; maintenance (migrations,
// re-indexing) reaches the store without a scope.
//
// # Errors
//
// Every error a caller can act on is an *Error with a Code. IssueType maps a code
// to its OperationOutcome issue type, and fhirapi maps it to an HTTP status, each
// in one table. Messages never hold PHI: they name resources by type and id, never
// by their content.
package ehr
