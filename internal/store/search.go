package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// search selects current resources with one SQL query over the index tables,
// orders them by _sort (then type and id), pages with a keyset cursor, and adds
// _include/_revinclude results. See Search for the limits around it.
func (t *tx) search(ctx context.Context, q *search.Query) (*ehr.Page, error) {
	if err := t.flushIndexes(ctx); err != nil {
		return nil, err
	}
	sq, err := t.buildSearch(q, ehr.ScopeFrom(ctx))
	if err != nil {
		return nil, err
	}
	page := &ehr.Page{Total: -1}
	if q.Total == "accurate" || q.Total == "estimate" || q.TotalOnly() {
		if err := t.queryRow(ctx, "SELECT count(*) FROM resources r WHERE "+sq.selection, sq.selArgs...).Scan(&page.Total); err != nil {
			return nil, fmt.Errorf("search count: %w", err)
		}
		if q.TotalOnly() {
			return page, nil
		}
	}
	keys, cur, count, backward := sq.keys, sq.cur, sq.count, sq.backward
	var keyVals [][]any
	var compartments []string
	walked := false
	if sq.walk != nil {
		pays, err := t.walkPays(ctx, sq.walk)
		if err != nil {
			return nil, err
		}
		if pays {
			page.Records, keyVals, compartments, err = t.pageRows(ctx, sq.walk.query, sq.walk.args, keys)
			if err != nil {
				return nil, err
			}
			// Only a full page with one more proves the walk found the
			// page; otherwise the usual query decides.
			walked = len(page.Records) > count
			if walked {
				t.s.walks.Add(1)
			}
		}
	}
	if !walked {
		var err error
		if page.Records, keyVals, compartments, err = t.pageRows(ctx, sq.query, sq.args, keys); err != nil {
			return nil, err
		}
	}
	more := len(page.Records) > count
	if more {
		page.Records, keyVals, compartments = page.Records[:count], keyVals[:count], compartments[:count]
	}
	if err := t.loadBodies(ctx, page.Records, compartments); err != nil {
		return nil, err
	}
	if backward {
		slices.Reverse(page.Records)
		slices.Reverse(keyVals)
	}
	n := len(page.Records)
	if n > 0 {
		if more || backward {
			page.Next = encodeSearchCursor(keys, keyVals[n-1], page.Records[n-1], false)
		}
		if cur != nil && (!backward || more) {
			page.Prev = encodeSearchCursor(keys, keyVals[0], page.Records[0], true)
		}
	}
	if page.Total < 0 && cur == nil && !more {
		page.Total = n
	}
	if err := t.includes(ctx, q, page); err != nil {
		return nil, err
	}
	return page, nil
}

// pageRows runs a page query and reads its rows: the records without bodies,
// their sort keys and their compartments.
func (t *tx) pageRows(ctx context.Context, query string, args []any, keys []sortKey) ([]*ehr.Record, [][]any, []string, error) {
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	var recs []*ehr.Record
	var keyVals [][]any
	var compartments []string
	for rows.Next() {
		rec := &ehr.Record{}
		var lu int64
		var compartment string
		dest := []any{&rec.Type, &rec.ID, &rec.Version, &lu, &compartment, &rec.Source}
		kv := make([]any, len(keys))
		for i := range keys {
			dest = append(dest, &kv[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, nil, nil, fmt.Errorf("search: %w", err)
		}
		rec.LastUpdated = time.UnixMicro(lu).UTC()
		rec.Compartment = compartment
		recs = append(recs, rec)
		keyVals = append(keyVals, kv)
		compartments = append(compartments, compartment)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("search: %w", err)
	}
	return recs, keyVals, compartments, nil
}

// needsTerminology reports a terminology modifier: ignoring one would silently widen
// a clinical search to everything, so it is refused even under lenient handling.
func needsTerminology(p search.Param) bool {
	switch p.Modifier {
	case "in", "not-in", "above", "below":
		return true
	}
	return false
}

// searchSQL is the page query of one search, built before it runs so that it can
// also be explained.
type searchSQL struct {
	selection string // the WHERE clause without the cursor, for counting
	selArgs   []any
	query     string
	args      []any
	keys      []sortKey
	cur       *searchCursor
	count     int
	backward  bool
	// walk, when set, is the walking form of the page query (walk.go).
	walk *walkPlan
}

func (t *tx) buildSearch(q *search.Query, scope ehr.Scope) (*searchSQL, error) {
	if err := t.s.checkLimits(q); err != nil {
		return nil, err
	}
	if err := t.s.registry.Check(q); err != nil {
		return nil, ehr.Errorf(ehr.Invalid, "%v", err)
	}
	b := &sqlBuilder{reg: t.s.registry, now: t.now, indexedBy: t.s.dialect.IndexedBy, scope: scope,
		idKeyed: plansByShape(t.s.dialect)}
	b.within = b.withinOf(q)
	where, args, err := b.where(q.Type, nil, "r")
	if err != nil {
		return nil, err
	}
	// See where: a selective parameter or the compartment drives the search.
	driver := -1
	if q.Compartment == "" {
		driver = b.selectiveParam(q.Type, q.Params)
	}
	// The conditions that do not come from parameters (type, deletion, scope)
	// and each parameter's, which a walk reuses (walk.go).
	fixed, fixedArgs := len(where), len(args)
	var paramConds []walkCondition
	// Date conditions on one single-valued parameter are one condition
	// (dategroup.go), made at the first of them and shared by the others.
	groups := b.dateGroups(q.Type, q.Params)
	grouped := map[int]string{}
	for name, ks := range groups {
		for _, k := range ks {
			grouped[k] = name
		}
	}
	groupCond := map[string]walkCondition{}
	kept := q.Params[:0]
	for k, p := range q.Params {
		b.correlate = q.Compartment != "" || (driver >= 0 && k != driver)
		if name, ok := grouped[k]; ok {
			gc, made := groupCond[name]
			if !made {
				d, _ := b.reg.Lookup(q.Type, name)
				var values []string
				for _, m := range groups[name] {
					values = append(values, q.Params[m].Values[0])
				}
				c, a, err := b.dateGroup(q.Type, d, values, "r")
				if err != nil {
					return nil, err
				}
				gc = walkCondition{sql: c, args: a}
				groupCond[name] = gc
				where = append(where, c)
				args = append(args, a...)
			}
			kept = append(kept, p)
			paramConds = append(paramConds, gc)
			continue
		}
		b.chainWithin = b.within != nil && b.within.chain == k
		c, a, err := b.param(q.Type, p, "r")
		b.chainWithin = false
		if err != nil {
			// Under lenient handling a malformed parameter is dropped and
			// reported like an unknown one.
			if q.Strict || ehr.ErrorCode(err) != ehr.Invalid || needsTerminology(p) {
				return nil, err
			}
			q.IgnoreMalformed(p.Key(), ehr.ErrorMessage(err))
			continue
		}
		kept = append(kept, p)
		paramConds = append(paramConds, walkCondition{sql: c, args: a})
		where = append(where, c)
		args = append(args, a...)
	}
	q.Params = kept
	b.correlate = false
	if w := b.within; w != nil && w.chain >= 0 && w.used == 0 {
		// No index condition took the chain's patients: r is limited to
		// their compartments, a primary-key range per patient.
		where = append(where, "r.compartment "+w.cond)
		args = append(args, w.args...)
	}
	if q.Compartment != "" {
		cw, cargs, err := b.compartment(q.Type, q.Compartment, "r")
		if err != nil {
			return nil, err
		}
		where = append(where, cw)
		args = append(args, cargs...)
	}
	// On every engine: Citus routes the query to that patient's one shard, and
	// PostgreSQL and SQLite read a range of the primary key, which every table
	// leads with the compartment.
	if comp := b.patientCompartmentOf(q); comp != "" {
		where = append(where, "r.compartment = ?")
		args = append(args, comp)
		b.fixedCompartment = comp
	}
	selection := strings.Join(where, " AND ")
	count := q.Count
	if count <= 0 {
		count = search.DefaultCount
	}
	keys, err := b.sortKeys(q)
	if err != nil {
		return nil, err
	}
	var cur *searchCursor
	if q.Cursor != "" {
		if cur, err = decodeSearchCursor(q.Cursor, keys); err != nil {
			return nil, err
		}
	}
	backward := cur != nil && cur.Backward
	// Bodies are fetched for the page only (see Search), so that sorting carries
	// keys rather than documents.
	cols := []string{"r.res_type", "r.res_id", "r.version", "r.last_updated", "r.compartment", "r.source"}
	var keyArgs []any
	order := make([]string, 0, len(keys)+2)
	for i, k := range keys {
		cols = append(cols, k.expr+" AS k"+strconv.Itoa(i))
		keyArgs = append(keyArgs, k.args...)
		desc := k.desc != backward
		order = append(order, "k"+strconv.Itoa(i)+map[bool]string{true: " DESC", false: ""}[desc])
	}
	tie := map[bool]string{true: " DESC", false: ""}[backward]
	// outer orders the selected page, whose columns have no alias, as order does.
	outer := append(append([]string{}, order...), "res_type"+tie, "res_id"+tie)
	order = append(order, "r.res_type"+tie, "r.res_id"+tie)
	allArgs := append(append([]any{}, keyArgs...), args...)
	pageSel := selection
	if cur != nil {
		kw, kargs := keysetCondition(keys, cur)
		pageSel += " AND " + kw
		allArgs = append(allArgs, kargs...)
	}
	// The page is selected in a materialized CTE, so that all the work of the
	// query is done before its first row is returned: SQLite interrupts a
	// statement whose context ends only while that first step runs, and later
	// steps of a lazily evaluated ORDER BY ... LIMIT could otherwise run on for as
	// long as the table is big. The outer sort orders at most count+1 rows.
	query := fmt.Sprintf("WITH page AS MATERIALIZED (SELECT %s FROM resources r WHERE %s ORDER BY %s LIMIT %d) SELECT * FROM page ORDER BY %s",
		strings.Join(cols, ", "), pageSel, strings.Join(order, ", "), count+1, strings.Join(outer, ", "))
	sq := &searchSQL{selection: selection, selArgs: args, query: query, args: allArgs,
		keys: keys, cur: cur, count: count, backward: backward}
	if t.walkable(q, driver, keys) {
		if sq.walk, err = t.buildWalk(b, q, slices.Clone(where[:fixed]), slices.Clone(args[:fixedArgs]), paramConds, cols, order, outer, count, cur, backward); err != nil {
			return nil, err
		}
	} else if t.dateWalkable(q, driver, keys, cur) {
		if sq.walk, err = t.buildDateWalk(b, q, slices.Clone(where[:fixed]), slices.Clone(args[:fixedArgs]), paramConds, keys, cols, order, outer, count, cur); err != nil {
			return nil, err
		}
	}
	return sq, nil
}

// sqlBuilder turns search parameters into SQL conditions on a resources alias.
type sqlBuilder struct {
	reg    *search.Registry
	now    time.Time
	aliasN int
	// indexedBy is the dialect's IndexedBy.
	indexedBy func(index string) string
	// correlate makes inIndex probe the owner index of each candidate row
	// (EXISTS) instead of collecting every matching row first (IN). See where.
	correlate bool
	// outerDriver says that the caller of the next where adds a selective
	// condition of its own (a compartment).
	outerDriver bool
	// scope limits every resources alias the query selects from: the main one,
	// chain targets and _has sources alike.
	scope ehr.Scope
	// fixedCompartment, on a distributed schema, is the one compartment every
	// match lies in (see patientCompartmentOf): the sort keys' subqueries name it
	// rather than correlate on it, which Citus needs to keep the query on its shard.
	fixedCompartment string
	// within, when set, is a condition on the compartment every match of the
	// main alias lies in, known before the parameters are read: one patient's
	// (patientCompartmentOf) or the patients a chain selects (chainedPatients).
	// inIndex repeats it on the index rows it collects, so that the token index,
	// which ends with the compartment, reads only those patients' rows.
	within *compartmentCond
	// probe makes correlated inIndex conditions probes of each candidate on
	// every engine, never joins (see inIndex): a chain's exact check of the
	// reference, whose candidates the patients' compartments already select,
	// and the conditions of a walk, whose candidates the walk's window selects.
	probe bool
	// chainWithin says that the chain being read is within's: its patients'
	// compartments are already a condition of the search.
	chainWithin bool
	// idKeyed makes inIndex match the index rows of one type on the id alone
	// (see there), on SQLite, which then reads the matches in the page's
	// order. PostgreSQL chooses its joins from statistics, and matched on the
	// id alone it hash-joins every match (a common code: 0.9 ms → 13 ms at
	// 30,000 Observations); Citus needs the compartment to join on each shard.
	idKeyed bool
}

// compartmentCond is "compartment <cond>" for the index rows of alias r.
type compartmentCond struct {
	r    string
	cond string
	args []any
	// chain is the parameter whose chain selects the patients, or -1.
	chain int
	// used counts the index subqueries that carry the condition.
	used int
}

func (b *sqlBuilder) alias(prefix string) string {
	b.aliasN++
	return prefix + strconv.Itoa(b.aliasN)
}

// where returns the conditions (ANDed) selecting current resources of typ (all types
// when empty) that match params, on resources alias r.
//
// Both engines run an uncorrelated IN (subquery) by collecting all its rows first,
// which for a broad condition (a LOINC code, a date range) means most of the table
// even when another condition (subject=Patient/x) leaves a handful of candidates.
// So when one condition is selective by construction (a reference to one resource,
// _id, a compartment), it alone drives the search and every other condition is a
// correlated EXISTS that probes the owner index of each candidate.
func (b *sqlBuilder) where(typ string, params []search.Param, r string) ([]string, []any, error) {
	saved := b.correlate
	defer func() { b.correlate = saved }()
	external := b.outerDriver
	b.outerDriver = false
	driver := -1
	if !external {
		driver = b.selectiveParam(typ, params)
	}
	conds := []string{r + ".deleted = ?"}
	args := []any{false}
	if typ != "" {
		conds = append(conds, r+".res_type = ?")
		args = append(args, typ)
	}
	open := b.scope
	open.Restricted = nil
	if c, cargs := scopeClause(open, r); c != "" {
		conds = append(conds, c)
		args = append(args, cargs...)
	}
	if len(b.scope.Restricted) > 0 {
		c, cargs, err := b.restrictions(typ, r)
		if err != nil {
			return nil, nil, err
		}
		if c != "" {
			conds = append(conds, c)
			args = append(args, cargs...)
		}
	}
	for k, p := range params {
		b.correlate = external || (driver >= 0 && k != driver)
		c, a, err := b.param(typ, p, r)
		if err != nil {
			return nil, nil, err
		}
		conds = append(conds, c)
		args = append(args, a...)
	}
	return conds, args, nil
}

// selectiveParam returns the index of a parameter that selects few resources by
// construction (_id, or a reference parameter naming resources by id), or -1.
func (b *sqlBuilder) selectiveParam(typ string, params []search.Param) int {
	for k, p := range params {
		if p.Name == "_id" && p.Modifier == "" {
			return k
		}
	}
	if typ == "" {
		return -1
	}
	for k, p := range params {
		if strings.Contains(p.Key(), ".") || (p.Modifier != "" && !fhir.R4().IsResourceType(p.Modifier)) {
			continue
		}
		d, ok := b.reg.Lookup(typ, p.Name)
		if !ok || d.Type != "reference" {
			continue
		}
		byID := true
		for _, v := range p.Values {
			v = search.Unescape(v)
			if _, _, _, ok := fhir.ParseReference(v); !ok && !fhir.ValidID(v) {
				byID = false
			}
			if strings.Contains(v, ":") {
				byID = false // an absolute URL is matched on url, not ref_id
			}
		}
		if byID {
			return k
		}
	}
	return -1
}

// tableOf maps a parameter type to its index table.
var tableOf = map[string]string{
	"string": "index_string", "token": "index_token", "date": "index_date", "number": "index_number",
	"quantity": "index_quantity", "reference": "index_reference", "uri": "index_uri",
}

// inIndex selects the resources of r that have index rows matching cond.
func (b *sqlBuilder) inIndex(r, table, typ, param, cond string, args []any, negate bool) (string, []any) {
	if b.correlate {
		sql := "EXISTS (SELECT 1 FROM " + table + " i" + b.indexedBy(table+"_owner") + " WHERE i.compartment = " + r + ".compartment AND i.res_type = " + r +
			".res_type AND i.res_id = " + r + ".res_id AND i.param = ?"
		if cond != "" {
			sql += " AND (" + cond + ")"
		}
		// LIMIT 1 keeps SQLite (3.45 and later) from rewriting the EXISTS back into
		// an IN list that collects every matching row. PostgreSQL drops such a
		// LIMIT and may turn the EXISTS into a join, which it is free to drive
		// from; OFFSET 0 keeps it a probe where the caller needs one (probe).
		sql += " LIMIT 1"
		if b.probe {
			sql += " OFFSET 0"
		}
		sql += ")"
		if negate {
			sql = "NOT " + sql
		}
		return sql, append([]any{param}, args...)
	}
	op := " IN "
	if negate {
		op = " NOT IN "
	}
	typeCond := ""
	var out []any
	if typ != "" {
		typeCond = "i.res_type = ? AND "
		out = append(out, typ)
	}
	out = append(out, param)
	out = append(out, args...)
	sql := "(" + r + ".compartment, " + r + ".res_type, " + r + ".res_id)" + op +
		"(SELECT i.compartment, i.res_type, i.res_id FROM " + table + " i WHERE " + typeCond + "i.param = ?"
	if typ != "" && b.idKeyed {
		// r's type is typ (where says so), and an id names one resource of a
		// type: the id alone is the key. Listed by id, the matches come in the
		// page's order, so the engine looks up resources for the page only
		// instead of for every match before sorting them.
		sql = r + ".res_id" + op + "(SELECT i.res_id FROM " + table + " i WHERE " + typeCond + "i.param = ?"
	}
	if cond != "" {
		sql += " AND (" + cond + ")"
	}
	if w := b.within; w != nil && w.r == r && !negate {
		sql += " AND i.compartment " + w.cond
		out = append(out, w.args...)
		w.used++
	}
	return sql + ")", out
}

func invalid(format string, args ...any) error { return ehr.Errorf(ehr.Invalid, format, args...) }

func (b *sqlBuilder) param(typ string, p search.Param, r string) (string, []any, error) {
	switch p.Name {
	case "_id":
		return b.idParam(p, r)
	case "_lastUpdated":
		return b.lastUpdated(p, r)
	case "_type":
		marks := make([]string, len(p.Values))
		args := make([]any, len(p.Values))
		for i, v := range p.Values {
			marks[i], args[i] = "?", v
		}
		return r + ".res_type IN (" + strings.Join(marks, ", ") + ")", args, nil
	case "_has":
		return b.has(typ, p, r)
	}
	if head, rest, chained := strings.Cut(p.Key(), "."); chained {
		return b.chain(typ, head, rest, p.Values, r)
	}
	lookupType := typ
	if lookupType == "" {
		lookupType = "Patient" // Resource-level parameters are the same on every type
	}
	d, ok := b.reg.Lookup(lookupType, p.Name)
	if !ok {
		return "", nil, invalid("unknown search parameter %q", p.Name)
	}
	if p.Modifier == "missing" {
		return b.missing(typ, d, p, r)
	}
	if d.Type == "composite" {
		return b.composite(typ, d, p, r)
	}
	table, ok := tableOf[d.Type]
	if !ok {
		return "", nil, invalid("search parameter %q of type %s is not supported", p.Name, d.Type)
	}
	param := p.Name
	negate := false
	switch p.Modifier {
	case search.ModifierMDM:
		return "", nil, ehr.Errorf(ehr.NotSupported, "the :mdm modifier of %q is expanded by the interaction engine before a search; it cannot be used here", p.Name)
	case "not":
		negate = true
	case "of-type":
		param = p.Name + ":of-type"
	case "in", "not-in", "above", "below":
		if d.Type == "token" {
			return "", nil, invalid("modifier :%s on %q needs terminology services, which this server does not offer yet", p.Modifier, p.Name)
		}
	}
	var ors []string
	var args []any
	for _, v := range p.Values {
		c, a, err := b.value(d, p.Modifier, v, "i")
		if err != nil {
			return "", nil, err
		}
		ors = append(ors, "("+c+")")
		args = append(args, a...)
	}
	sql, out := b.inIndex(r, table, typ, param, strings.Join(ors, " OR "), args, negate)
	return sql, out, nil
}

// value is the condition one value puts on index alias i of d's table.
func (b *sqlBuilder) value(d *search.Definition, modifier, v, i string) (string, []any, error) {
	switch d.Type {
	case "string":
		return stringCond(modifier, v, i)
	case "token":
		return tokenCond(modifier, v, i)
	case "date":
		return b.dateCond(v, i+".low", i+".high")
	case "number":
		return numberCond(v, i+".value", false)
	case "quantity":
		return quantityCond(v, i)
	case "reference":
		return referenceCond(d, modifier, v, i)
	case "uri":
		return uriCond(modifier, v, i)
	}
	return "", nil, invalid("search parameter %q of type %s is not supported", d.Code, d.Type)
}

func stringCond(modifier, v, i string) (string, []any, error) {
	v = search.Unescape(v)
	switch modifier {
	case "exact":
		return i + ".value_exact = ?", []any{v}, nil
	case "contains":
		return i + ".value_norm LIKE ? ESCAPE '\\'", []any{"%" + likeEscape(NormalizeString(v)) + "%"}, nil
	case "":
		n := NormalizeString(v)
		return i + ".value_norm >= ? AND " + i + ".value_norm < ?", []any{n, n + "\U0010FFFF"}, nil
	}
	return "", nil, invalid("modifier :%s is not valid on a string parameter", modifier)
}

func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

func tokenCond(modifier, v, i string) (string, []any, error) {
	switch modifier {
	case "text":
		n := likeEscape(NormalizeString(search.Unescape(v)))
		return i + ".text LIKE ? ESCAPE '\\' OR " + i + ".text LIKE ? ESCAPE '\\'", []any{n + "%", "% " + n + "%"}, nil
	case "of-type":
		parts := strings.SplitN(v, "|", 3)
		if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
			return "", nil, invalid("identifier:of-type needs system|code|value, got %q", v)
		}
		return i + ".system = ? AND " + i + ".code = ?", []any{search.Unescape(parts[0]) + "|" + search.Unescape(parts[1]), search.Unescape(parts[2])}, nil
	}
	system, code, hasSystem := search.SplitToken(v)
	switch {
	case !hasSystem:
		return i + ".code = ?", []any{code}, nil
	case system == "" && code == "":
		return "", nil, invalid("token %q names neither system nor code", v)
	case system == "":
		return i + ".system = '' AND " + i + ".code = ?", []any{code}, nil
	case code == "":
		return i + ".system = ?", []any{system}, nil
	}
	return i + ".system = ? AND " + i + ".code = ?", []any{system, code}, nil
}

// prefixes of ordered parameter types. See https://hl7.org/fhir/R4/search.html#prefix.
var prefixes = []string{"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"}

func splitPrefix(v string) (string, string) {
	if len(v) > 2 && slices.Contains(prefixes, v[:2]) {
		return v[:2], v[2:]
	}
	return "eq", v
}

// dateCond compares the [lo, hi) range of the search value with the stored
// [low, high) range as the prefixes define. See https://hl7.org/fhir/R4/search.html#date.
func (b *sqlBuilder) dateCond(v, low, high string) (string, []any, error) {
	prefix, value := splitPrefix(v)
	lo, hi, err := DateRange(value)
	if err != nil {
		return "", nil, invalid("%v", err)
	}
	switch prefix {
	case "eq":
		return low + " >= ? AND " + high + " <= ?", []any{lo, hi}, nil
	case "ne":
		return "NOT (" + low + " >= ? AND " + high + " <= ?)", []any{lo, hi}, nil
	case "gt":
		return high + " > ?", []any{hi}, nil
	case "lt":
		return low + " < ?", []any{lo}, nil
	case "ge":
		return high + " > ? OR (" + low + " >= ? AND " + high + " <= ?)", []any{hi, lo, hi}, nil
	case "le":
		return low + " < ? OR (" + low + " >= ? AND " + high + " <= ?)", []any{lo, lo, hi}, nil
	case "sa":
		return low + " >= ?", []any{hi}, nil
	case "eb":
		return high + " <= ?", []any{lo}, nil
	case "ap":
		delta := b.approxDelta(lo)
		return low + " < ? AND " + high + " > ?", []any{hi + delta, lo - delta}, nil
	}
	return "", nil, invalid("unknown prefix %q", prefix)
}

// approxDelta is how far around a date "ap" reaches: a tenth of the distance
// from now, and at least a day.
func (b *sqlBuilder) approxDelta(lo int64) int64 {
	gap := b.now.UnixMicro() - lo
	if gap < 0 {
		gap = -gap
	}
	return max(gap/10, int64(24*time.Hour/time.Microsecond))
}

// numberRange returns the value and the implicit [lo, hi) range of a search number
// at its precision: "100" covers [99.5, 100.5).
func numberRange(s string) (v, lo, hi float64, err error) {
	v, err = strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, 0, 0, invalid("%q is not a number", s)
	}
	mant, exp := strings.ToLower(s), 0
	if i := strings.IndexByte(mant, 'e'); i >= 0 {
		exp, _ = strconv.Atoi(mant[i+1:])
		mant = mant[:i]
	}
	decimals := 0
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		decimals = len(mant) - i - 1
	}
	half := 0.5 * math.Pow10(exp-decimals)
	return v, v - half, v + half, nil
}

func numberCond(v, col string, _ bool) (string, []any, error) {
	prefix, value := splitPrefix(v)
	x, lo, hi, err := numberRange(value)
	if err != nil {
		return "", nil, err
	}
	switch prefix {
	case "eq":
		return col + " >= ? AND " + col + " < ?", []any{lo, hi}, nil
	case "ne":
		return "NOT (" + col + " >= ? AND " + col + " < ?)", []any{lo, hi}, nil
	case "gt", "sa":
		return col + " > ?", []any{x}, nil
	case "lt", "eb":
		return col + " < ?", []any{x}, nil
	case "ge":
		return col + " >= ?", []any{x}, nil
	case "le":
		return col + " <= ?", []any{x}, nil
	case "ap":
		d := math.Abs(x) * 0.1
		return col + " >= ? AND " + col + " <= ?", []any{x - d, x + d}, nil
	}
	return "", nil, invalid("unknown prefix %q", prefix)
}

// quantityCond handles [prefix]number|system|code. With a UCUM unit the search
// compares canonical values, so 1000 mg finds 1 g.
func quantityCond(v, i string) (string, []any, error) {
	parts := splitUnescaped(v, '|')
	num := parts[0]
	system, code := "", ""
	switch len(parts) {
	case 1:
	case 3:
		system, code = search.Unescape(parts[1]), search.Unescape(parts[2])
	default:
		return "", nil, invalid("quantity %q must be number or number|system|code", v)
	}
	prefix, value := splitPrefix(num)
	if code != "" && (system == UCUMSystem || system == "") {
		if x, _, _, err := numberRange(value); err == nil {
			if _, cu, ok := Canonicalize(x, code); ok {
				// Convert the search range into the canonical unit.
				cond, args, err := numberCond(prefix+value, i+".canon_value", false)
				if err != nil {
					return "", nil, err
				}
				factorArgs := make([]any, len(args))
				for k, a := range args {
					f, _, _ := Canonicalize(a.(float64), code)
					factorArgs[k] = f
				}
				return i + ".canon_code = ? AND (" + cond + ")", append([]any{cu}, factorArgs...), nil
			}
		}
	}
	cond, args, err := numberCond(prefix+value, i+".value", false)
	if err != nil {
		return "", nil, err
	}
	if system != "" {
		cond += " AND " + i + ".system = ?"
		args = append(args, system)
	}
	if code != "" {
		cond += " AND (" + i + ".code = ? OR " + i + ".unit = ?)"
		args = append(args, code, code)
	}
	return cond, args, nil
}

func splitUnescaped(v string, sep byte) []string {
	var out []string
	start := 0
	for k := 0; k < len(v); k++ {
		if v[k] == '\\' {
			k++
			continue
		}
		if v[k] == sep {
			out = append(out, v[start:k])
			start = k + 1
		}
	}
	return append(out, v[start:])
}

func referenceCond(d *search.Definition, modifier, v, i string) (string, []any, error) {
	v = search.Unescape(v)
	if modifier == "identifier" {
		system, code, hasSystem := search.SplitToken(v)
		switch {
		case !hasSystem:
			return i + ".id_value = ?", []any{code}, nil
		case code == "":
			return i + ".id_system = ?", []any{system}, nil
		}
		return i + ".id_system = ? AND " + i + ".id_value = ?", []any{system, code}, nil
	}
	if typ, id, ver, ok := fhir.ParseReference(v); ok {
		if modifier != "" && modifier != typ {
			return "", nil, invalid("reference %q is not a %s", v, modifier)
		}
		cond := i + ".ref_type = ? AND " + i + ".ref_id = ?"
		args := []any{typ, id}
		if ver != "" {
			cond += " AND " + i + ".ref_version = ?"
			args = append(args, ver)
		}
		return cond, args, nil
	}
	if strings.Contains(v, "/") || strings.Contains(v, ":") {
		url, _, _ := strings.Cut(v, "|")
		// url <> '' lets the planner use the partial index, which holds only
		// the references that ref_type and ref_id do not spell out.
		return i + ".url = ? AND " + i + ".url <> ''", []any{url}, nil
	}
	if !fhir.ValidID(v) {
		return "", nil, invalid("%q is not a reference or id", v)
	}
	switch {
	case modifier != "":
		return i + ".ref_type = ? AND " + i + ".ref_id = ?", []any{modifier, v}, nil
	case len(d.Targets) == 1:
		return i + ".ref_type = ? AND " + i + ".ref_id = ?", []any{d.Targets[0], v}, nil
	}
	return i + ".ref_id = ?", []any{v}, nil
}

func uriCond(modifier, v, i string) (string, []any, error) {
	v = search.Unescape(v)
	switch modifier {
	case "below":
		return i + ".value >= ? AND " + i + ".value < ?", []any{v, v + "\U0010FFFF"}, nil
	case "above":
		return "substr(?, 1, length(" + i + ".value)) = " + i + ".value", []any{v}, nil
	}
	return i + ".value = ?", []any{v}, nil
}

func (b *sqlBuilder) idParam(p search.Param, r string) (string, []any, error) {
	marks := make([]string, len(p.Values))
	args := make([]any, len(p.Values))
	for i, v := range p.Values {
		marks[i], args[i] = "?", search.Unescape(v)
	}
	op := " IN "
	if p.Modifier == "not" {
		op = " NOT IN "
	}
	return r + ".res_id" + op + "(" + strings.Join(marks, ", ") + ")", args, nil
}

func (b *sqlBuilder) lastUpdated(p search.Param, r string) (string, []any, error) {
	var ors []string
	var args []any
	for _, v := range p.Values {
		c, a, err := b.dateCond(v, r+".last_updated", "("+r+".last_updated + 1)")
		if err != nil {
			return "", nil, err
		}
		ors = append(ors, "("+c+")")
		args = append(args, a...)
	}
	return "(" + strings.Join(ors, " OR ") + ")", args, nil
}

func (b *sqlBuilder) missing(typ string, d *search.Definition, p search.Param, r string) (string, []any, error) {
	if len(p.Values) != 1 || (p.Values[0] != "true" && p.Values[0] != "false") {
		return "", nil, invalid(":missing takes true or false")
	}
	table, param := tableOf[d.Type], d.Code
	if d.Type == "composite" && len(d.Components) > 0 {
		table, param = tableOf[d.Components[0].Type], CompositeParam(d.Code, 0)
	}
	if table == "" {
		return "", nil, invalid(":missing is not supported on %q", d.Code)
	}
	sql, args := b.inIndex(r, table, typ, param, "", nil, p.Values[0] == "true")
	return sql, args, nil
}

// composite matches values whose components, from the same element, all match.
func (b *sqlBuilder) composite(typ string, d *search.Definition, p search.Param, r string) (string, []any, error) {
	if len(d.Components) == 0 {
		return "", nil, invalid("composite parameter %q has no components", d.Code)
	}
	var ors []string
	var args []any
	for _, v := range p.Values {
		parts := splitUnescaped(v, '$')
		if len(parts) != len(d.Components) {
			return "", nil, invalid("%q needs %d values joined by $, got %q", d.Code, len(d.Components), v)
		}
		var conds []string
		var from string
		var cargs []any
		for k, c := range d.Components {
			table := tableOf[c.Type]
			if table == "" {
				return "", nil, invalid("component %d of %q has an unsupported type", k, d.Code)
			}
			a := "c" + strconv.Itoa(k)
			if k == 0 {
				from = table + " " + a
			} else {
				from += " JOIN " + table + " " + a + " ON " + a + ".compartment = c0.compartment AND " + a + ".res_type = c0.res_type AND " +
					a + ".res_id = c0.res_id AND " + a + ".grp = c0.grp"
			}
			cd := &search.Definition{Code: d.Code, Type: c.Type}
			cond, ca, err := b.value(cd, "", parts[k], a)
			if err != nil {
				return "", nil, err
			}
			conds = append(conds, a+".param = ?", "("+cond+")")
			cargs = append(cargs, CompositeParam(d.Code, k))
			cargs = append(cargs, ca...)
		}
		typeCond := ""
		if typ != "" {
			typeCond = "c0.res_type = ? AND "
			cargs = append([]any{typ}, cargs...)
		}
		ors = append(ors, "("+r+".compartment, "+r+".res_type, "+r+".res_id) IN (SELECT c0.compartment, c0.res_type, c0.res_id FROM "+
			from+" WHERE "+typeCond+strings.Join(conds, " AND ")+")")
		args = append(args, cargs...)
	}
	return "(" + strings.Join(ors, " OR ") + ")", args, nil
}

// chain handles "subject:Patient.name=x": resources whose reference parameter points
// at a resource matching the rest of the chain.
func (b *sqlBuilder) chain(typ, head, rest string, values []string, r string) (string, []any, error) {
	name, mod, _ := strings.Cut(head, ":")
	d, ok := b.reg.Lookup(typ, name)
	if !ok || d.Type != "reference" {
		return "", nil, invalid("%q is not a reference parameter of %s", name, typ)
	}
	// The chain that withinOf read already: buildSearch puts its patients'
	// compartments on the index conditions, or on r when none takes them.
	within := b.chainWithin && r == b.within.r
	patients, pargs, ok := "", []any(nil), within
	if !within {
		var err error
		if patients, pargs, ok, err = b.chainedPatients(typ, search.Param{Name: head, Values: values}, rest); err != nil {
			return "", nil, err
		}
	}
	if ok {
		// The patients the chain selects name the compartments to look in (a
		// Patient's compartment is its own): a primary-key range per patient
		// instead of every reference to them. In such a compartment, the
		// reference matches when it names the compartment's patient, which one
		// probe of the candidate's own rows tells.
		saved, savedProbe := b.correlate, b.probe
		b.correlate, b.probe = true, true
		exact, out := b.inIndex(r, "index_reference", typ, name, "i.ref_type = 'Patient' AND i.compartment = 'Patient/' || i.ref_id", nil, false)
		b.correlate, b.probe = saved, savedProbe
		if within {
			return exact, out, nil
		}
		pre := r + ".compartment IN (" + patients + ")"
		return pre + " AND " + exact, append(pargs, out...), nil
	}
	targets := d.Targets
	if mod != "" {
		targets = []string{mod}
	}
	restName, restMod, _ := strings.Cut(rest, ":")
	inner := search.Param{Name: restName, Modifier: restMod, Values: values}
	var ors []string
	var args []any
	for _, target := range targets {
		if b.reg.Check(&search.Query{Type: target, Params: []search.Param{inner}, Strict: true}) != nil {
			continue
		}
		ta := b.alias("t")
		conds, targs, err := b.where(target, []search.Param{inner}, ta)
		if err != nil {
			return "", nil, err
		}
		ors = append(ors, "(i.ref_type = ? AND i.ref_id IN (SELECT "+ta+".res_id FROM resources "+ta+" WHERE "+strings.Join(conds, " AND ")+"))")
		args = append(args, target)
		args = append(args, targs...)
	}
	if len(ors) == 0 {
		return "", nil, invalid("no target of %s.%s has a search parameter %q", typ, name, restName)
	}
	sql, out := b.inIndex(r, "index_reference", typ, name, strings.Join(ors, " OR "), args, false)
	return sql, out, nil
}

// chainedPatients returns the query of the compartments of the Patients that
// a chain head.rest=values selects ("SELECT t.compartment FROM resources t
// WHERE ..."), when head is a reference to Patient only through the parameter
// that decides typ's compartment (primaryCompartmentParam): every match of the
// chain lies in one of those compartments.
func (b *sqlBuilder) chainedPatients(typ string, head search.Param, rest string) (string, []any, bool, error) {
	name, mod, _ := strings.Cut(head.Name, ":")
	d, ok := b.reg.Lookup(typ, name)
	if !ok || d.Type != "reference" || !primaryCompartmentParam(d, typ) {
		return "", nil, false, nil
	}
	if (mod == "" && (len(d.Targets) != 1 || d.Targets[0] != "Patient")) || (mod != "" && mod != "Patient") {
		return "", nil, false, nil
	}
	restName, restMod, _ := strings.Cut(rest, ":")
	inner := search.Param{Name: restName, Modifier: restMod, Values: head.Values}
	if b.reg.Check(&search.Query{Type: "Patient", Params: []search.Param{inner}, Strict: true}) != nil {
		return "", nil, false, nil
	}
	pa := b.alias("t")
	conds, args, err := b.where("Patient", []search.Param{inner}, pa)
	if err != nil {
		return "", nil, false, err
	}
	return "SELECT " + pa + ".compartment FROM resources " + pa + " WHERE " + strings.Join(conds, " AND "), args, true, nil
}

// withinOf returns the compartment condition every match of q lies in, known
// from its parameters before they are read (see sqlBuilder.within), or nil.
func (b *sqlBuilder) withinOf(q *search.Query) *compartmentCond {
	if comp := b.patientCompartmentOf(q); comp != "" {
		return &compartmentCond{r: "r", cond: "= ?", args: []any{comp}, chain: -1}
	}
	if q.Type == "" {
		return nil
	}
	for k, p := range q.Params {
		head, rest, chained := strings.Cut(p.Key(), ".")
		if !chained || p.Name == "_has" {
			continue
		}
		// A malformed value is reported (or, under lenient handling, dropped)
		// when the parameter itself is read; here it only gives no condition.
		sql, args, ok, err := b.chainedPatients(q.Type, search.Param{Name: head, Values: p.Values}, rest)
		if err == nil && ok {
			return &compartmentCond{r: "r", cond: "IN (" + sql + ")", args: args, chain: k}
		}
	}
	return nil
}

// has handles reverse chaining: _has:Observation:patient:code=x selects resources
// that an Observation matching code=x refers to through its patient parameter.
func (b *sqlBuilder) has(typ string, p search.Param, r string) (string, []any, error) {
	parts := strings.Split(p.Modifier, ":")
	if len(parts) < 3 {
		return "", nil, invalid("_has needs the form _has:Type:reference:parameter")
	}
	src, refParam := parts[0], parts[1]
	inner := search.Param{Name: parts[2], Values: p.Values}
	if len(parts) > 3 {
		inner.Modifier = strings.Join(parts[3:], ":")
	}
	if inner.Name == "_has" {
		inner.Modifier = strings.Join(parts[3:], ":")
	}
	oa := b.alias("o")
	conds, oargs, err := b.where(src, []search.Param{inner}, oa)
	if err != nil {
		return "", nil, err
	}
	ha := b.alias("h")
	sql := "(" + r + ".res_type, " + r + ".res_id) IN (SELECT " + ha + ".ref_type, " + ha + ".ref_id FROM index_reference " + ha +
		" WHERE " + ha + ".res_type = ? AND " + ha + ".param = ? AND (" + ha + ".compartment, " + ha + ".res_type, " + ha + ".res_id) IN (SELECT " +
		oa + ".compartment, " + oa + ".res_type, " + oa + ".res_id FROM resources " + oa + " WHERE " + strings.Join(conds, " AND ") + "))"
	return sql, append([]any{src, refParam}, oargs...), nil
}

// patientCompartmentOf returns the one Patient compartment every match of q lies
// in, or "". That is so when q names one patient through a parameter that decides
// the compartment (see primaryCompartmentParam), as a chart query does
// (Observation?patient=Patient/123), and for a compartment search
// (Patient/123/Encounter) of a type that only that parameter places in the Patient
// compartment. The condition r.compartment = it adds nothing to what q selects; it
// keeps the query on one shard of a distributed schema and on a range of the
// primary key everywhere. A type with other compartment parameters
// (Observation's performer, Condition's asserter) can be in a patient's
// compartment while stored with another patient's record, so its compartment
// searches get no such condition.
func (b *sqlBuilder) patientCompartmentOf(q *search.Query) string {
	if comp := b.compartmentSearchHome(q.Type, q.Compartment); comp != "" {
		return comp
	}
	for _, p := range q.Params {
		if len(p.Values) != 1 || strings.Contains(p.Name, ".") || (p.Modifier != "" && p.Modifier != "Patient") {
			continue
		}
		d, ok := b.reg.Lookup(q.Type, p.Name)
		if !ok || !primaryCompartmentParam(d, q.Type) {
			continue
		}
		v := search.Unescape(p.Values[0])
		if typ, id, _, ok := fhir.ParseReference(v); ok {
			if typ == "Patient" {
				return "Patient/" + id
			}
			continue
		}
		// A bare id names a Patient when the modifier says so or when the
		// parameter matches nothing else (see patientOnly); otherwise
		// subject=123 may be Group/123 as well.
		if fhir.ValidID(v) && (p.Modifier == "Patient" || patientOnly(d)) {
			return "Patient/" + v
		}
	}
	return ""
}

// compartmentSearchHome returns comp ("Patient/123") when every resource of typ in
// that compartment is stored in it: typ is Patient, or every parameter that places
// typ in a Patient compartment decides the compartment (primaryCompartmentParam).
// Otherwise, or for a search that is no compartment search, it returns "".
func (b *sqlBuilder) compartmentSearchHome(typ, comp string) string {
	ctyp, cid, ok := strings.Cut(comp, "/")
	if !ok || ctyp != "Patient" || !fhir.ValidID(cid) || typ == "" {
		return ""
	}
	if typ == "Patient" {
		return comp
	}
	codes := patientCompartmentParams()[typ]
	if len(codes) == 0 {
		return ""
	}
	for _, code := range codes {
		d, ok := b.reg.Lookup(typ, code)
		if !ok {
			continue // not searched by compartment (see compartment)
		}
		if !primaryCompartmentParam(d, typ) {
			return ""
		}
	}
	return comp
}

// patientOnly reports whether reference parameter d matches only references to
// Patients: its only target is Patient, or every path of its expression keeps
// only references that resolve to a Patient (Observation.patient is
// "Observation.subject.where(resolve() is Patient)"), so its index rows name no
// other type.
func patientOnly(d *search.Definition) bool {
	if len(d.Targets) == 1 && d.Targets[0] == "Patient" {
		return true
	}
	if d.Expression == "" {
		return false
	}
	for _, alt := range strings.Split(d.Expression, "|") {
		alt = strings.TrimSpace(alt)
		if strings.HasPrefix(alt, "(") && strings.HasSuffix(alt, ")") {
			alt = alt[1 : len(alt)-1]
		}
		if !strings.HasSuffix(alt, ".where(resolve() is Patient)") {
			return false
		}
	}
	return true
}

// compartment restricts r to the Patient compartment comp ("Patient/123"): the
// patient itself, or resources referring to it through a parameter the R4 Patient
// CompartmentDefinition names for their type.
func (b *sqlBuilder) compartment(typ, comp string, r string) (string, []any, error) {
	ctyp, cid, ok := strings.Cut(comp, "/")
	if !ok || ctyp != "Patient" {
		return "", nil, invalid("only Patient compartments are supported")
	}
	if !fhir.ValidID(cid) {
		return "", nil, invalid("the compartment's Patient id is not a valid id")
	}
	if typ == "Patient" {
		return r + ".res_id = ?", []any{cid}, nil
	}
	params := patientCompartmentParams()[typ]
	if len(params) == 0 {
		return "", nil, invalid("%s is not in the Patient compartment", typ)
	}
	var ors []string
	var args []any
	for _, code := range params {
		d, ok := b.reg.Lookup(typ, code)
		if !ok {
			continue
		}
		if d.Type != "reference" {
			continue
		}
		s, a := b.inIndex(r, "index_reference", typ, code, "i.ref_type = 'Patient' AND i.ref_id = ?", []any{cid}, false)
		ors = append(ors, s)
		args = append(args, a...)
	}
	return "(" + strings.Join(ors, " OR ") + ")", args, nil
}

// sortKey is one ORDER BY key: an SQL expression over r with a sentinel for
// resources that lack a value, so that they sort last in either direction.
type sortKey struct {
	expr string
	args []any
	desc bool
	kind string // text, int, real
}

func (b *sqlBuilder) sortKeys(q *search.Query) ([]sortKey, error) {
	var keys []sortKey
	for _, k := range q.Sort {
		switch k.Name {
		case "_id":
			keys = append(keys, sortKey{expr: "r.res_id", desc: k.Descending, kind: "text"})
			continue
		case "_lastUpdated":
			keys = append(keys, sortKey{expr: "r.last_updated", desc: k.Descending, kind: "int"})
			continue
		}
		d, ok := b.reg.Lookup(q.Type, k.Name)
		if !ok {
			return nil, invalid("_sort: unknown parameter %q", k.Name)
		}
		agg := "min"
		if k.Descending {
			agg = "max"
		}
		var col, kind string
		switch d.Type {
		case "string":
			col, kind = "s.value_norm", "text"
		case "token":
			col, kind = "s.code", "text"
		case "date":
			col, kind = "s.low", "int"
			if k.Descending {
				col = "s.high"
			}
		case "number", "quantity":
			col, kind = "s.value", "real"
		case "reference":
			col, kind = referenceText("s"), "text"
		case "uri":
			col, kind = "s.value", "text"
		default:
			return nil, invalid("_sort: %q cannot be sorted by", k.Name)
		}
		sentinel := map[string][2]string{
			"text": {"'\U0010FFFF'", "''"},
			"int":  {strconv.FormatInt(math.MaxInt64, 10), strconv.FormatInt(math.MinInt64, 10)},
			"real": {"1e308", "-1e308"},
		}[kind][map[bool]int{false: 0, true: 1}[k.Descending]]
		owner, args := "s.compartment = r.compartment", []any{d.Code}
		if b.fixedCompartment != "" {
			owner, args = "s.compartment = ? AND s.compartment = r.compartment", []any{b.fixedCompartment, d.Code}
		}
		expr := "COALESCE((SELECT " + agg + "(" + col + ") FROM " + tableOf[d.Type] + " s" + b.indexedBy(tableOf[d.Type]+"_owner") + " WHERE " + owner + " AND s.res_type = r.res_type AND s.res_id = r.res_id AND s.param = ?), " + sentinel + ")"
		keys = append(keys, sortKey{expr: expr, args: args, desc: k.Descending, kind: kind})
	}
	return keys, nil
}

// referenceText is the reference an index_reference row of alias a was made
// from, as written. Its url column keeps only what ref_type, ref_id and
// ref_version do not spell out (see relativeURL).
func referenceText(a string) string {
	return "(CASE WHEN " + a + ".url <> '' OR " + a + ".ref_type = '' THEN " + a + ".url WHEN " + a + ".ref_version <> '' THEN " +
		a + ".ref_type || '/' || " + a + ".ref_id || '/_history/' || " + a + ".ref_version ELSE " + a + ".ref_type || '/' || " + a + ".ref_id END)"
}

// searchCursor is the position after (or, Backward, before) one result row.
type searchCursor struct {
	Keys     []any  `json:"k,omitempty"`
	Type     string `json:"t"`
	ID       string `json:"i"`
	Backward bool   `json:"b,omitempty"`
}

func encodeSearchCursor(keys []sortKey, vals []any, rec *ehr.Record, backward bool) string {
	c := searchCursor{Type: rec.Type, ID: rec.ID, Backward: backward}
	for i := range keys {
		v := vals[i]
		if bs, ok := v.([]byte); ok {
			v = string(bs)
		}
		c.Keys = append(c.Keys, v)
	}
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeSearchCursor(s string, keys []sortKey) (*searchCursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, invalid("the paging cursor is malformed")
	}
	var c searchCursor
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil || len(c.Keys) != len(keys) {
		return nil, invalid("the paging cursor is malformed or belongs to another sort")
	}
	if !fhir.R4().IsResourceType(c.Type) || !fhir.ValidID(c.ID) {
		return nil, invalid("the paging cursor is malformed")
	}
	for i, k := range keys {
		switch k.kind {
		case "int":
			n, ok := c.Keys[i].(json.Number)
			if !ok {
				return nil, invalid("the paging cursor is malformed")
			}
			v, err := n.Int64()
			if err != nil {
				return nil, invalid("the paging cursor is malformed")
			}
			c.Keys[i] = v
		case "real":
			n, ok := c.Keys[i].(json.Number)
			if !ok {
				return nil, invalid("the paging cursor is malformed")
			}
			v, _ := n.Float64()
			c.Keys[i] = v
		default:
			// No text either engine keeps holds a NUL, and PostgreSQL refuses one.
			if v, ok := c.Keys[i].(string); !ok || strings.ContainsRune(v, 0) {
				return nil, invalid("the paging cursor is malformed")
			}
		}
	}
	return &c, nil
}

// keysetCondition selects the rows after c in the (possibly reversed) sort order.
func keysetCondition(keys []sortKey, c *searchCursor) (string, []any) {
	after := func(desc bool) string {
		if desc != c.Backward {
			return " < "
		}
		return " > "
	}
	tieOp := after(false)
	cond := "(r.res_type" + tieOp + "? OR (r.res_type = ? AND r.res_id" + tieOp + "?))"
	args := []any{c.Type, c.Type, c.ID}
	for i := len(keys) - 1; i >= 0; i-- {
		k := keys[i]
		kargs := append(append(append(append([]any{}, k.args...), c.Keys[i]), k.args...), c.Keys[i])
		cond = "(" + k.expr + after(k.desc) + "? OR (" + k.expr + " = ? AND " + cond + "))"
		args = append(kargs, args...)
	}
	return cond, args
}

// loadBodies reads the JSON of the given versions, one statement per page.
func (t *tx) loadBodies(ctx context.Context, recs []*ehr.Record, compartments []string) error {
	if len(recs) == 0 {
		return nil
	}
	byKey := make(map[string]*ehr.Record, len(recs))
	for _, r := range recs {
		byKey[r.Type+"/"+r.ID] = r
	}
	query, args := t.bodiesQuery(recs, compartments)
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var typ, id string
		var body []byte
		if err := rows.Scan(&typ, &id, bodyDest(&body)); err != nil {
			return fmt.Errorf("search: %w", err)
		}
		if r := byKey[typ+"/"+id]; r != nil {
			r.Resource = body
		}
	}
	return rows.Err()
}

// bodiesQuery is loadBodies' query for the given versions.
func (t *tx) bodiesQuery(recs []*ehr.Record, compartments []string) (string, []any) {
	rowsSQL := make([]string, len(recs))
	args := make([]any, 0, 4*len(recs)+1)
	for i, r := range recs {
		rowsSQL[i] = "(?, ?, ?, CAST(? AS BIGINT))"
		args = append(args, compartments[i], r.Type, r.ID, r.Version)
	}
	where := `(v.compartment, v.res_type, v.res_id, v.version) IN (VALUES ` + strings.Join(rowsSQL, ", ") + `)`
	if distributed(t.s.dialect) {
		// The page's compartments, named alone, let the engine read only their
		// shards: one for a page of one patient's records.
		distinct := slices.Compact(slices.Sorted(slices.Values(compartments)))
		where += " AND v.compartment IN (" + marks(len(distinct)) + ")"
		for _, c := range distinct {
			args = append(args, c)
		}
	}
	return `SELECT v.res_type, v.res_id, v.body FROM resource_versions v WHERE ` + where, args
}
