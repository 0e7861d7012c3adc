package smart

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"

	"omnichart/internal/ehr"
)

// Grant is what a verified access token allows, with the facts the policy needs
// that are not in ehr.Principal: the launch context and the sources of the user's
// organization or of the backend client.
type Grant struct {
	Scopes    Scopes
	ClientID  string
	Username  string
	Patient   string
	Encounter string
	// UserSources are the sources of the user's organization (user tokens).
	UserSources []string
	// Org is the user's organization; MayBreakGlass says whether the user may
	// open a patient's records in an emergency (user tokens).
	Org           string
	MayBreakGlass bool
	// ClientSources are the sources a backend client may reach; nil with
	// ClientAllSources false means none.
	ClientSources    []string
	ClientAllSources bool
}

// clone copies g so that changing the copy's lists leaves g as it is.
func (g Grant) clone() Grant {
	g.Scopes.Resource = slices.Clone(g.Scopes.Resource)
	g.Scopes.Other = slices.Clone(g.Scopes.Other)
	g.UserSources = slices.Clone(g.UserSources)
	g.ClientSources = slices.Clone(g.ClientSources)
	return g
}

type grantKey struct{}

// WithGrant returns a context carrying g; the bearer middleware sets it.
func WithGrant(ctx context.Context, g Grant) context.Context {
	return context.WithValue(ctx, grantKey{}, g)
}

// GrantFrom returns the grant of ctx.
func GrantFrom(ctx context.Context) (Grant, bool) {
	g, ok := ctx.Value(grantKey{}).(Grant)
	return g, ok
}

// Policy is the ehr.Policy of a server with SMART authorization: what a request
// may do comes from the scopes of its access token, what it may see from their
// context (patient compartment, the user's organization, the client's sources).
// The trusted in-process principal (importer, command line) is unrestricted;
// anyone else without a grant may do nothing.
type Policy struct {
	// Now is the clock openings are judged by; nil is time.Now.
	Now func() time.Time
	// Public are sources of reference data that holds no patient's record (the
	// EMR software directory): every caller limited to some sources may read
	// them too. They never hold what a caller may write, since a caller writes
	// only as its own source.
	Public []string
}

var _ ehr.Policy = Policy{}

// lettersOf maps an engine action to the SMART v2 permissions it needs. A write
// whose kind is not known yet (ActionWrite: a PUT or PATCH before the engine
// finds whether the resource exists) needs "c" or "u"; the engine asks again with
// ActionCreate or ActionUpdate once it knows.
func lettersOf(action ehr.Action) (letters string, anyOf bool) {
	switch action {
	case ehr.ActionRead:
		return "r", false
	case ehr.ActionSearch:
		return "s", false
	case ehr.ActionDelete:
		return "d", false
	case ehr.ActionCreate:
		return "c", false
	case ehr.ActionUpdate:
		return "u", false
	}
	return "cu", true
}

// Authorize allows action on typ when some unrestricted resource scope grants
// every letter it needs. A system-wide interaction (typ "") needs a wildcard scope
// for reads and searches; a transaction's own check passes when any scope may
// write, since each of its entries is authorized by type afterwards.
func (Policy) Authorize(ctx context.Context, p ehr.Principal, action ehr.Action, typ string) error {
	if p.System {
		return nil
	}
	g, ok := GrantFrom(ctx)
	if !ok {
		return ehr.Errorf(ehr.Forbidden, "no access token grants this request")
	}
	if action == ehr.ActionBreakGlass {
		if g.Username == "" || !g.MayBreakGlass {
			return ehr.Errorf(ehr.Forbidden, "this user may not break the glass")
		}
		return nil
	}
	letters, anyOf := lettersOf(action)
	granted := 0
	for i := range len(letters) {
		if g.allows(letters[i], typ, action == ehr.ActionWrite && typ == "") {
			granted++
		}
	}
	if granted == len(letters) || (anyOf && granted > 0) {
		return nil
	}
	what := typ
	if what == "" {
		what = "all resource types"
	}
	return ehr.Errorf(ehr.Forbidden, "the granted scopes (%s) do not allow %s on %s", g.Scopes.String(), action, what)
}

func (g Grant) allows(letter byte, typ string, anyType bool) bool {
	for _, s := range g.Scopes.Resource {
		if s.Params != nil && (s.Type == "*" || (letter != 'r' && letter != 's')) {
			// A restriction is compiled into the queries of reads and searches
			// of its type (see Scope); on every type, or for writing, it would
			// need the record tested before it is written, so such a scope
			// grants nothing rather than more than it says.
			continue
		}
		if strings.IndexByte(s.Perms, letter) >= 0 && (anyType || s.Type == "*" || (typ != "" && s.Type == typ)) {
			return true
		}
	}
	return false
}

// Scope turns the grant into the conditions the store puts into every query:
// patient scopes limit to the launch patient's compartment plus shared resources,
// user scopes to the sources of the user's organization, system scopes to the
// client's sources; scopes of several contexts narrow each other. A user's token
// is always limited to the user's organization, whatever its scopes. The types
// are those some unrestricted scope names.
func (pol Policy) Scope(ctx context.Context, p ehr.Principal) (ehr.Scope, error) {
	if p.System {
		return ehr.Unrestricted(), nil
	}
	g, ok := GrantFrom(ctx)
	if !ok {
		return ehr.Scope{}, nil
	}
	var types []string
	wildcard := false
	open := map[string]bool{} // types some unrestricted scope lets read or search
	restricted := map[string][]string{}
	for _, s := range g.Scopes.Resource {
		if s.Params != nil {
			if s.Type != "*" && strings.ContainsAny(s.Perms, "rs") {
				restricted[s.Type] = append(restricted[s.Type], s.Params.Encode())
				if !slices.Contains(types, s.Type) {
					types = append(types, s.Type)
				}
			}
			continue
		}
		if s.Type == "*" {
			wildcard = true
		} else if !slices.Contains(types, s.Type) {
			types = append(types, s.Type)
		}
		if strings.ContainsAny(s.Perms, "rs") {
			open[s.Type] = true
		}
	}
	for typ := range restricted {
		if open[typ] || open["*"] {
			delete(restricted, typ)
		}
	}
	if !wildcard && len(types) == 0 {
		return ehr.Scope{}, nil
	}
	sort.Strings(types)
	scope := ehr.Unrestricted()
	if !wildcard {
		scope = ehr.Scope{Types: types}
	}
	if len(restricted) > 0 {
		// A type read only through restricted scopes is seen only where one of
		// their queries matches (ehr.Scope.Restricted).
		scope = scope.Narrow(ehr.Scope{Restricted: restricted})
	}
	for _, c := range g.Scopes.Contexts() {
		switch c {
		case "patient":
			if g.Patient == "" {
				return ehr.Scope{}, nil
			}
			scope = scope.Narrow(ehr.Scope{Compartments: []string{"Patient/" + g.Patient}, Shared: true})
		case "user":
			// Narrowed below for every user token.
		case "system":
			if !g.ClientAllSources {
				scope = pol.withPublic(scope.Narrow(ehr.Scope{Sources: withoutIndex(g.ClientSources)}))
			}
		}
	}
	if g.Username != "" {
		scope = scope.Narrow(ehr.Scope{Sources: withoutIndex(g.UserSources)})
		scope = pol.withPublic(scope)
		if scope.Compartments == nil {
			// The EMR view widened by what patients' Consents share with the
			// user's organization and by the user's break-the-glass accesses.
			now := time.Now
			if pol.Now != nil {
				now = pol.Now
			}
			scope.Openings = &ehr.Openings{Org: g.Org, User: g.Username, At: now().UnixMicro()}
		}
	}
	return scope, nil
}

// withPublic lets a scope limited to some sources read the public sources too
// (ehr.Scope.ReadSources: for reading only).
func (pol Policy) withPublic(scope ehr.Scope) ehr.Scope {
	if scope.All || scope.Sources == nil || len(pol.Public) == 0 {
		return scope
	}
	scope.ReadSources = slices.Clone(pol.Public)
	return scope
}

// IndexSource is the source that owns the master patient index's records
// (internal/mpi): Persons and match-review Tasks. They name source Patients of
// every source, so only a caller that may see every source sees them; a caller
// limited to some sources reaches the index through what filters by its scope
// ($match, the review queue of internal/mpi, $everything?_mdm=true).
const IndexSource = "urn:omnichart:source:mpi"

// withoutIndex is sources without IndexSource, never nil.
func withoutIndex(sources []string) []string {
	out := []string{}
	for _, s := range sources {
		if s != IndexSource {
			out = append(out, s)
		}
	}
	return out
}
