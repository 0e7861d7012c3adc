package ehr

import (
	"context"
	"slices"
	"strings"
)

// Scope is what one request may see and change, decided once per request by the
// Policy and compiled by the store into the SQL of every read: reads by id, version
// reads, history, searches with all their features (chains, _has, _include and
// _revinclude, sorting, totals, paging) and the matching of conditional
// interactions. A record outside the scope does not exist for the request: it is
// never returned, counted, included or matched, and a read of it is NotFound.
//
// The zero Scope sees nothing. Each restriction is a list that applies when it is
// not nil; a record is in scope when it passes every list that applies:
//
//	Scope{All: true}                                   everything
//	Scope{Sources: []string{"urn:omnichart:source:a"}} only records source a owns
//	Scope{Compartments: []string{"Patient/1"}, Shared: true}
//	                                                   patient 1's compartment, and
//	                                                   resources outside every patient
//	                                                   compartment (practitioners...)
type Scope struct {
	// All lifts every restriction.
	All bool
	// Sources, when not nil, are the owning sources (Record.Source) allowed; ""
	// stands for records written by no source.
	Sources []string
	// Compartments, when not nil, are the patient compartments allowed
	// ("Patient/<id>").
	Compartments []string
	// Shared, with Compartments, also allows resources outside every Patient
	// compartment.
	Shared bool
	// Types, when not nil, are the resource types allowed.
	Types []string
}

// Unrestricted is the scope of trusted in-process work.
func Unrestricted() Scope { return Scope{All: true} }

// Denies reports whether the scope lets nothing through.
func (s Scope) Denies() bool {
	if s.All {
		return false
	}
	if s.Sources == nil && s.Compartments == nil && s.Types == nil {
		return true
	}
	return (s.Sources != nil && len(s.Sources) == 0) ||
		(s.Compartments != nil && len(s.Compartments) == 0 && !s.Shared) ||
		(s.Types != nil && len(s.Types) == 0)
}

// Allows reports whether a record of typ in compartment owned by source is in scope.
// The store applies the same rule in SQL (see the store's scope clause).
func (s Scope) Allows(typ, compartment, source string) bool {
	if s.All {
		return true
	}
	if s.Denies() {
		return false
	}
	if s.Types != nil && !slices.Contains(s.Types, typ) {
		return false
	}
	if s.Sources != nil && !slices.Contains(s.Sources, source) {
		return false
	}
	if s.Compartments != nil {
		shared := !strings.HasPrefix(compartment, "Patient/")
		if !(shared && s.Shared) && !slices.Contains(s.Compartments, compartment) {
			return false
		}
	}
	return true
}

// AllowsType reports whether any record of typ can be in scope.
func (s Scope) AllowsType(typ string) bool {
	if s.All {
		return true
	}
	return !s.Denies() && (s.Types == nil || slices.Contains(s.Types, typ))
}

// Narrow returns the scope that allows what both s and o allow.
func (s Scope) Narrow(o Scope) Scope {
	if s.All {
		return o
	}
	if o.All {
		return s
	}
	if s.Denies() || o.Denies() {
		return Scope{}
	}
	return Scope{
		Sources:      intersect(s.Sources, o.Sources),
		Compartments: intersect(s.Compartments, o.Compartments),
		Shared:       (s.Compartments == nil || s.Shared) && (o.Compartments == nil || o.Shared),
		Types:        intersect(s.Types, o.Types),
	}
}

// intersect returns the common elements of two restriction lists, nil meaning "no
// restriction".
func intersect(a, b []string) []string {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	out := []string{}
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

type scopeKey struct{}

// WithScope returns a context whose reads and writes the store limits to s.
func WithScope(ctx context.Context, s Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

// ScopeFrom returns the scope of ctx. A context without one is maintenance work
// that reaches the store directly (migrations, re-indexing, the command line's own
// bookkeeping) and is unrestricted: every request path sets a scope through the
// interaction engine.
func ScopeFrom(ctx context.Context) Scope {
	if s, ok := ctx.Value(scopeKey{}).(Scope); ok {
		return s
	}
	return Unrestricted()
}
