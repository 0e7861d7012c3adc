package smart

import (
	"context"
	"slices"
	"sort"
	"strings"

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
	// Organization is the user's organization (user tokens), for the audit log.
	Organization string
	// ClientSources are the sources a backend client may reach; nil with
	// ClientAllSources false means none.
	ClientSources    []string
	ClientAllSources bool
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
type Policy struct{}

var _ ehr.Policy = Policy{}

// lettersOf maps an engine action to the SMART v2 permission it needs. A write is
// a create or an update, which the engine does not tell apart here, so it needs
// both "c" and "u" (see docs/security.md).
func lettersOf(action ehr.Action) string {
	switch action {
	case ehr.ActionRead:
		return "r"
	case ehr.ActionSearch:
		return "s"
	case ehr.ActionDelete:
		return "d"
	}
	return "cu"
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
	letters := lettersOf(action)
	for i := range len(letters) {
		if !g.allows(letters[i], typ, action == ehr.ActionWrite && typ == "") {
			what := typ
			if what == "" {
				what = "all resource types"
			}
			return ehr.Errorf(ehr.Forbidden, "the granted scopes (%s) do not allow %s on %s", g.Scopes.String(), action, what)
		}
	}
	return nil
}

func (g Grant) allows(letter byte, typ string, anyType bool) bool {
	for _, s := range g.Scopes.Resource {
		if s.Params != nil {
			// Restrictions are not compiled into queries yet: a restricted
			// scope grants nothing rather than more than it says.
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
func (Policy) Scope(ctx context.Context, p ehr.Principal) (ehr.Scope, error) {
	if p.System {
		return ehr.Unrestricted(), nil
	}
	g, ok := GrantFrom(ctx)
	if !ok {
		return ehr.Scope{}, nil
	}
	var types []string
	wildcard := false
	for _, s := range g.Scopes.Resource {
		if s.Params != nil {
			continue
		}
		if s.Type == "*" {
			wildcard = true
		} else if !slices.Contains(types, s.Type) {
			types = append(types, s.Type)
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
				scope = scope.Narrow(ehr.Scope{Sources: nonNil(g.ClientSources)})
			}
		}
	}
	if g.Username != "" {
		scope = scope.Narrow(ehr.Scope{Sources: nonNil(g.UserSources)})
	}
	return scope, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
