package smart

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"omnichart/internal/fhir"
)

// Permission letters of SMART v2, in the order a scope must list them.
const permissionOrder = "cruds"

// ResourceScope is one parsed SMART resource scope: patient/Observation.rs?category=laboratory.
type ResourceScope struct {
	// Raw is the scope as requested.
	Raw string
	// Context is "patient", "user" or "system".
	Context string
	// Type is a resource type or "*".
	Type string
	// Perms holds the v2 letters granted ("c", "r", "u", "d", "s"); v1 scopes are
	// translated (read = rs, write = cud, * = cruds).
	Perms string
	// V2 reports v2 syntax.
	V2 bool
	// Params is the v2 search-parameter restriction (after "?"), nil when none.
	Params url.Values
}

// Allows reports whether the scope grants letter on typ.
func (s ResourceScope) Allows(letter byte, typ string) bool {
	return (s.Type == "*" || s.Type == typ) && strings.IndexByte(s.Perms, letter) >= 0
}

// Covers reports whether s grants everything o asks for (used to cut requested
// scopes down to what a client is registered for).
func (s ResourceScope) Covers(o ResourceScope) bool {
	if s.Context != o.Context || (s.Type != "*" && s.Type != o.Type) {
		return false
	}
	for i := range len(o.Perms) {
		if strings.IndexByte(s.Perms, o.Perms[i]) < 0 {
			return false
		}
	}
	return s.Params == nil || s.Params.Encode() == o.Params.Encode()
}

// nonResourceScopes are the SMART scopes that grant no access to records by
// themselves; they ask for identity, launch context or a refresh token.
var nonResourceScopes = []string{"openid", "fhirUser", "profile", "launch", "launch/patient", "launch/encounter",
	"offline_access", "online_access"}

// Scopes is a parsed scope string.
type Scopes struct {
	Resource []ResourceScope
	// Other holds the non-resource scopes asked for (openid, launch/patient...).
	Other []string
}

// Has reports whether a non-resource scope is present.
func (s Scopes) Has(name string) bool { return slices.Contains(s.Other, name) }

// String is the space-separated scope string, as granted.
func (s Scopes) String() string {
	var out []string
	for _, r := range s.Resource {
		out = append(out, r.Raw)
	}
	return strings.Join(append(out, s.Other...), " ")
}

// Contexts lists the distinct contexts of the resource scopes.
func (s Scopes) Contexts() []string {
	var out []string
	for _, r := range s.Resource {
		if !slices.Contains(out, r.Context) {
			out = append(out, r.Context)
		}
	}
	return out
}

// ParseScopes parses a space-separated scope string. An unknown or malformed scope
// is an error naming it: a client must learn that it asked for something this
// server does not grant rather than silently get less.
func ParseScopes(s string) (Scopes, error) {
	var out Scopes
	for _, tok := range strings.Fields(s) {
		if slices.Contains(nonResourceScopes, tok) {
			if !slices.Contains(out.Other, tok) {
				out.Other = append(out.Other, tok)
			}
			continue
		}
		rs, err := ParseResourceScope(tok)
		if err != nil {
			return Scopes{}, err
		}
		out.Resource = append(out.Resource, rs)
	}
	return out, nil
}

// ParseResourceScope parses one resource scope in SMART v1
// (context/Type.read|write|*) or v2 (context/Type.cruds[?param=value&...]) syntax.
// See https://build.fhir.org/ig/HL7/smart-app-launch/scopes-and-launch-context.html.
func ParseResourceScope(tok string) (ResourceScope, error) {
	rs := ResourceScope{Raw: tok}
	body, query, hasQuery := strings.Cut(tok, "?")
	ctx, rest, ok := strings.Cut(body, "/")
	if !ok {
		return rs, fmt.Errorf("scope %q: not a known scope and not of the form context/Type.permissions", tok)
	}
	switch ctx {
	case "patient", "user", "system":
		rs.Context = ctx
	default:
		return rs, fmt.Errorf("scope %q: context %q is not patient, user or system", tok, ctx)
	}
	typ, perms, ok := strings.Cut(rest, ".")
	if !ok || typ == "" || perms == "" {
		return rs, fmt.Errorf("scope %q: want Type.permissions after %q", tok, ctx+"/")
	}
	if typ != "*" && !fhir.R4().IsResourceType(typ) {
		return rs, fmt.Errorf("scope %q: %q is not a FHIR R4 resource type", tok, typ)
	}
	rs.Type = typ
	switch perms {
	case "read":
		rs.Perms = "rs"
	case "write":
		rs.Perms = "cud"
	case "*":
		rs.Perms = permissionOrder
	default:
		// v2: a non-empty subsequence of "cruds", in that order.
		at := 0
		for i := range len(perms) {
			j := strings.IndexByte(permissionOrder[at:], perms[i])
			if j < 0 {
				return rs, fmt.Errorf("scope %q: permissions %q must be letters of %q, each once and in that order", tok, perms, permissionOrder)
			}
			at += j + 1
		}
		rs.Perms, rs.V2 = perms, true
	}
	if hasQuery {
		if !rs.V2 {
			return rs, fmt.Errorf("scope %q: search-parameter restrictions need v2 permissions (e.g. .rs)", tok)
		}
		q, err := url.ParseQuery(query)
		if err != nil || len(q) == 0 {
			return rs, fmt.Errorf("scope %q: the restriction after \"?\" is not a search query", tok)
		}
		for name := range q {
			if name == "" || strings.HasPrefix(name, "_") && name != "_tag" && name != "_security" {
				return rs, fmt.Errorf("scope %q: %q cannot restrict a scope", tok, name)
			}
		}
		rs.Params = q
	}
	return rs, nil
}
