package search

import (
	"fmt"
	"sort"
	"strings"
)

// Limits bound what one search may ask for, so that no query costs the server more
// than a clinical search needs. They are checked by CheckLimits on the parsed query,
// before any SQL is built: the cost of a query grows with the nesting of its chains
// and _has (SQLite plans nested subqueries in time exponential in their depth, and
// does not stop planning when the request is cancelled), with the resource types a
// chain may point to, and with the number of parameters, values and sort keys.
//
// A zero field takes its value from DefaultLimits. Each limit has a name
// (LimitDepth, ...), which the server's setting and docs/limits.md share and which
// the error of a search that passes it carries.
type Limits struct {
	// Depth bounds the links of a chain (subject.organization.name has two) and the
	// levels of nested _has of one parameter, counted together.
	Depth int
	// Params bounds the search parameters of one search; each occurrence counts,
	// result parameters (_sort, _count, _include, ...) do not.
	Params int
	// Values bounds the OR values (a,b,c) of one parameter.
	Values int
	// TotalValues bounds the values of all parameters together, each counted once
	// for every resource type its chain or _has searches.
	TotalValues int
	// Joins bounds the resource types the chains and _has of one search go
	// through: each link counts once for every type it may point to, so
	// Provenance?target.name (target may be any resource) counts every type that
	// has a name parameter, and target:Patient.name counts one.
	Joins int
	// SortKeys bounds the keys of _sort.
	SortKeys int
	// Includes bounds the _include and _revinclude values (":iterate" ones too).
	Includes int
	// Included bounds the resources _include and _revinclude add to one page; the
	// store checks it as it reads them.
	Included int
	// ValueLength bounds the bytes of one search value.
	ValueLength int
}

// The names of the limits.
const (
	LimitDepth       = "search-max-depth"
	LimitParams      = "search-max-params"
	LimitValues      = "search-max-values"
	LimitTotalValues = "search-max-total-values"
	LimitJoins       = "search-max-joins"
	LimitSortKeys    = "search-max-sort-keys"
	LimitIncludes    = "search-max-includes"
	LimitIncluded    = "search-max-included"
	LimitValueLength = "search-max-value-length"
)

// DefaultLimits are generous for clinical use: a patient's data is found with
// chains and _has one or two links deep, a handful of parameters and sort keys,
// and value lists of tens of codes.
var DefaultLimits = Limits{
	Depth:       3,
	Params:      20,
	Values:      100,
	TotalValues: 1000,
	Joins:       32,
	SortKeys:    5,
	Includes:    10,
	Included:    1000,
	ValueLength: 4096,
}

// WithDefaults returns l with every zero field set from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.Depth, d.Depth)
	set(&l.Params, d.Params)
	set(&l.Values, d.Values)
	set(&l.TotalValues, d.TotalValues)
	set(&l.Joins, d.Joins)
	set(&l.SortKeys, d.SortKeys)
	set(&l.Includes, d.Includes)
	set(&l.Included, d.Included)
	set(&l.ValueLength, d.ValueLength)
	return l
}

// LimitError is a search that asks for more than a limit allows.
type LimitError struct {
	// Limit is the name of the limit (LimitDepth, ...).
	Limit string
	// Max is the limit's value.
	Max int
	// Param is the parameter that passed it as written (shortened), or "" when
	// the search as a whole did.
	Param string
	// What says what passed the limit, without any search value (which may
	// identify a patient).
	What string
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s; the limit is %d (%s)", e.What, e.Max, e.Limit)
}

// CheckLimits returns a *LimitError when q asks for more than l allows, before any
// of it is run. It reads only the query and the registry, in time bounded by the
// limits themselves: the nesting is checked before the chains are followed, and
// following them stops once they reach more types than allowed.
func (r *Registry) CheckLimits(q *Query, l Limits) error {
	l = l.WithDefaults()
	if n := len(q.Params); n > l.Params {
		return &LimitError{Limit: LimitParams, Max: l.Params, What: fmt.Sprintf("the search has %d parameters", n)}
	}
	if n := len(q.Sort); n > l.SortKeys {
		return &LimitError{Limit: LimitSortKeys, Max: l.SortKeys, Param: "_sort", What: fmt.Sprintf("_sort has %d keys", n)}
	}
	if n := len(q.Include) + len(q.RevInclude) + len(q.IncludeIterate) + len(q.RevIncludeIterate); n > l.Includes {
		return &LimitError{Limit: LimitIncludes, Max: l.Includes, What: fmt.Sprintf("the search has %d _include and _revinclude values", n)}
	}
	for _, p := range q.Params {
		key := shorten(p.Key())
		if n := len(p.Values); n > l.Values {
			return &LimitError{Limit: LimitValues, Max: l.Values, Param: key, What: fmt.Sprintf("parameter %q has %d values", key, n)}
		}
		for _, v := range p.Values {
			if len(v) > l.ValueLength {
				return &LimitError{Limit: LimitValueLength, Max: l.ValueLength, Param: key,
					What: fmt.Sprintf("a value of parameter %q is %d bytes long", key, len(v))}
			}
		}
		if d := Depth(p); d > l.Depth {
			return &LimitError{Limit: LimitDepth, Max: l.Depth, Param: key,
				What: fmt.Sprintf("parameter %q goes %d links deep through chains and _has", key, d)}
		}
	}
	joins, values := 0, 0
	for _, p := range q.Params {
		key := shorten(p.Key())
		n := r.joins(q.Type, p, l.Joins-joins)
		joins += n
		if joins > l.Joins {
			return &LimitError{Limit: LimitJoins, Max: l.Joins, Param: key,
				What: fmt.Sprintf("the chains and _has of the search go through more than %d resource types (name the type a chain goes to, as in subject:Patient.name, to follow one)", l.Joins)}
		}
		values += len(p.Values) * max(1, n)
		if values > l.TotalValues {
			return &LimitError{Limit: LimitTotalValues, Max: l.TotalValues,
				What: fmt.Sprintf("the search has %d values in all, each counted once for every resource type its chain or _has searches", values)}
		}
	}
	return nil
}

// Depth returns how many links deep p goes: the links of its chains plus the
// levels of its _has. A parameter without either is 0 deep.
func Depth(p Param) int {
	key := p.Key()
	n := strings.Count(key, ".")
	for _, part := range strings.FieldsFunc(key, func(c rune) bool { return c == ':' || c == '.' }) {
		if part == "_has" {
			n++
		}
	}
	return n
}

// joins counts the resource types p makes a search of typ go through, as the
// store builds it: one per _has level, and one per link of a chain for every
// target type the rest of the chain applies to. It stops counting once the count
// passes limit.
func (r *Registry) joins(typ string, p Param, limit int) int {
	if p.Name == "_has" {
		parts := strings.Split(p.Modifier, ":")
		if len(parts) < 3 {
			return 1
		}
		inner := Param{Name: parts[2], Values: p.Values}
		if len(parts) > 3 {
			inner.Modifier = strings.Join(parts[3:], ":")
		}
		return 1 + r.joins(parts[0], inner, limit-1)
	}
	head, rest, chained := strings.Cut(p.Key(), ".")
	if !chained || typ == "" {
		return 0
	}
	name, mod, _ := strings.Cut(head, ":")
	d, ok := r.Lookup(typ, name)
	if !ok || d.Type != "reference" {
		return 0
	}
	targets := d.Targets
	if mod != "" {
		targets = []string{mod}
	}
	restName, restMod, _ := strings.Cut(rest, ":")
	inner := Param{Name: restName, Modifier: restMod, Values: p.Values}
	n := 0
	for _, t := range targets {
		if r.checkParam(t, inner) != nil {
			continue
		}
		n += 1 + r.joins(t, inner, limit-n-1)
		if n > limit {
			break
		}
	}
	return n
}

// shorten cuts a parameter key for messages: keys are client input and may be
// megabytes long.
func shorten(key string) string {
	const max = 80
	if len(key) <= max {
		return key
	}
	cut := max
	for cut > 0 && key[cut]&0xC0 == 0x80 {
		cut--
	}
	return key[:cut] + "…"
}

// SearchedTypes returns the resource types a search of q reads: its own, and those
// its chains and _has go through. It returns nil for a search across all types.
func (r *Registry) SearchedTypes(q *Query) []string {
	if q.Type == "" {
		return nil
	}
	seen := map[string]bool{q.Type: true}
	for _, p := range q.Params {
		r.searchedTypes(q.Type, p, seen)
	}
	out := make([]string, 0, len(seen))
	for t := range seen {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

func (r *Registry) searchedTypes(typ string, p Param, seen map[string]bool) {
	if p.Name == "_has" {
		parts := strings.Split(p.Modifier, ":")
		if len(parts) < 3 {
			return
		}
		seen[parts[0]] = true
		inner := Param{Name: parts[2]}
		if len(parts) > 3 {
			inner.Modifier = strings.Join(parts[3:], ":")
		}
		r.searchedTypes(parts[0], inner, seen)
		return
	}
	head, rest, chained := strings.Cut(p.Key(), ".")
	if !chained {
		return
	}
	name, mod, _ := strings.Cut(head, ":")
	d, ok := r.Lookup(typ, name)
	if !ok || d.Type != "reference" {
		return
	}
	targets := d.Targets
	if mod != "" {
		targets = []string{mod}
	}
	restName, restMod, _ := strings.Cut(rest, ":")
	for _, t := range targets {
		seen[t] = true
		r.searchedTypes(t, Param{Name: restName, Modifier: restMod}, seen)
	}
}
