package fhirpath

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"omnichart/internal/fhir"
)

// Expression is a compiled FHIRPath expression. It is immutable and safe for
// concurrent use.
type Expression struct {
	src  string
	root expr
}

// Compile parses a FHIRPath expression. A syntax error, an unknown function or a
// wrong number of arguments is a *SyntaxError giving the byte offset.
func Compile(src string) (*Expression, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, src: src}
	root, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errf(t.pos, "unexpected %s after the end of the expression", describe(t))
	}
	return &Expression{src: src, root: root}, nil
}

// MustCompile is Compile for expressions known to be valid; it panics otherwise.
func MustCompile(src string) *Expression {
	e, err := Compile(src)
	if err != nil {
		panic(err)
	}
	return e
}

// String returns the source text.
func (e *Expression) String() string { return e.src }

// EvalError is an error found while evaluating, at a byte offset of the expression.
type EvalError struct {
	Offset int
	Msg    string
}

func (e *EvalError) Error() string {
	return fmt.Sprintf("fhirpath: at offset %d: %s", e.Offset, e.Msg)
}

func evalErr(pos int, format string, a ...any) error {
	return &EvalError{Offset: pos, Msg: fmt.Sprintf(format, a...)}
}

// Resolver looks up the resource a reference points to. reference is the literal
// Reference.reference (relative, absolute or with _history). ok is false when the
// resource is unknown.
type Resolver func(reference string) (resource any, ok bool)

// Option configures one evaluation.
type Option func(*options)

type options struct {
	resolver     Resolver
	vars         map[string]Collection
	now          func() time.Time
	strict       bool
	trace        func(name string, c Collection)
	resource     *Node
	rootResource *Node
}

// WithResolver makes resolve() look references up. Without it, resolve() answers a
// placeholder typed by the resource type named in the reference.
func WithResolver(r Resolver) Option { return func(o *options) { o.resolver = r } }

// WithVariable defines %name. value is a Collection, a Node, a decoded tree value, or
// a Go string, bool, int, int64, Decimal, Temporal or Quantity.
func WithVariable(name string, value any) Option {
	return func(o *options) {
		if o.vars == nil {
			o.vars = map[string]Collection{}
		}
		o.vars[name] = toCollection(value)
	}
}

// WithNow fixes the clock that now(), today() and timeOfDay() read.
func WithNow(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithStrict makes navigation to an element the model does not define an error,
// instead of an empty collection.
func WithStrict() Option { return func(o *options) { o.strict = true } }

// WithTrace receives what trace() logs.
func WithTrace(fn func(name string, c Collection)) Option { return func(o *options) { o.trace = fn } }

// WithResource sets %resource and %rootResource when the input is not the resource
// itself (an invariant evaluated on an element, say).
func WithResource(resource any) Option {
	return func(o *options) {
		n := toNode(resource)
		o.resource, o.rootResource = &n, &n
	}
}

func toNode(v any) Node {
	if n, ok := v.(Node); ok {
		return n
	}
	return NewNode(v)
}

func toCollection(v any) Collection {
	switch x := v.(type) {
	case nil:
		return nil
	case Collection:
		return x
	case []Node:
		return Collection(x)
	case Node:
		return Collection{x}
	case []any:
		out := make(Collection, 0, len(x))
		for _, e := range x {
			out = append(out, toNode(e))
		}
		return out
	case int:
		return Collection{sysInt(int64(x))}
	}
	return Collection{toNode(v)}
}

type evaluator struct {
	opts    options
	context Collection
	now     time.Time
	depth   int
}

type frame struct {
	this     Collection
	index    int
	hasIndex bool
	total    Collection
	hasTotal bool
}

// maxDepth bounds recursion through nested function arguments so that a hostile
// expression cannot exhaust the stack.
const maxDepth = 2000

// Evaluate runs the expression over input: a decoded resource (map[string]any), a
// Node, a Collection, or nil. Errors are *EvalError values; evaluation never panics.
func (e *Expression) Evaluate(input any, opts ...Option) (Collection, error) {
	ev := &evaluator{}
	for _, o := range opts {
		o(&ev.opts)
	}
	if ev.opts.now == nil {
		ev.opts.now = time.Now
	}
	ev.now = ev.opts.now()
	ev.context = toCollection(input)
	return ev.eval(e.root, &frame{this: ev.context})
}

// EvaluateBool runs the expression and reads its result as one boolean; empty is
// false. It suits invariants.
func (e *Expression) EvaluateBool(input any, opts ...Option) (bool, error) {
	c, err := e.Evaluate(input, opts...)
	if err != nil {
		return false, err
	}
	b, empty, err := singletonBool(c, 0)
	return b && !empty, err
}

func (ev *evaluator) eval(x expr, f *frame) (Collection, error) {
	ev.depth++
	defer func() { ev.depth-- }()
	if ev.depth > maxDepth {
		return nil, errors.New("fhirpath: expression nests too deeply")
	}
	switch x := x.(type) {
	case *litExpr:
		return x.c, nil
	case *memberExpr:
		var in Collection
		if x.src == nil {
			in = f.this
			if x.name != "" && x.name[0] >= 'A' && x.name[0] <= 'Z' {
				return ev.typeFilter(in, x)
			}
		} else {
			if ev.opts.strict {
				if err := checkStaticMember(x); err != nil {
					return nil, err
				}
			}
			var err error
			if in, err = ev.eval(x.src, f); err != nil {
				return nil, err
			}
		}
		var out Collection
		for _, n := range in {
			c, err := n.children(x.name, ev.opts.strict)
			if err != nil {
				return nil, evalErr(x.pos, "%s", err.Error())
			}
			out = append(out, c...)
		}
		return out, nil
	case *funcExpr:
		focus := f.this
		if x.src != nil {
			var err error
			if focus, err = ev.eval(x.src, f); err != nil {
				return nil, err
			}
		}
		return x.fn.impl(ev, f, focus, x)
	case *dollarExpr:
		switch x.name {
		case "$this":
			return f.this, nil
		case "$index":
			if !f.hasIndex {
				return nil, evalErr(x.pos, "$index is only defined inside an iteration")
			}
			return Collection{sysInt(int64(f.index))}, nil
		default:
			if !f.hasTotal {
				return nil, evalErr(x.pos, "$total is only defined inside aggregate()")
			}
			return f.total, nil
		}
	case *envExpr:
		return ev.env(x)
	case *indexExpr:
		in, err := ev.eval(x.src, f)
		if err != nil {
			return nil, err
		}
		ic, err := ev.eval(x.idx, f)
		if err != nil {
			return nil, err
		}
		i, ok, err := singletonInt(ic, x.pos)
		if err != nil || !ok {
			return nil, err
		}
		if i < 0 || i >= int64(len(in)) {
			return nil, nil
		}
		return Collection{in[i]}, nil
	case *unaryExpr:
		c, err := ev.eval(x.x, f)
		if err != nil {
			return nil, err
		}
		return negate(c, x.pos)
	case *binExpr:
		return ev.binary(x, f)
	case *typeExpr:
		c, err := ev.eval(x.x, f)
		if err != nil {
			return nil, err
		}
		if x.op == "is" {
			if len(c) == 0 {
				return nil, nil
			}
			if len(c) > 1 {
				return nil, evalErr(x.pos, "'is' needs a single item, got %d", len(c))
			}
			return Collection{sysBool(c[0].isType(x.typ))}, nil
		}
		// 'as' filters rather than failing on several items: R4 search
		// expressions apply it to repeating elements.
		return ofType(c, x.typ), nil
	}
	return nil, fmt.Errorf("fhirpath: unknown expression node %T", x)
}

// checkStaticMember rejects, in strict mode, a name that the type a value was
// cast to cannot have: (Observation.value as Period).unit is an error even when
// the cast gives nothing to navigate.
func checkStaticMember(x *memberExpr) error {
	typ := ""
	switch s := x.src.(type) {
	case *typeExpr:
		if s.op == "as" {
			typ = s.typ
		}
	case *funcExpr:
		if s.name == "as" || s.name == "ofType" {
			typ = s.typ
		}
	}
	if typ == "" || strings.HasPrefix(typ, "System.") {
		return nil
	}
	typ = strings.TrimPrefix(typ, "FHIR.")
	td, ok := fhir.R4().Type(typ)
	if !ok {
		return nil
	}
	if _, ok := td.Elements[typ+"."+x.name]; ok {
		return nil
	}
	if _, ok := td.Elements[typ+"."+x.name+"[x]"]; ok {
		return nil
	}
	return evalErr(x.pos, "%s has no element %q", typ, x.name)
}

// typeFilter handles a leading type name, as in "Patient.name": the input items of
// that type, or nothing.
func (ev *evaluator) typeFilter(in Collection, x *memberExpr) (Collection, error) {
	var out Collection
	for _, n := range in {
		if n.isType(x.name) {
			out = append(out, n)
		}
	}
	if len(out) == 0 && len(in) > 0 {
		// A capitalised element name does not exist in FHIR, but untyped content may have one.
		for _, n := range in {
			if n.ctx.Type == "" {
				c, err := n.children(x.name, false)
				if err != nil {
					return nil, evalErr(x.pos, "%s", err.Error())
				}
				out = append(out, c...)
			}
		}
		if len(out) == 0 && ev.opts.strict {
			return nil, evalErr(x.pos, "the input is %s, not %s", in[0].Type, x.name)
		}
	}
	return out, nil
}

func (ev *evaluator) env(x *envExpr) (Collection, error) {
	if c, ok := ev.opts.vars[x.name]; ok {
		return c, nil
	}
	switch x.name {
	case "context":
		return ev.context, nil
	case "resource":
		if ev.opts.resource != nil {
			return Collection{*ev.opts.resource}, nil
		}
		return ev.contextResource(), nil
	case "rootResource":
		if ev.opts.rootResource != nil {
			return Collection{*ev.opts.rootResource}, nil
		}
		return ev.contextResource(), nil
	case "ucum":
		return Collection{sysString("http://unitsofmeasure.org")}, nil
	case "sct":
		return Collection{sysString("http://snomed.info/sct")}, nil
	case "loinc":
		return Collection{sysString("http://loinc.org")}, nil
	}
	if v, ok := strings.CutPrefix(x.name, "vs-"); ok {
		return Collection{sysString("http://hl7.org/fhir/ValueSet/" + v)}, nil
	}
	if v, ok := strings.CutPrefix(x.name, "ext-"); ok {
		return Collection{sysString("http://hl7.org/fhir/StructureDefinition/" + v)}, nil
	}
	return nil, evalErr(x.pos, "unknown variable %%%s", x.name)
}

func (ev *evaluator) contextResource() Collection {
	if len(ev.context) == 0 {
		return nil
	}
	n := ev.context[0]
	if n.res != nil {
		return Collection{NewNode(n.res)}
	}
	return Collection{n}
}

// singletonBool applies FHIRPath singleton evaluation for a boolean: one boolean is
// itself, any other single item is true, and empty is empty.
func singletonBool(c Collection, pos int) (val, empty bool, err error) {
	switch len(c) {
	case 0:
		return false, true, nil
	case 1:
		if v, ok := c[0].System(); ok {
			if b, ok := v.(bool); ok {
				return b, false, nil
			}
		}
		return true, false, nil
	}
	return false, false, evalErr(pos, "expected a single boolean, got %d items", len(c))
}

func singletonInt(c Collection, pos int) (int64, bool, error) {
	switch len(c) {
	case 0:
		return 0, false, nil
	case 1:
		if v, ok := c[0].System(); ok {
			if i, ok := v.(int64); ok {
				return i, true, nil
			}
		}
		return 0, false, evalErr(pos, "expected an integer, got %s", c[0].Type)
	}
	return 0, false, evalErr(pos, "expected a single integer, got %d items", len(c))
}

// singleton returns the one item of c; ok is false when c is empty.
func singleton(c Collection, pos int, what string) (Node, bool, error) {
	switch len(c) {
	case 0:
		return Node{}, false, nil
	case 1:
		return c[0], true, nil
	}
	return Node{}, false, evalErr(pos, "%s needs a single item, got %d", what, len(c))
}

func singletonValue(c Collection, pos int, what string) (any, bool, error) {
	n, ok, err := singleton(c, pos, what)
	if !ok || err != nil {
		return nil, false, err
	}
	v, ok := n.System()
	if !ok {
		return nil, false, evalErr(pos, "%s cannot use a %s", what, n.Type)
	}
	return v, true, nil
}

func negate(c Collection, pos int) (Collection, error) {
	v, ok, err := singletonValue(c, pos, "unary minus")
	if !ok || err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case int64:
		return Collection{sysInt(-x)}, nil
	case Decimal:
		return Collection{sysDecimal(x.neg())}, nil
	case Quantity:
		return Collection{sysQuantity(Quantity{Value: x.Value.neg(), Unit: x.Unit})}, nil
	}
	return nil, evalErr(pos, "cannot negate a %s", c[0].Type)
}

func (ev *evaluator) binary(x *binExpr, f *frame) (Collection, error) {
	l, err := ev.eval(x.l, f)
	if err != nil {
		return nil, err
	}
	// and / or / implies may decide from the left side alone, but the right side
	// is still evaluated so that its errors are not hidden by chance.
	r, err := ev.eval(x.r, f)
	if err != nil {
		return nil, err
	}
	switch x.op {
	case "and", "or", "xor", "implies":
		return logic(x.op, l, r, x.pos)
	case "|":
		return union(l, r), nil
	case "=", "!=":
		eq, known := equalCollections(l, r)
		if !known {
			return nil, nil
		}
		return Collection{sysBool(eq == (x.op == "="))}, nil
	case "~", "!~":
		return Collection{sysBool(equivCollections(l, r) == (x.op == "~"))}, nil
	case "<", "<=", ">", ">=":
		return compareOp(x.op, l, r, x.pos)
	case "in", "contains":
		item, coll := l, r
		if x.op == "contains" {
			item, coll = r, l
		}
		n, ok, err := singleton(item, x.pos, x.op)
		if err != nil || !ok {
			return nil, err
		}
		for _, m := range coll {
			if eq, known := equalNodes(n, m); eq && known {
				return Collection{sysBool(true)}, nil
			}
		}
		return Collection{sysBool(false)}, nil
	case "&":
		ls, err := concatOperand(l, x.pos)
		if err != nil {
			return nil, err
		}
		rs, err := concatOperand(r, x.pos)
		if err != nil {
			return nil, err
		}
		return Collection{sysString(ls + rs)}, nil
	}
	return arithmetic(x.op, l, r, x.pos)
}

func concatOperand(c Collection, pos int) (string, error) {
	v, ok, err := singletonValue(c, pos, "&")
	if err != nil || !ok {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", evalErr(pos, "& needs strings, got %s", c[0].Type)
	}
	return s, nil
}

func logic(op string, l, r Collection, pos int) (Collection, error) {
	a, aEmpty, err := singletonBool(l, pos)
	if err != nil {
		return nil, err
	}
	b, bEmpty, err := singletonBool(r, pos)
	if err != nil {
		return nil, err
	}
	res := func(v bool) (Collection, error) { return Collection{sysBool(v)}, nil }
	switch op {
	case "and":
		if (!aEmpty && !a) || (!bEmpty && !b) {
			return res(false)
		}
		if !aEmpty && !bEmpty {
			return res(true)
		}
	case "or":
		if (!aEmpty && a) || (!bEmpty && b) {
			return res(true)
		}
		if !aEmpty && !bEmpty {
			return res(false)
		}
	case "xor":
		if !aEmpty && !bEmpty {
			return res(a != b)
		}
	case "implies":
		if !aEmpty && !a {
			return res(true)
		}
		if !bEmpty && b {
			return res(true)
		}
		if !aEmpty && !bEmpty {
			return res(false)
		}
	}
	return nil, nil
}

func union(l, r Collection) Collection {
	s := newNodeSet(len(l) + len(r))
	for _, c := range []Collection{l, r} {
		for _, n := range c {
			s.add(n)
		}
	}
	return s.nodes
}

// setOf returns the node set of c.
func setOf(c Collection) *nodeSet {
	s := newNodeSet(len(c))
	for _, n := range c {
		s.add(n)
	}
	return s
}

func containsNode(c Collection, n Node) bool {
	for _, m := range c {
		if eq, known := equalNodes(n, m); eq && known {
			return true
		}
	}
	return false
}

func compareOp(op string, l, r Collection, pos int) (Collection, error) {
	a, ok, err := singleton(l, pos, op)
	if err != nil || !ok {
		return nil, err
	}
	b, ok, err := singleton(r, pos, op)
	if err != nil || !ok {
		return nil, err
	}
	c, known, err := compareNodes(a, b)
	if err != nil {
		return nil, evalErr(pos, "%s: %s", op, err.Error())
	}
	if !known {
		return nil, nil
	}
	var v bool
	switch op {
	case "<":
		v = c < 0
	case "<=":
		v = c <= 0
	case ">":
		v = c > 0
	default:
		v = c >= 0
	}
	return Collection{sysBool(v)}, nil
}

func arithmetic(op string, l, r Collection, pos int) (Collection, error) {
	a, ok, err := singletonValue(l, pos, op)
	if err != nil || !ok {
		return nil, err
	}
	b, ok, err := singletonValue(r, pos, op)
	if err != nil || !ok {
		return nil, err
	}
	bad := func() (Collection, error) {
		return nil, evalErr(pos, "cannot apply %s to %s and %s", op, l[0].Type, r[0].Type)
	}
	if ta, ok := a.(Temporal); ok {
		q, ok := b.(Quantity)
		if !ok || (op != "+" && op != "-") {
			return bad()
		}
		res, err := addQuantity(ta, q, op == "-")
		if err != nil {
			return nil, evalErr(pos, "%s", err.Error())
		}
		return Collection{sysTemporal(res)}, nil
	}
	if sa, ok := a.(string); ok {
		sb, ok := b.(string)
		if !ok || op != "+" {
			return bad()
		}
		return Collection{sysString(sa + sb)}, nil
	}
	if qa, ok := a.(Quantity); ok {
		return quantityArithmetic(op, qa, b, pos)
	}
	if qb, ok := b.(Quantity); ok {
		if op == "*" {
			return quantityArithmetic(op, qb, a, pos)
		}
		return bad()
	}
	ia, aInt := a.(int64)
	ib, bInt := b.(int64)
	if aInt && bInt {
		switch op {
		case "+":
			return Collection{sysInt(ia + ib)}, nil
		case "-":
			return Collection{sysInt(ia - ib)}, nil
		case "*":
			return Collection{sysInt(ia * ib)}, nil
		case "div":
			if ib == 0 {
				return nil, nil
			}
			return Collection{sysInt(ia / ib)}, nil
		case "mod":
			if ib == 0 {
				return nil, nil
			}
			return Collection{sysInt(ia % ib)}, nil
		}
	}
	da, ok1 := toDecimal(a)
	db, ok2 := toDecimal(b)
	if !ok1 || !ok2 {
		return bad()
	}
	switch op {
	case "+":
		return Collection{sysDecimal(da.add(db))}, nil
	case "-":
		return Collection{sysDecimal(da.sub(db))}, nil
	case "*":
		return Collection{sysDecimal(da.mul(db))}, nil
	case "/":
		q, ok := da.quo(db)
		if !ok {
			return nil, nil
		}
		return Collection{sysDecimal(q)}, nil
	case "div":
		q, ok := da.quo(db)
		if !ok {
			return nil, nil
		}
		return Collection{sysInt(q.truncInt().Int64())}, nil
	case "mod":
		q, ok := da.quo(db)
		if !ok {
			return nil, nil
		}
		t := DecimalFromInt(q.truncInt().Int64())
		return Collection{sysDecimal(da.sub(db.mul(t)))}, nil
	}
	return bad()
}

func toDecimal(v any) (Decimal, bool) {
	switch x := v.(type) {
	case int64:
		return DecimalFromInt(x), true
	case Decimal:
		return x, true
	}
	return Decimal{}, false
}

func quantityArithmetic(op string, q Quantity, b any, pos int) (Collection, error) {
	if qb, ok := b.(Quantity); ok {
		switch op {
		case "+", "-":
			c, ok := qb.convertTo(q.Unit)
			if !ok {
				return nil, evalErr(pos, "cannot %s quantities in %q and %q", op, q.Unit, qb.Unit)
			}
			v := q.Value.add(c.Value)
			if op == "-" {
				v = q.Value.sub(c.Value)
			}
			return Collection{sysQuantity(Quantity{Value: v, Unit: q.Unit})}, nil
		case "*":
			if c, ok := qb.convertTo(q.Unit); ok && q.Unit != "1" {
				qb = c
			}
			return Collection{sysQuantity(Quantity{Value: q.Value.mul(qb.Value), Unit: mulUnits(q.Unit, qb.Unit)})}, nil
		case "/":
			if c, ok := qb.convertTo(q.Unit); ok {
				qb = c
			}
			v, ok := q.Value.quo(qb.Value)
			if !ok {
				return nil, nil
			}
			return Collection{sysQuantity(Quantity{Value: v, Unit: divUnits(q.Unit, qb.Unit)})}, nil
		}
		return nil, evalErr(pos, "cannot apply %s to quantities", op)
	}
	d, ok := toDecimal(b)
	if !ok {
		return nil, evalErr(pos, "cannot apply %s to a quantity and a %T", op, b)
	}
	switch op {
	case "*":
		return Collection{sysQuantity(Quantity{Value: q.Value.mul(d), Unit: q.Unit})}, nil
	case "/":
		v, ok := q.Value.quo(d)
		if !ok {
			return nil, nil
		}
		return Collection{sysQuantity(Quantity{Value: v, Unit: q.Unit})}, nil
	}
	return nil, evalErr(pos, "cannot apply %s to a quantity and a number", op)
}

// addQuantity adds (or subtracts) a time-valued quantity to a date or time. A
// fractional amount is truncated to whole units, as the spec says for calendar
// durations.
func addQuantity(t Temporal, q Quantity, subtract bool) (Temporal, error) {
	unit := q.Unit
	if u, ok := calendarForUCUM[unit]; ok {
		unit = u
	}
	if calendarUnits[unit] == "" {
		return t, fmt.Errorf("cannot add a quantity in %q to a date or time", q.Unit)
	}
	unit = calendarUnits[unit]
	n := q.Value.truncInt().Int64()
	if subtract {
		n = -n
	}
	// Below the precision of the value, whole units of that precision are added.
	switch {
	case t.Kind != KindTime && t.Precision < PrecDay && (unit == "day" || unit == "week" || unit == "hour" || unit == "minute" || unit == "second" || unit == "millisecond"):
		days := durationDays(n, unit)
		if t.Precision == PrecMonth {
			return t.addDuration(days/30, "month")
		}
		return t.addDuration(days/365, "year")
	case t.Kind == KindDate && (unit == "hour" || unit == "minute" || unit == "second" || unit == "millisecond"):
		return t.addDuration(durationDays(n, unit), "day")
	}
	return t.addDuration(n, unit)
}

func durationDays(n int64, unit string) int64 {
	switch unit {
	case "week":
		return n * 7
	case "hour":
		return n / 24
	case "minute":
		return n / (24 * 60)
	case "second":
		return n / 86400
	case "millisecond":
		return n / 86400000
	}
	return n
}

// jsonEqual compares two JSON tree values, numbers by value.
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return false
		}
		nx, ny := 0, 0
		for k, v := range x {
			if k == "fhir_comments" {
				continue
			}
			nx++
			if !jsonEqual(v, y[k]) {
				return false
			}
		}
		for k := range y {
			if k != "fhir_comments" {
				ny++
			}
		}
		return nx == ny
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		dx, e1 := ParseDecimal(string(x))
		dy, e2 := ParseDecimal(string(y))
		return e1 == nil && e2 == nil && dx.Cmp(dy) == 0
	}
	return a == b
}
