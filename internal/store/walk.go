package store

import (
	"context"
	"fmt"
	"strings"

	"omnichart/internal/fhir/search"
)

// A population search (Observation?code=X, Patient?family=Y) has no condition
// that selects few resources by construction, so its page query collects every
// index row that matches each condition before it can return the first page:
// its cost grows with the data even when a page of twenty is asked. When every
// condition matches many resources, walking the type's resources in the page's
// order (type and id) and checking each candidate against every condition
// through the owner indexes finds the page after about count/p candidates,
// where p is the share of resources that match, whatever the size of the store.
//
// Which way is cheaper depends on how many rows match. PostgreSQL's planner
// knows from its statistics and chooses well; SQLite's keeps none (see
// Dialect.Analyze), so on it the store decides for itself, in two steps:
//
//  1. For each condition it counts the entries of its value index, stopping
//     at walkProbeCap (walkProbeCapListed for a string). A condition under
//     the cap is selective: the page query as usual reads at most that many
//     rows for it.
//  2. Otherwise it walks at most walkWindow candidates. When they hold a full
//     page (count+1 matches, the one past the page saying there is a next), that
//     is the page; when not (conditions that are broad one by one but rarely
//     met together), the usual page query runs.
//
// The walk applies to searches of one type without _sort, compartment or a
// selective parameter, whose parameters are plain index conditions (no chain,
// _has, composite, :missing or :not), which covers the population searches a
// clinician or a report runs most.
const (
	walkProbeCap = 200
	// walkProbeCapListed is the cap of a string condition, whose value index
	// lists its matches' ids by itself (migration 0019, see sqlBuilder.idKeyed):
	// collecting them costs a fraction of reading index rows, so walking pays
	// only past more of them.
	walkProbeCapListed = 1000
	walkWindow         = 2000
)

// walkPlan is the walking form of a search's page query, with the probes that
// decide whether to use it.
type walkPlan struct {
	probes []walkProbe
	query  string
	args   []any
}

// walkProbe counts the index rows one condition matches, up to its cap.
type walkProbe struct {
	query string
	args  []any
	cap   int
}

// walkable reports whether a search of q may walk: see the comment above.
func (t *tx) walkable(q *search.Query, driver int, keys []sortKey) bool {
	if !plansByShape(t.s.dialect) || distributed(t.s.dialect) {
		return false
	}
	if q.Type == "" || q.Compartment != "" || driver >= 0 || len(keys) > 0 || len(q.Params) == 0 || len(q.Params) > 4 {
		return false
	}
	for _, p := range q.Params {
		if !t.plainIndexParam(q.Type, p) {
			return false
		}
	}
	return true
}

// plainIndexParam reports a parameter that is one condition on one index table.
func (t *tx) plainIndexParam(typ string, p search.Param) bool {
	if strings.HasPrefix(p.Name, "_") || strings.Contains(p.Key(), ".") {
		return false
	}
	switch p.Modifier {
	case "", "exact", "contains", "text", "of-type", "identifier", "above", "below":
	default:
		return false
	}
	d, ok := t.s.registry.Lookup(typ, p.Name)
	if !ok {
		return false
	}
	_, ok = tableOf[d.Type]
	return ok
}

// walkCondition is one condition of a search and its arguments.
type walkCondition struct {
	sql  string
	args []any
}

// buildWalk builds the walking page query of q and its probes. base is the
// builder of the usual query, whose settings (scope, clock) it copies; where and
// args are the usual query's conditions on r that do not come from parameters
// (type, deletion, scope), and params its condition of each parameter, each
// collecting the parameter's matches (IN), which bounded become the probes.
func (t *tx) buildWalk(base *sqlBuilder, q *search.Query, where []string, args []any, params []walkCondition,
	cols, order, outer []string, count int, cur *searchCursor, backward bool) (*walkPlan, error) {
	w, where, args, err := walkConditions(base, q, where, args, params)
	if w == nil || err != nil {
		return nil, err
	}
	// The window: the next walkWindow resources of the type in the page's
	// order, bounded by the id walkWindow rows on (none when fewer remain; the
	// ids' characters all sort before "~"). The page query walks the type-and-id
	// index in order over the window and stops at the page's end.
	dir, op, bound, edge := "", " > ", " <= ", "'~'"
	if backward {
		dir, op, bound, edge = " DESC", " < ", " >= ", "''"
	}
	window := "SELECT c.res_id FROM resources c WHERE c.res_type = ?"
	winArgs := []any{q.Type}
	if cur != nil {
		window += " AND c.res_id" + op + "?"
		winArgs = append(winArgs, cur.ID)
		kw, kargs := keysetCondition(nil, cur)
		where = append(where, kw)
		args = append(args, kargs...)
	}
	window += fmt.Sprintf(" ORDER BY c.res_id%s LIMIT 1 OFFSET %d", dir, walkWindow-1)
	where = append(where, "r.res_id"+bound+"COALESCE(("+window+"), "+edge+")")
	args = append(args, winArgs...)
	w.query = fmt.Sprintf("WITH page AS MATERIALIZED (SELECT %s FROM resources r WHERE %s ORDER BY %s LIMIT %d) SELECT * FROM page ORDER BY %s",
		strings.Join(cols, ", "), strings.Join(where, " AND "), strings.Join(order, ", "), count+1, strings.Join(outer, ", "))
	w.args = args
	return w, nil
}

// walkConditions starts the walk of q: each parameter's usual condition,
// bounded, becomes a probe, and its correlated form (probing the owner index of
// each candidate) is added to where. It returns a nil plan when a condition is
// not one index condition after all.
func walkConditions(base *sqlBuilder, q *search.Query, where []string, args []any, params []walkCondition) (*walkPlan, []string, []any, error) {
	w := &walkPlan{}
	walk := *base
	walk.aliasN = 0
	walk.correlate, walk.probe = true, true
	walk.within = nil
	for k, p := range q.Params {
		// The usual condition is "r.res_id IN (SELECT i.res_id FROM index_x i
		// WHERE ...)", or with the compartment and type in the match where the
		// ids alone are not the key (see inIndex): its subquery, bounded, is
		// the probe. It selects a constant, so that the engine counts the
		// entries of the value index without reading the rows they point at.
		sub, ok := cutIndexMatch(params[k].sql)
		if !ok || !strings.HasSuffix(sub, ")") {
			return nil, nil, nil, nil
		}
		limit := walkProbeCap
		if strings.HasPrefix(sub, "index_string ") && base.idKeyed {
			limit = walkProbeCapListed
		}
		w.probes = append(w.probes, walkProbe{
			query: fmt.Sprintf("SELECT count(*) FROM (SELECT 1 FROM %s LIMIT %d) AS p", strings.TrimSuffix(sub, ")"), limit),
			args:  params[k].args,
			cap:   limit,
		})
		c, a, err := walk.param(q.Type, p, "r")
		if err != nil {
			return nil, nil, nil, err
		}
		where = append(where, c)
		args = append(args, a...)
	}
	return w, where, args, nil
}

// cutIndexMatch returns what follows "FROM " in a condition of inIndex's
// collecting form, in either of its forms.
func cutIndexMatch(cond string) (string, bool) {
	if sub, ok := strings.CutPrefix(cond, "r.res_id IN (SELECT i.res_id FROM "); ok {
		return sub, true
	}
	return strings.CutPrefix(cond, "(r.compartment, r.res_type, r.res_id) IN (SELECT i.compartment, i.res_type, i.res_id FROM ")
}

// walkPays runs the probes: the walk pays when no condition is selective.
func (t *tx) walkPays(ctx context.Context, w *walkPlan) (bool, error) {
	for _, p := range w.probes {
		var n int
		if err := t.queryRow(ctx, p.query, p.args...).Scan(&n); err != nil {
			return false, fmt.Errorf("search: %w", err)
		}
		if n < p.cap {
			return false, nil
		}
	}
	return true, nil
}
