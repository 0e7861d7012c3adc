package ehr

import "context"

// Action is what a principal wants to do with a resource type.
type Action string

// The actions a Policy decides on.
const (
	ActionRead   Action = "read"
	ActionSearch Action = "search"
	ActionWrite  Action = "write"
	ActionDelete Action = "delete"
)

// Policy decides what a principal may do. Authorize is asked before an interaction
// (typ is empty for system-wide ones); Visible is asked for every record about to be
// returned, so that rules that depend on the record (enterprise, consent) apply to
// reads, searches, history and bundles alike.
type Policy interface {
	Authorize(ctx context.Context, p Principal, action Action, typ string) error
	Visible(ctx context.Context, p Principal, rec *Record) (bool, error)
}

// AllowAll is the policy of a server without access control configured.
type AllowAll struct{}

// Authorize allows everything.
func (AllowAll) Authorize(context.Context, Principal, Action, string) error { return nil }

// Visible shows every record.
func (AllowAll) Visible(context.Context, Principal, *Record) (bool, error) { return true, nil }
