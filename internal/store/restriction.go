package store

import (
	"maps"
	"slices"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir/search"
)

// restrictions compiles the scope's search-parameter restrictions
// (ehr.Scope.Restricted) for resources of typ ("" for every type) on alias r: a
// record of a restricted type must match one of its type's queries, each compiled
// like the parameters of a search of that type, as correlated conditions on r.
func (b *sqlBuilder) restrictions(typ, r string) (string, []any, error) {
	if len(b.scope.Restricted) == 0 {
		return "", nil, nil
	}
	saved := b.correlate
	defer func() { b.correlate = saved }()
	b.correlate = true
	alternatives := func(t string) (string, []any, error) {
		var alts []string
		var args []any
		for _, raw := range b.scope.Restricted[t] {
			q, err := search.ParseString(t, raw)
			if err != nil || q.Cursor != "" || len(q.Params) == 0 {
				return "", nil, ehr.Errorf(ehr.Forbidden, "the scope restriction %s?%s cannot be evaluated", t, raw)
			}
			var conds []string
			for _, p := range q.Params {
				c, a, err := b.param(t, p, r)
				if err != nil {
					return "", nil, ehr.Errorf(ehr.Forbidden, "the scope restriction %s?%s cannot be evaluated: %s", t, raw, ehr.ErrorMessage(err))
				}
				conds = append(conds, c)
				args = append(args, a...)
			}
			alts = append(alts, "("+strings.Join(conds, " AND ")+")")
		}
		if len(alts) == 0 {
			return "1 = 0", nil, nil
		}
		return "(" + strings.Join(alts, " OR ") + ")", args, nil
	}
	if typ != "" {
		if _, ok := b.scope.Restricted[typ]; !ok {
			return "", nil, nil
		}
		return alternatives(typ)
	}
	types := slices.Sorted(maps.Keys(b.scope.Restricted))
	parts := []string{r + ".res_type NOT IN (" + marks(len(types)) + ")"}
	var args []any
	for _, t := range types {
		args = append(args, t)
	}
	for _, t := range types {
		c, a, err := alternatives(t)
		if err != nil {
			return "", nil, err
		}
		parts = append(parts, "("+r+".res_type = ? AND "+c+")")
		args = append(append(args, t), a...)
	}
	return "(" + strings.Join(parts, " OR ") + ")", args, nil
}
