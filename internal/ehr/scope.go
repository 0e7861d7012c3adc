package ehr

import (
	"context"
	"slices"
	"strings"
	"time"
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
	// Restricted maps a resource type to search queries ("category=laboratory"):
	// a record of that type is in scope only when it matches one of them, as a
	// search of the type with that query would find it (SMART v2 scopes with
	// search-parameter restrictions). Searches, chains and _has compile them into
	// their SQL; reads by id, includes, version reads and history, which cannot
	// evaluate a query, leave records of a restricted type out, and Allows (what
	// a request may write) refuses them.
	Restricted map[string][]string
	// Openings, when not nil, open further patient compartments for reading,
	// whatever source owns their records: those a patient's Consent shares with
	// the caller's organization, and those a break-the-glass access of the caller
	// opened. A record in an open compartment is in scope when its type is
	// allowed, even if Sources leaves its source out. Openings never widen a scope
	// limited to Compartments (a patient context), and never allow a write:
	// Allows, which the store asks before every write, leaves them out.
	Openings *Openings
}

// Openings names the caller whose opened compartments a scope adds (see
// Scope.Openings and docs/security.md, "Consent and break-the-glass"). The store
// looks them up in its table of openings inside the same query.
type Openings struct {
	// Org is the caller's organization: compartments whose custodian's Consent
	// permits sharing with it (or with every organization) are open.
	Org string
	// User is the caller's username: compartments its break-the-glass accesses
	// opened are open until they close.
	User string
	// At is the time the openings are judged at, in microseconds since the epoch.
	At int64
}

// Unrestricted is the scope of trusted in-process work.
func Unrestricted() Scope { return Scope{All: true} }

// Denies reports whether the scope lets nothing through.
func (s Scope) Denies() bool {
	if s.All {
		return false
	}
	if s.Types != nil && len(s.Types) == 0 {
		return true
	}
	if s.Openings != nil && s.Compartments == nil {
		return false
	}
	return s.BaseDenies()
}

// BaseDenies reports whether the scope without its openings lets nothing through.
func (s Scope) BaseDenies() bool {
	if s.All {
		return false
	}
	if s.Sources == nil && s.Compartments == nil && s.Types == nil && s.Restricted == nil {
		return true
	}
	return (s.Sources != nil && len(s.Sources) == 0) ||
		(s.Compartments != nil && len(s.Compartments) == 0 && !s.Shared) ||
		(s.Types != nil && len(s.Types) == 0)
}

// Allows reports whether a record of typ in compartment owned by source is in scope,
// leaving Openings out: it is what a request may change. The store applies the
// same rule in SQL (see the store's scope clause), with the openings for reading.
func (s Scope) Allows(typ, compartment, source string) bool {
	if s.All {
		return true
	}
	if s.BaseDenies() || s.Restricted[typ] != nil {
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

// Narrow returns the scope that allows what both s and o allow. The openings of a
// scope survive only a narrowing by the unrestricted scope: a narrower scope
// (one source for conditional matching, one compartment) must not be widened
// again by them.
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
	out := Scope{
		Sources:      intersect(s.Sources, o.Sources),
		Compartments: intersect(s.Compartments, o.Compartments),
		Shared:       (s.Compartments == nil || s.Shared) && (o.Compartments == nil || o.Shared),
		Types:        intersect(s.Types, o.Types),
	}
	// Restrictions of both sides hold: where both restrict a type, a record must
	// match one query of each, which is one of their pairs joined with "&".
	for _, r := range []map[string][]string{s.Restricted, o.Restricted} {
		for typ, qs := range r {
			if out.Restricted == nil {
				out.Restricted = map[string][]string{}
			}
			cur, ok := out.Restricted[typ]
			if !ok {
				out.Restricted[typ] = qs
				continue
			}
			var both []string
			for _, a := range cur {
				for _, b := range qs {
					both = append(both, a+"&"+b)
				}
			}
			out.Restricted[typ] = both
		}
	}
	return out
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

// BreakGlass is an emergency access: a user who may break the glass opens the
// compartments of a patient's records at every source for a limited time, with a
// reason. It is recorded for good and listed in the report of emergency accesses.
type BreakGlass struct {
	// ID names the access; the store fills it in when empty.
	ID string
	// User is the username of who broke the glass.
	User string
	// Patient is the Patient the access was asked for ("Patient/<id>").
	Patient string
	// Compartments are the patient compartments opened: Patient and every
	// record linked to it as the same person.
	Compartments []string
	Reason       string
	Opens        time.Time
	Closes       time.Time
}

// EmergencyAccess is implemented by stores that keep break-the-glass accesses.
type EmergencyAccess interface {
	// BreakGlass records b and opens its compartments to b.User from b.Opens
	// until b.Closes, in one transaction.
	BreakGlass(ctx context.Context, b BreakGlass) (BreakGlass, error)
	// BreakGlassReport lists the accesses opened at or after since, oldest first.
	BreakGlassReport(ctx context.Context, since time.Time) ([]BreakGlass, error)
}
