package ehr

import (
	"context"
	"time"

	"omnichart/internal/fhir/search"
)

// Record is one version of one resource as the store keeps it.
type Record struct {
	Type        string
	ID          string
	Version     int64
	LastUpdated time.Time
	// Deleted marks the version a delete wrote; Resource is nil then.
	Deleted bool
	// Method is the interaction that wrote this version: POST, PUT, PATCH or DELETE.
	Method string
	// Resource is the stored JSON, with id, meta.versionId and meta.lastUpdated set.
	Resource []byte
	// Source is the URI of the source system that owns the resource (its
	// meta.source as written); "" when it was written by no source.
	Source string
	// Compartment is the resource's patient-compartment key: "Patient/<id>", or
	// "<Type>/<id>" for a resource outside every Patient compartment.
	Compartment string
}

// Reference returns "Type/id".
func (r *Record) Reference() string { return r.Type + "/" + r.ID }

// WriteOptions qualify an update.
type WriteOptions struct {
	// IfMatch, when non-zero, is the version the resource must be at.
	IfMatch int64
	// Patch records the version as written by PATCH rather than PUT.
	Patch bool
}

// HistoryQuery selects versions for a history interaction. Type and ID narrow it to
// a type or one instance; both empty means the whole system.
type HistoryQuery struct {
	Type  string
	ID    string
	Since time.Time // only versions written at or after Since
	At    time.Time // only the version current at At, per resource
	Count int
	// Cursor continues a previous page; opaque to callers.
	Cursor string
}

// Page is one page of records, newest first for history, in search order for search.
type Page struct {
	Records []*Record
	// Next is the cursor of the following page, empty on the last one.
	Next string
	// Prev is the cursor of the preceding page, empty on the first one.
	Prev string
	// Total is the number of matches, or -1 when it was not counted.
	Total int
	// Included holds _include/_revinclude results of a search page.
	Included []*Record
}

// Tx is the set of interactions a store offers inside one database transaction. All
// methods return *Error values for conditions a caller can act on: NotFound (never
// existed), Gone (deleted; the Record of the deletion is returned alongside),
// PreconditionFailed (ifMatch mismatch), Conflict, Invalid, NotSupported.
type Tx interface {
	// NewID returns a fresh server-assigned resource id (a UUIDv7).
	NewID() string
	// Lock holds a lock named name until the transaction ends, so that concurrent
	// transactions taking the same lock run one after the other and each sees what
	// the previous one committed. Conditional interactions lock their criteria.
	Lock(ctx context.Context, name string) error
	// Create stores res as version 1 under id, which the caller takes from NewID.
	// An id already in use is a Conflict.
	Create(ctx context.Context, id string, res map[string]any) (*Record, error)
	// Update stores res as the next version of typ/id, creating it when absent
	// (update-as-create). opts.IfMatch, when non-zero, must equal the current version.
	Update(ctx context.Context, typ, id string, res map[string]any, opts WriteOptions) (rec *Record, created bool, err error)
	// Delete writes a deletion version. Deleting an absent or already deleted
	// resource succeeds with a nil record, as the spec allows.
	Delete(ctx context.Context, typ, id string, ifMatch int64) (*Record, error)
	// Read returns the current version.
	Read(ctx context.Context, typ, id string) (*Record, error)
	// VRead returns one version, deleted versions included (Gone).
	VRead(ctx context.Context, typ, id string, version int64) (*Record, error)
	// Search returns current, not deleted resources matching q.
	Search(ctx context.Context, q *search.Query) (*Page, error)
	// History lists versions, newest first.
	History(ctx context.Context, q HistoryQuery) (*Page, error)
}

// ResourceStore is the store contract. Each Tx method called on the store itself runs
// in a transaction of its own; Transaction runs several atomically: either all of fn's
// writes are committed or none is. fn may be called more than once when the database
// asks for a retry (serialization failures), so it must not have side effects outside
// the store.
type ResourceStore interface {
	Tx
	Transaction(ctx context.Context, fn func(tx Tx) error) error
	// RefreshStatistics brings the query planner's statistics up to date after
	// a bulk load, so that what follows is not planned on figures from before it.
	RefreshStatistics(ctx context.Context) error
	Close() error
}

// SearchParameterInfo describes one search parameter a store supports.
type SearchParameterInfo struct {
	Name       string
	Type       string // token, string, date, reference, quantity, uri, number, composite, special
	Definition string // canonical URL of the SearchParameter
	// Targets are the resource types a reference parameter may point to.
	Targets []string
}
