package ehr

import "context"

// Action is what a principal wants to do with a resource type.
type Action string

// The actions a Policy decides on.
const (
	ActionRead   Action = "read"
	ActionSearch Action = "search"
	// ActionWrite is a create or an update whose kind is not known yet (a PUT
	// or PATCH before the transaction finds whether the resource exists); the
	// engine asks ActionCreate or ActionUpdate again once it knows.
	ActionWrite  Action = "write"
	ActionCreate Action = "create"
	ActionUpdate Action = "update"
	ActionDelete Action = "delete"
	// ActionBreakGlass is an emergency access to a patient's records at every
	// source (see ehr.BreakGlass); only users the policy names may.
	ActionBreakGlass Action = "break-glass"
)

// Policy decides what a principal may do. Authorize is asked before an interaction
// (typ is empty for system-wide ones). Scope is asked once per request and says
// which records the request may see and change; the store compiles it into every
// query, so rules that depend on the record (source, enterprise, patient, consent)
// hold for reads, searches, history, includes, counts and conditional matching
// alike.
type Policy interface {
	Authorize(ctx context.Context, p Principal, action Action, typ string) error
	Scope(ctx context.Context, p Principal) (Scope, error)
}

// AllowAll is the policy of a server without access control configured.
type AllowAll struct{}

// Authorize allows everything.
func (AllowAll) Authorize(context.Context, Principal, Action, string) error { return nil }

// Scope allows every record.
func (AllowAll) Scope(context.Context, Principal) (Scope, error) { return Unrestricted(), nil }

// FixedScope is a policy that lets every principal do everything within one scope.
// It serves tests and single-purpose deployments (a read-only replica for one
// source, for example).
type FixedScope struct{ Allowed Scope }

// Authorize allows every action; the scope limits what it reaches.
func (FixedScope) Authorize(context.Context, Principal, Action, string) error { return nil }

// Scope returns the fixed scope.
func (f FixedScope) Scope(context.Context, Principal) (Scope, error) { return f.Allowed, nil }
