package store

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// A date range without another selective condition, such as a week of
// encounters (Encounter?date=ge2019-03-04&date=lt2019-03-11), is two conditions
// that each match most of the type: every encounter that ends after the week's
// start, and every one that starts before its end. Each collects its matches
// before they are intersected, which at a million resources took half a second
// to a second.
//
// When the parameter holds at most one value per resource (Encounter.period,
// Observation.effective), both conditions must hold on the same index row, so
// they become one condition on index_date. That alone does not narrow an index
// scan (low < end of week is still most rows), but a row of bounded duration
// does: a row whose range is at most shortDateRow long and that ends after the
// week's start begins after start - shortDateRow. So the one condition is read
// in two parts, each a narrow index range:
//
//   - rows at most shortDateRow long, by index_date_low between the bounds the
//     conditions put on the start (dateLowBounds);
//   - the longer ones (open-ended periods, years-long episodes), few by nature,
//     by the partial index index_date_long (migration 0017), which holds only
//     them.
//
// Parameters that can hold several values on one resource keep one condition
// each: there each condition may be met by a different value.

// shortDateRow is the longest range a row may cover to be read through
// index_date_low between the bounds; longer rows are in index_date_long. It is
// written into the SQL as a literal, which is what lets both engines use the
// partial index (its WHERE must appear in the query as written in the index).
var shortDateRow = strconv.FormatInt(shortDateRowMicros, 10)

const shortDateRowMicros int64 = 30 * 24 * 60 * 60 * 1_000_000 // 30 days in µs, as migration 0017 writes it

// groupDateConditions turns the grouping off, for tests that compare with the
// conditions taken one by one.
var groupDateConditions = func() *atomic.Bool { var b atomic.Bool; b.Store(true); return &b }()

// dateGroups finds the parameters of a search that are two or more plain
// conditions (no modifier, one value each, well formed) on one single-valued
// date parameter of typ: for each such parameter, the positions of its
// conditions in params, the first one first.
func (b *sqlBuilder) dateGroups(typ string, params []search.Param) map[string][]int {
	if typ == "" || !groupDateConditions.Load() {
		return nil
	}
	var groups map[string][]int
	for k, p := range params {
		if p.Modifier != "" || len(p.Values) != 1 || strings.Contains(p.Key(), ".") || strings.HasPrefix(p.Name, "_") {
			continue
		}
		d, ok := b.reg.Lookup(typ, p.Name)
		if !ok || d.Type != "date" || !singleValued(typ, d.Expression) {
			continue
		}
		if _, _, err := b.dateCond(p.Values[0], "i.low", "i.high"); err != nil {
			continue // reported by the parameter's own condition
		}
		if groups == nil {
			groups = map[string][]int{}
		}
		groups[p.Name] = append(groups[p.Name], k)
	}
	for name, ks := range groups {
		if len(ks) < 2 {
			delete(groups, name)
		}
	}
	return groups
}

// dateGroup is the one condition on alias r of the date conditions values on
// the single-valued parameter d of typ (see above).
func (b *sqlBuilder) dateGroup(typ string, d *search.Definition, values []string, r string) (string, []any, error) {
	var conds []string
	var cargs []any
	lo, hi := MinRange, MaxRange
	for _, v := range values {
		c, a, err := b.dateCond(v, "i.low", "i.high")
		if err != nil {
			return "", nil, err
		}
		conds = append(conds, "("+c+")")
		cargs = append(cargs, a...)
		l, h := b.dateLowBounds(v)
		lo, hi = max(lo, l), min(hi, h)
	}
	all := strings.Join(conds, " AND ")
	if b.correlate || (lo == MinRange && hi == MaxRange) {
		sql, args := b.inIndex(r, "index_date", typ, d.Code, all, cargs, false)
		return sql, args, nil
	}
	sel := "SELECT i.compartment, i.res_type, i.res_id FROM index_date i"
	short := sel + " WHERE i.res_type = ? AND i.param = ? AND i.high <= i.low + " + shortDateRow + " AND i.low >= ? AND i.low < ? AND " + all
	long := sel + b.indexedBy("index_date_long") + " WHERE i.res_type = ? AND i.param = ? AND i.high > i.low + " + shortDateRow + " AND " + all
	args := append([]any{typ, d.Code, lo, hi}, cargs...)
	args = append(append(args, typ, d.Code), cargs...)
	// SQLite looks the rows of a list up by key only when the list is one
	// SELECT, not a compound one: the union is wrapped in one.
	return "(" + r + ".compartment, " + r + ".res_type, " + r + ".res_id) IN (SELECT * FROM (" + short + " UNION ALL " + long + ") AS d)", args, nil
}

// dateLowBounds are bounds [lo, hi) that a row of at most shortDateRow meeting
// the date condition v has on its start (low), whatever its end; MinRange and
// MaxRange where the condition sets none. They follow dateCond's conditions,
// for rows with low < high and high <= low + shortDateRow.
func (b *sqlBuilder) dateLowBounds(v string) (int64, int64) {
	prefix, value := splitPrefix(v)
	lo, hi, err := DateRange(value)
	if err != nil {
		return MinRange, MaxRange
	}
	switch prefix {
	case "eq": // low >= lo AND high <= hi
		return lo, hi
	case "gt": // high > hi
		return hi - shortDateRowMicros, MaxRange
	case "ge": // high > hi OR (low >= lo AND high <= hi)
		return min(hi-shortDateRowMicros, lo), MaxRange
	case "lt": // low < lo
		return MinRange, lo
	case "le": // low < lo OR (low >= lo AND high <= hi)
		return MinRange, hi
	case "sa": // low >= hi
		return hi, MaxRange
	case "eb": // high <= lo
		return MinRange, lo
	case "ap": // low < hi + delta AND high > lo - delta
		delta := b.approxDelta(lo)
		return lo - delta - shortDateRowMicros, hi + delta
	}
	return MinRange, MaxRange // ne: outside a range, no bound
}

// singlePath matches an expression that is one path of elements from the
// resource, optionally cast: "Encounter.period", "(RiskAssessment.occurrence as
// dateTime)", "Condition.onset.as(dateTime)".
var singlePath = regexp.MustCompile(`^\(?([A-Z][A-Za-z]+(?:\.[a-z][A-Za-z]*)+)(?: as [A-Za-z]+|\.as\([A-Za-z]+\))?\)?$`)

var singleValuedCache sync.Map // typ + " " + expr -> bool

// singleValued reports whether the expression of a parameter of typ gives at
// most one value on any resource: one path whose every element occurs at most
// once in the R4 definitions. Anything else (unions, functions, repeating
// elements) counts as several.
func singleValued(typ, expr string) bool {
	key := typ + " " + expr
	if v, ok := singleValuedCache.Load(key); ok {
		return v.(bool)
	}
	one := pathOccursOnce(typ, strings.TrimSpace(expr))
	singleValuedCache.Store(key, one)
	return one
}

func pathOccursOnce(typ, expr string) bool {
	m := singlePath.FindStringSubmatch(expr)
	if m == nil {
		return false
	}
	segs := strings.Split(m[1], ".")
	if segs[0] != typ {
		return false
	}
	model := fhir.R4()
	ctx := fhir.TypeContext(typ)
	for k, seg := range segs[1:] {
		t, ok := model.Type(ctx.Type)
		if !ok {
			return false
		}
		e := t.Elements[ctx.Path+"."+seg]
		if e == nil {
			e = t.Elements[ctx.Path+"."+seg+"[x]"]
		}
		if e == nil || e.Many {
			return false
		}
		if k < len(segs)-2 {
			if len(e.Types) != 1 {
				return false
			}
			ctx = model.ChildContext(ctx, e, e.Types[0])
		}
	}
	return true
}
