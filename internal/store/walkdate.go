package store

import (
	"fmt"
	"strings"
	"sync/atomic"

	"omnichart/internal/fhir/search"
)

// A population search sorted by a date (Observation?code=X&_sort=-date) has to
// compute the sort key of every match before its first page: the key is the
// latest (or, ascending, earliest) value of the resource's index rows, which no
// index orders the matches by. When the conditions are broad, the page lies
// among the resources whose dates come first, so the store walks the date
// index instead: it takes the dateWalkWindow index rows first in the sort's
// direction (from the cursor on, when paging), and checks the resources they
// belong to against every condition through the owner indexes, as the walk of
// walk.go does with the type-and-id order.
//
// The window is a range of the sort key, [its first row's date, the
// dateWalkWindow-th row's date] (ties at that date included), and a resource's
// key lies in it exactly when one of its rows does: the latest of its values is
// at or after the bound when one of them is, and every resource outside the
// window sorts after every resource in it. So when the window holds a full page
// and one more, that is the page; when it does not (conditions rarely met
// together, or the end of the dates, after which come the resources without
// one), the usual page query runs. The probes of walk.go decide first whether
// the conditions are broad enough for a walk to pay; both engines walk, since
// neither planner can read a page in the order of a key computed per resource.
//
// dateWalkWindow is 2,000 rows; tests make it smaller to walk many windows.
var dateWalkWindow = func() *atomic.Int64 { var n atomic.Int64; n.Store(2000); return &n }()

// dateWalkable reports whether a search of q, sorted by keys, may walk its date
// index: one type, no compartment or selective parameter, one sort key that is
// a date parameter, forward paging, and only plain index conditions (see
// walkable).
func (t *tx) dateWalkable(q *search.Query, driver int, keys []sortKey, cur *searchCursor) bool {
	if distributed(t.s.dialect) || q.Type == "" || q.Compartment != "" || driver >= 0 {
		return false
	}
	if len(keys) != 1 || len(q.Sort) != 1 || len(q.Params) > 4 || (cur != nil && cur.Backward) {
		return false
	}
	if d, ok := t.s.registry.Lookup(q.Type, q.Sort[0].Name); !ok || d.Type != "date" {
		return false
	}
	for _, p := range q.Params {
		if !t.plainIndexParam(q.Type, p) {
			return false
		}
	}
	return true
}

// buildDateWalk builds the walking page query of q along its sort's date index,
// with the probes that decide whether to use it. The arguments are those of
// buildWalk, and keys the page query's one sort key.
func (t *tx) buildDateWalk(base *sqlBuilder, q *search.Query, where []string, args []any, params []walkCondition,
	keys []sortKey, cols, order, outer []string, count int, cur *searchCursor) (*walkPlan, error) {
	w, where, args, err := walkConditions(base, q, where, args, params)
	if w == nil || err != nil {
		return nil, err
	}
	d, _ := t.s.registry.Lookup(q.Type, q.Sort[0].Name)
	// The key of an ascending sort is the earliest low, of a descending one the
	// latest high (sortKeys): the window is read from the index on that column.
	col, dir, inside, from := "low", "", " <= ", " >= "
	if q.Sort[0].Descending {
		col, dir, inside, from = "high", " DESC", " >= ", " <= "
	}
	rows := "w.res_type = ? AND w.param = ?"
	rowArgs := []any{q.Type, d.Code}
	if cur != nil {
		// Paging on: the window starts at the last page's key (ties with it
		// are sorted by id, which the keyset condition below does).
		rows += " AND w." + col + from + "?"
		rowArgs = append(rowArgs, cur.Keys[0])
		kw, kargs := keysetCondition(keys, cur)
		where = append(where, kw)
		args = append(args, kargs...)
	}
	// No bound (fewer rows left than the window) selects nothing, and the usual
	// query then runs: the resources without a date come after the last one.
	bound := "(SELECT w." + col + " FROM index_date w WHERE " + rows + " ORDER BY w." + col + dir +
		fmt.Sprintf(" LIMIT 1 OFFSET %d)", dateWalkWindow.Load()-1)
	where = append(where, "(r.compartment, r.res_type, r.res_id) IN (SELECT w.compartment, w.res_type, w.res_id FROM index_date w WHERE "+
		rows+" AND w."+col+inside+bound+")")
	args = append(append(args, rowArgs...), rowArgs...)
	w.query = fmt.Sprintf("WITH page AS MATERIALIZED (SELECT %s FROM resources r WHERE %s ORDER BY %s LIMIT %d) SELECT * FROM page ORDER BY %s",
		strings.Join(cols, ", "), strings.Join(where, " AND "), strings.Join(order, ", "), count+1, strings.Join(outer, ", "))
	// The selected columns come first in the query: the sort key's arguments.
	w.args = append(append([]any{}, keys[0].args...), args...)
	return w, nil
}
