package store

import (
	"maps"
	"slices"
	"strings"

	"omnichart/internal/ehr"
)

// scopeClause compiles an access scope into a condition on the resources or
// resource_versions alias a (which has compartment, res_type and source columns).
// It returns "" for an unrestricted scope. Every read path ANDs it into its WHERE
// clause, so that what the scope excludes is never selected, counted, included or
// matched; see ehr.Scope for the rule, which ehr.Scope.Allows states in Go.
func scopeClause(s ehr.Scope, a string) (string, []any) {
	c, args := openScopeClause(s, a)
	if len(s.Restricted) == 0 || c == "1 = 0" {
		return c, args
	}
	// A path that cannot evaluate a restriction query leaves its types out (see
	// ehr.Scope.Restricted); searches compile them (sqlBuilder.restrictions).
	types := slices.Sorted(maps.Keys(s.Restricted))
	not := a + ".res_type NOT IN (" + marks(len(types)) + ")"
	for _, t := range types {
		args = append(args, t)
	}
	if c == "" {
		return not, args
	}
	return "(" + c + " AND " + not + ")", args
}

// openScopeClause is scopeClause without the restricted types.
func openScopeClause(s ehr.Scope, a string) (string, []any) {
	if s.All {
		return "", nil
	}
	if s.Denies() {
		return "1 = 0", nil
	}
	base, args := baseClause(s, a)
	if s.Openings == nil || s.Compartments != nil {
		return base, args
	}
	open, oargs := openingsClause(*s.Openings, a)
	if s.Types != nil {
		open = "(" + a + ".res_type IN (" + marks(len(s.Types)) + ") AND " + open + ")"
		targs := make([]any, 0, len(s.Types)+len(oargs))
		for _, t := range s.Types {
			targs = append(targs, t)
		}
		oargs = append(targs, oargs...)
	}
	if s.BaseDenies() {
		return open, oargs
	}
	return "(" + base + " OR " + open + ")", append(args, oargs...)
}

// baseClause compiles the scope without its openings.
func baseClause(s ehr.Scope, a string) (string, []any) {
	if s.BaseDenies() {
		return "1 = 0", nil
	}
	var conds []string
	var args []any
	in := func(col string, values []string) {
		conds = append(conds, a+"."+col+" IN ("+marks(len(values))+")")
		for _, v := range values {
			args = append(args, v)
		}
	}
	if s.Types != nil {
		in("res_type", s.Types)
	}
	if s.Sources != nil {
		in("source", s.Sources)
	}
	if s.Compartments != nil {
		var alts []string
		if len(s.Compartments) > 0 {
			alts = append(alts, a+".compartment IN ("+marks(len(s.Compartments))+")")
			for _, c := range s.Compartments {
				args = append(args, c)
			}
		}
		if s.Shared {
			alts = append(alts, a+".compartment NOT LIKE 'Patient/%'")
		}
		conds = append(conds, "("+strings.Join(alts, " OR ")+")")
	}
	if len(conds) == 0 {
		return "1 = 1", nil
	}
	return "(" + strings.Join(conds, " AND ") + ")", args
}

// openingsClause is the condition that a record of alias a lies in a compartment
// opened to the caller at o.At (see access_openings in docs/security.md): by a
// break-the-glass access of the user, by a Consent permitting the caller's
// organization by name, or by a Consent permitting every organization that does
// not deny the caller's organization by name.
func openingsClause(o ehr.Openings, a string) (string, []any) {
	const open = `SELECT compartment FROM access_openings WHERE grantee = ? AND kind = ? AND opens <= ? AND closes > ?`
	c := a + ".compartment IN (" + open + ") OR " + a + ".compartment IN (" + open + ") OR (" +
		a + ".compartment IN (" + open + ") AND " + a + ".compartment NOT IN (" + open + "))"
	user, org := "user:"+o.User, "org:"+o.Org
	return "(" + c + ")", []any{
		user, openingBreakGlass, o.At, o.At,
		org, openingPermit, o.At, o.At,
		everyOrganization, openingPermit, o.At, o.At,
		org, openingDeny, o.At, o.At,
	}
}

// marks returns n comma-separated placeholders.
func marks(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// andScope appends the scope condition on alias a to a WHERE clause.
func andScope(where string, args []any, s ehr.Scope, a string) (string, []any) {
	c, cargs := scopeClause(s, a)
	if c == "" {
		return where, args
	}
	return where + " AND " + c, append(args, cargs...)
}
