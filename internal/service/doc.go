// Package service is the interaction engine: every FHIR interaction of the API, the
// import pipeline and the command line passes through Service, which
//
//   - asks the ehr.Policy once per request for the principal's scope and puts it on
//     the context, so that the store limits every read and write to it;
//   - validates what is written and makes the principal's source its owner;
//   - runs conditional interactions, matching only the writing source's records,
//     and applies the identity rule to conditional Patient writes (SameIdentity:
//     a source's identifier on a record of another person makes a new Patient and
//     an identity-conflict review Task, never a merge);
//   - runs transactions (all or nothing) and batches of typed ehr.Changes,
//     resolving urn:uuid and conditional references between entries;
//   - sends one ehr.AccessEvent per interaction to the event sink.
//
// It knows no HTTP: fhirapi renders its results as responses and Bundles.
//
//	svc := service.New(store, service.Options{Policy: policy, Events: sink})
//	rec, created, err := svc.Create(ctx, patient, "identifier=http://mrn|123")
//
// See docs/records-and-access.md.
package service
