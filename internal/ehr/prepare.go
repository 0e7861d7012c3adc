package ehr

import "context"

// Prepared is a resource made ready to be written by a Preparer: its body encoded,
// its compartment found and its search index rows extracted. It is immutable: a
// retried transaction may write it again.
type Prepared interface {
	// Reference returns "Type/id", the resource it will be written as.
	Reference() string
}

// Preparer is an optional capability of a ResourceStore, found by type assertion.
// It does, outside any transaction, the work of writing a resource that does not
// depend on what is stored, so that a write transaction holds its locks only for
// the writes themselves; the transaction then writes the result through the
// PreparedWriter its Tx implements.
type Preparer interface {
	// Prepare readies res to be written as typ/id. It does not modify res, and
	// keeps parts of it: the caller must not modify res until the transaction that
	// writes the result has ended. It returns Invalid for what Create or Update
	// would refuse whatever is stored (an unknown type, a malformed id); a caller
	// may then write res as usual and get the same error there. It runs no
	// transaction and takes no lock. A context marked WithDeferredIndexing
	// prepares for a bulk load.
	Prepare(ctx context.Context, typ, id string, res map[string]any) (Prepared, error)
}

// PreparedWriter is implemented by the Tx of a store that is a Preparer. Its methods
// are Create and Update with a Prepared, made by the same store, in place of the id
// and resource: they check, write and fail exactly as Create and Update would with
// what was prepared, and produce the same versions and index rows. What may have
// changed since the preparation (the search parameters the store indexes, deferred
// indexing) is redone inside the transaction.
type PreparedWriter interface {
	CreatePrepared(ctx context.Context, p Prepared) (*Record, error)
	UpdatePrepared(ctx context.Context, p Prepared, opts WriteOptions) (rec *Record, created bool, err error)
}
