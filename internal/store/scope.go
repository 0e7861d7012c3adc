package store

import (
	"strings"

	"omnichart/internal/ehr"
)

// scopeClause compiles an access scope into a condition on the resources or
// resource_versions alias a (which has compartment, res_type and source columns).
// It returns "" for an unrestricted scope. Every read path ANDs it into its WHERE
// clause, so that what the scope excludes is never selected, counted, included or
// matched; see ehr.Scope for the rule, which ehr.Scope.Allows states in Go.
func scopeClause(s ehr.Scope, a string) (string, []any) {
	if s.All {
		return "", nil
	}
	if s.Denies() {
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
	return "(" + strings.Join(conds, " AND ") + ")", args
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
