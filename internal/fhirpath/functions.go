package fhirpath

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"omnichart/internal/fhir"
)

// funcDef describes one function: its argument count and implementation. typeArg
// marks is/as/ofType, whose argument is a type name and not an expression.
type funcDef struct {
	min, max int
	typeArg  bool
	impl     func(ev *evaluator, f *frame, focus Collection, fe *funcExpr) (Collection, error)
}

type implFn = func(ev *evaluator, f *frame, focus Collection, fe *funcExpr) (Collection, error)

func fn(min, max int, impl implFn) *funcDef { return &funcDef{min: min, max: max, impl: impl} }

// lookupFunc finds a function by name. It is a switch rather than a table so that
// the functions can call back into the evaluator without an initialisation cycle.
func lookupFunc(name string) (*funcDef, bool) {
	var d *funcDef
	switch name {
	// Existence.
	case "empty":
		d = fn(0, 0, func(_ *evaluator, _ *frame, c Collection, _ *funcExpr) (Collection, error) {
			return bools(len(c) == 0), nil
		})
	case "exists":
		d = fn(0, 1, func(ev *evaluator, f *frame, c Collection, fe *funcExpr) (Collection, error) {
			if len(fe.args) == 1 {
				var err error
				if c, err = ev.where(f, c, fe.args[0], fe.pos); err != nil {
					return nil, err
				}
			}
			return bools(len(c) > 0), nil
		})
	case "all":
		d = fn(1, 1, func(ev *evaluator, f *frame, c Collection, fe *funcExpr) (Collection, error) {
			for i, n := range c {
				r, err := ev.eval(fe.args[0], iterFrame(f, n, i))
				if err != nil {
					return nil, err
				}
				b, empty, err := singletonBool(r, fe.pos)
				if err != nil {
					return nil, err
				}
				if empty || !b {
					return bools(false), nil
				}
			}
			return bools(true), nil
		})
	case "allTrue", "anyTrue", "allFalse", "anyFalse":
		d = fn(0, 0, func(_ *evaluator, _ *frame, c Collection, fe *funcExpr) (Collection, error) {
			want := strings.HasSuffix(fe.name, "True")
			all := strings.HasPrefix(fe.name, "all")
			for _, n := range c {
				v, ok := n.System()
				b, isBool := v.(bool)
				if !ok || !isBool {
					return nil, evalErr(fe.pos, "%s() needs booleans, got %s", fe.name, n.Type)
				}
				if all && b != want {
					return bools(false), nil
				}
				if !all && b == want {
					return bools(true), nil
				}
			}
			return bools(all), nil
		})
	case "subsetOf", "supersetOf":
		d = fn(1, 1, func(ev *evaluator, f *frame, c Collection, fe *funcExpr) (Collection, error) {
			other, err := ev.eval(fe.args[0], rootFrame(ev, f))
			if err != nil {
				return nil, err
			}
			sub, sup := c, other
			if fe.name == "supersetOf" {
				sub, sup = other, c
			}
			set := setOf(sup)
			for _, n := range sub {
				if !set.has(n) {
					return bools(false), nil
				}
			}
			return bools(true), nil
		})
	case "count":
		d = fn(0, 0, func(_ *evaluator, _ *frame, c Collection, _ *funcExpr) (Collection, error) {
			return Collection{sysInt(int64(len(c)))}, nil
		})
	case "distinct":
		d = fn(0, 0, func(_ *evaluator, _ *frame, c Collection, _ *funcExpr) (Collection, error) {
			return union(c, nil), nil
		})
	case "isDistinct":
		d = fn(0, 0, func(_ *evaluator, _ *frame, c Collection, _ *funcExpr) (Collection, error) {
			return bools(len(union(c, nil)) == len(c)), nil
		})

	// Filtering and projection.
	case "where":
		d = fn(1, 1, func(ev *evaluator, f *frame, c Collection, fe *funcExpr) (Collection, error) {
			return ev.where(f, c, fe.args[0], fe.pos)
		})
	case "select":
		d = fn(1, 1, func(ev *evaluator, f *frame, c Collection, fe *funcExpr) (Collection, error) {
			var out Collection
			for i, n := range c {
				r, err := ev.eval(fe.args[0], iterFrame(f, n, i))
				if err != nil {
					return nil, err
				}
				out = append(out, r...)
			}
			return out, nil
		})
	case "repeat":
		d = fn(1, 1, func(ev *evaluator, f *frame, c Collection, fe *funcExpr) (Collection, error) {
			out := newNodeSet(0)
			queue := c
			for len(queue) > 0 {
				var next Collection
				for i, n := range queue {
					r, err := ev.eval(fe.args[0], iterFrame(f, n, i))
					if err != nil {
						return nil, err
					}
					for _, m := range r {
						if out.add(m) {
							next = append(next, m)
						}
					}
				}
				queue = next
			}
			if len(out.nodes) == 0 {
				return nil, nil
			}
			return out.nodes, nil
		})
	case "ofType":
		d = &funcDef{min: 1, max: 1, typeArg: true, impl: func(_ *evaluator, _ *frame, c Collection, fe *funcExpr) (Collection, error) {
			return ofType(c, fe.typ), nil
		}}
	case "is":
		d = &funcDef{min: 1, max: 1, typeArg: true, impl: func(_ *evaluator, _ *frame, c Collection, fe *funcExpr) (Collection, error) {
			n, ok, err := singleton(c, fe.pos, "is()")
			if err != nil || !ok {
				return nil, err
			}
			return bools(n.isType(fe.typ)), nil
		}}
	case "as":
		d = &funcDef{min: 1, max: 1, typeArg: true, impl: func(_ *evaluator, _ *frame, c Collection, fe *funcExpr) (Collection, error) {
			if len(c) > 1 {
				return nil, evalErr(fe.pos, "as() needs a single item, got %d: use ofType()", len(c))
			}
			return ofType(c, fe.typ), nil
		}}
	case "type":
		d = fn(0, 0, func(_ *evaluator, _ *frame, c Collection, _ *funcExpr) (Collection, error) {
			out := make(Collection, 0, len(c))
			for _, n := range c {
				out = append(out, Node{Value: n.typeInfo(), Type: typeTypeInfo})
			}
			return out, nil
		})

	// Subsetting.
	case "single":
		d = fn(0, 0, func(_ *evaluator, _ *frame, c Collection, fe *funcExpr) (Collection, error) {
			if len(c) > 1 {
				return nil, evalErr(fe.pos, "single() found %d items", len(c))
			}
			return c, nil
		})
	case "first":
		d = fn(0, 0, func(_ *evaluator, _ *frame, c Collection, _ *funcExpr) (Collection, error) {
			if len(c) == 0 {
				return nil, nil
			}
			return c[:1], nil
		})
	case "last":
		d = fn(0, 0, func(_ *evaluator, _ *frame, c Collection, _ *funcExpr) (Collection, error) {
			if len(c) == 0 {
				return nil, nil
			}
			return c[len(c)-1:], nil
		})
	case "tail":
		d = fn(0, 0, func(_ *evaluator, _ *frame, c Collection, _ *funcExpr) (Collection, error) {
			if len(c) < 2 {
				return nil, nil
			}
			return c[1:], nil
		})
	case "skip", "take":
		d = fn(1, 1, func(ev *evaluator, f *frame, c Collection, fe *funcExpr) (Collection, error) {
			n, ok, err := ev.intArg(f, fe, 0)
			if err != nil {
				return nil, err
			}
			if !ok {
				if fe.name == "take" {
					return nil, nil
				}
				return c, nil
			}
			n = max(0, min(n, int64(len(c))))
			if fe.name == "skip" {
				return c[n:], nil
			}
			return c[:n], nil
		})
	case "intersect", "exclude":
		d = fn(1, 1, func(ev *evaluator, f *frame, c Collection, fe *funcExpr) (Collection, error) {
			other, err := ev.eval(fe.args[0], rootFrame(ev, f))
			if err != nil {
				return nil, err
			}
			var out Collection
			in, seen := setOf(other), newNodeSet(0)
			for _, n := range c {
				if in.has(n) == (fe.name == "intersect") {
					if fe.name == "intersect" && !seen.add(n) {
						continue
					}
					out = append(out, n)
				}
			}
			return out, nil
		})

	// Combining.
	case "union":
		d = fn(1, 1, func(ev *evaluator, f *frame, c Collection, fe *funcExpr) (Collection, error) {
			other, err := ev.eval(fe.args[0], rootFrame(ev, f))
			if err != nil {
				return nil, err
			}
			return union(c, other), nil
		})
	case "combine":
		d = fn(1, 1, func(ev *evaluator, f *frame, c Collection, fe *funcExpr) (Collection, error) {
			other, err := ev.eval(fe.args[0], rootFrame(ev, f))
			if err != nil {
				return nil, err
			}
			return append(append(Collection{}, c...), other...), nil
		})

	// Conversion.
	case "iif":
		d = fn(2, 3, func(ev *evaluator, f *frame, c Collection, fe *funcExpr) (Collection, error) {
			if fe.src != nil && len(c) > 1 {
				return nil, evalErr(fe.pos, "iif() needs a single input item, got %d", len(c))
			}
			inner := f
			if fe.src != nil {
				inner = &frame{this: c, index: f.index, hasIndex: f.hasIndex, total: f.total, hasTotal: f.hasTotal}
			}
			cond, err := ev.eval(fe.args[0], inner)
			if err != nil {
				return nil, err
			}
			if len(cond) > 1 {
				return nil, evalErr(fe.pos, "iif() criterion must be a single boolean")
			}
			b, empty := false, true
			if len(cond) == 1 {
				v, _ := cond[0].System()
				bv, ok := v.(bool)
				if !ok {
					return nil, evalErr(fe.pos, "iif() criterion must be a boolean, got %s", cond[0].Type)
				}
				b, empty = bv, false
			}
			if !empty && b {
				return ev.eval(fe.args[1], inner)
			}
			if len(fe.args) == 3 {
				return ev.eval(fe.args[2], inner)
			}
			return nil, nil
		})
	case "toBoolean", "toInteger", "toDecimal", "toString", "toDate", "toDateTime", "toTime", "toQuantity",
		"convertsToBoolean", "convertsToInteger", "convertsToDecimal", "convertsToString", "convertsToDate",
		"convertsToDateTime", "convertsToTime", "convertsToQuantity":
		max := 0
		if strings.HasSuffix(name, "Quantity") {
			max = 1
		}
		d = fn(0, max, convert)

	// Strings.
	case "indexOf", "substring", "startsWith", "endsWith", "contains", "upper", "lower", "replace", "matches",
		"matchesFull", "replaceMatches", "length", "toChars", "trim", "split", "encode", "decode", "escape", "unescape":
		n := map[string][2]int{"indexOf": {1, 1}, "substring": {1, 2}, "startsWith": {1, 1}, "endsWith": {1, 1},
			"contains": {1, 1}, "replace": {2, 2}, "matches": {1, 1}, "matchesFull": {1, 1}, "replaceMatches": {2, 2},
			"split": {1, 1}, "encode": {1, 1}, "decode": {1, 1}, "escape": {1, 1}, "unescape": {1, 1}}[name]
		d = fn(n[0], n[1], stringFunc)
	case "join":
		d = fn(0, 1, func(ev *evaluator, f *frame, c Collection, fe *funcExpr) (Collection, error) {
			sep := ""
			if len(fe.args) == 1 {
				s, ok, err := ev.stringArg(f, fe, 0)
				if err != nil || !ok {
					return nil, err
				}
				sep = s
			}
			parts := make([]string, 0, len(c))
			for _, n := range c {
				v, _ := n.System()
				s, ok := v.(string)
				if !ok {
					return nil, evalErr(fe.pos, "join() needs strings, got %s", n.Type)
				}
				parts = append(parts, s)
			}
			return Collection{sysString(strings.Join(parts, sep))}, nil
		})

	// Math.
	case "abs", "ceiling", "exp", "floor", "ln", "sqrt", "truncate":
		d = fn(0, 0, mathFunc)
	case "log", "power":
		d = fn(1, 1, mathFunc)
	case "round":
		d = fn(0, 1, mathFunc)
	case "lowBoundary", "highBoundary":
		d = fn(0, 1, boundary)
	case "precision":
		d = fn(0, 0, func(_ *evaluator, _ *frame, c Collection, fe *funcExpr) (Collection, error) {
			v, ok, err := singletonValue(c, fe.pos, "precision()")
			if err != nil || !ok {
				return nil, err
			}
			switch x := v.(type) {
			case Decimal:
				return Collection{sysInt(int64(x.scale))}, nil
			case int64:
				return Collection{sysInt(0)}, nil
			case Temporal:
				return Collection{sysInt(int64(len(strings.NewReplacer("-", "", ":", "", "T", "", ".", "").Replace(x.withoutZone().String()))))}, nil
			}
			return nil, evalErr(fe.pos, "precision() needs a decimal or date/time")
		})

	// Tree navigation.
	case "children":
		d = fn(0, 0, func(_ *evaluator, _ *frame, c Collection, fe *funcExpr) (Collection, error) {
			var out Collection
			for _, n := range c {
				ch, err := n.children("", false)
				if err != nil {
					return nil, evalErr(fe.pos, "%s", err.Error())
				}
				out = append(out, ch...)
			}
			return out, nil
		})
	case "descendants":
		d = fn(0, 0, func(_ *evaluator, _ *frame, c Collection, fe *funcExpr) (Collection, error) {
			var out Collection
			queue := c
			for len(queue) > 0 {
				var next Collection
				for _, n := range queue {
					ch, err := n.children("", false)
					if err != nil {
						return nil, evalErr(fe.pos, "%s", err.Error())
					}
					next = append(next, ch...)
				}
				out = append(out, next...)
				queue = next
			}
			return out, nil
		})

	// Utility.
	case "trace":
		d = fn(1, 2, func(ev *evaluator, f *frame, c Collection, fe *funcExpr) (Collection, error) {
			label, _, err := ev.stringArg(f, fe, 0)
			if err != nil {
				return nil, err
			}
			shown := c
			if len(fe.args) == 2 {
				shown = nil
				for i, n := range c {
					r, err := ev.eval(fe.args[1], iterFrame(f, n, i))
					if err != nil {
						return nil, err
					}
					shown = append(shown, r...)
				}
			}
			if ev.opts.trace != nil {
				ev.opts.trace(label, shown)
			}
			return c, nil
		})
	case "now":
		d = fn(0, 0, func(ev *evaluator, _ *frame, _ Collection, _ *funcExpr) (Collection, error) {
			return Collection{sysTemporal(fromTime(ev.now, KindDateTime, PrecMillisecond, true))}, nil
		})
	case "today":
		d = fn(0, 0, func(ev *evaluator, _ *frame, _ Collection, _ *funcExpr) (Collection, error) {
			return Collection{sysTemporal(fromTime(ev.now, KindDate, PrecDay, false))}, nil
		})
	case "timeOfDay":
		d = fn(0, 0, func(ev *evaluator, _ *frame, _ Collection, _ *funcExpr) (Collection, error) {
			t := fromTime(ev.now, KindTime, PrecMillisecond, false)
			t.Year, t.Month, t.Day = 0, 0, 0
			return Collection{sysTemporal(t)}, nil
		})
	case "not":
		d = fn(0, 0, func(_ *evaluator, _ *frame, c Collection, fe *funcExpr) (Collection, error) {
			b, empty, err := singletonBool(c, fe.pos)
			if err != nil || empty {
				return nil, err
			}
			return bools(!b), nil
		})
	case "aggregate":
		d = fn(1, 2, func(ev *evaluator, f *frame, c Collection, fe *funcExpr) (Collection, error) {
			var total Collection
			if len(fe.args) == 2 {
				var err error
				if total, err = ev.eval(fe.args[1], f); err != nil {
					return nil, err
				}
			}
			for i, n := range c {
				fr := iterFrame(f, n, i)
				fr.total, fr.hasTotal = total, true
				var err error
				if total, err = ev.eval(fe.args[0], fr); err != nil {
					return nil, err
				}
			}
			return total, nil
		})
	case "sort":
		d = fn(0, 8, sortFunc)
	case "comparable":
		d = fn(1, 1, func(ev *evaluator, f *frame, c Collection, fe *funcExpr) (Collection, error) {
			a, ok, err := singletonValue(c, fe.pos, "comparable()")
			if err != nil || !ok {
				return nil, err
			}
			oc, err := ev.eval(fe.args[0], rootFrame(ev, f))
			if err != nil {
				return nil, err
			}
			b, ok, err := singletonValue(oc, fe.pos, "comparable()")
			if err != nil || !ok {
				return nil, err
			}
			qa, ok1 := a.(Quantity)
			qb, ok2 := b.(Quantity)
			if !ok1 || !ok2 {
				return nil, evalErr(fe.pos, "comparable() needs quantities")
			}
			_, ok = compareQuantity(qa, qb)
			return bools(ok), nil
		})

	// FHIR additions.
	case "extension":
		d = fn(1, 1, func(ev *evaluator, f *frame, c Collection, fe *funcExpr) (Collection, error) {
			url, ok, err := ev.stringArg(f, fe, 0)
			if err != nil || !ok {
				return nil, err
			}
			var out Collection
			for _, n := range c {
				exts, err := n.children("extension", false)
				if err != nil {
					return nil, evalErr(fe.pos, "%s", err.Error())
				}
				for _, e := range exts {
					if m, ok := e.Value.(map[string]any); ok && fhir.String(m, "url") == url {
						out = append(out, e)
					}
				}
			}
			return out, nil
		})
	case "hasValue":
		d = fn(0, 0, func(_ *evaluator, _ *frame, c Collection, _ *funcExpr) (Collection, error) {
			if len(c) != 1 {
				return bools(false), nil
			}
			_, isPrim := primitiveSystem[c[0].Type]
			return bools(isPrim && c[0].Value != nil), nil
		})
	case "getValue":
		d = fn(0, 0, func(_ *evaluator, _ *frame, c Collection, _ *funcExpr) (Collection, error) {
			if len(c) != 1 {
				return nil, nil
			}
			st, isPrim := primitiveSystem[c[0].Type]
			if !isPrim || c[0].Value == nil {
				return nil, nil
			}
			v, ok := c[0].System()
			if !ok {
				return nil, nil
			}
			n := untypedNode(v)
			n.Type = st
			return Collection{n}, nil
		})
	case "resolve":
		d = fn(0, 0, resolve)
	case "htmlChecks", "htmlChecks2":
		// The narrative is not parsed; it is treated as safe, as most servers do.
		d = fn(0, 0, func(_ *evaluator, _ *frame, c Collection, _ *funcExpr) (Collection, error) {
			return bools(true), nil
		})
	case "conformsTo":
		d = fn(1, 1, func(ev *evaluator, f *frame, c Collection, fe *funcExpr) (Collection, error) {
			url, ok, err := ev.stringArg(f, fe, 0)
			if err != nil || !ok {
				return nil, err
			}
			n, ok, err := singleton(c, fe.pos, "conformsTo()")
			if err != nil || !ok {
				return nil, err
			}
			// Only the core definitions are known, and conforming to one is being of its type.
			typ, core := strings.CutPrefix(url, "http://hl7.org/fhir/StructureDefinition/")
			if _, known := fhir.R4().Type(typ); !core || !known {
				return nil, evalErr(fe.pos, "conformsTo(): profile %q is not known", url)
			}
			return bools(n.isType(typ)), nil
		})
	case "memberOf", "subsumes", "subsumedBy":
		d = fn(1, 1, func(_ *evaluator, _ *frame, _ Collection, fe *funcExpr) (Collection, error) {
			return nil, evalErr(fe.pos, "%s() needs a terminology or validation service, which is not available", fe.name)
		})
	case "hasTemplateIdOf", "elementDefinition", "slice", "checkModifiers":
		d = fn(0, 2, func(_ *evaluator, _ *frame, _ Collection, fe *funcExpr) (Collection, error) {
			return nil, evalErr(fe.pos, "%s() is not supported", fe.name)
		})
	default:
		return nil, false
	}
	return d, true
}

func bools(b bool) Collection { return Collection{sysBool(b)} }

// iterFrame is the frame an iterating function evaluates its argument in.
func iterFrame(f *frame, n Node, i int) *frame {
	return &frame{this: Collection{n}, index: i, hasIndex: true, total: f.total, hasTotal: f.hasTotal}
}

// rootFrame is the frame non-iterating arguments are evaluated in: the caller's.
func rootFrame(_ *evaluator, f *frame) *frame { return f }

func (ev *evaluator) where(f *frame, c Collection, crit expr, pos int) (Collection, error) {
	var out Collection
	for i, n := range c {
		r, err := ev.eval(crit, iterFrame(f, n, i))
		if err != nil {
			return nil, err
		}
		b, empty, err := singletonBool(r, pos)
		if err != nil {
			return nil, err
		}
		if !empty && b {
			out = append(out, n)
		}
	}
	return out, nil
}

// ofType keeps the items of type typ. FHIR primitives match their own type only:
// a code is not returned by ofType(string), as the suite requires.
func ofType(c Collection, typ string) Collection {
	var out Collection
	for _, n := range c {
		if _, prim := primitiveSystem[n.Type]; prim && !n.IsSystem() {
			if strings.TrimPrefix(typ, "FHIR.") == n.Type {
				out = append(out, n)
			}
			continue
		}
		if n.isType(typ) {
			out = append(out, n)
		}
	}
	return out
}

func (ev *evaluator) intArg(f *frame, fe *funcExpr, i int) (int64, bool, error) {
	c, err := ev.eval(fe.args[i], f)
	if err != nil {
		return 0, false, err
	}
	return singletonInt(c, fe.pos)
}

func (ev *evaluator) stringArg(f *frame, fe *funcExpr, i int) (string, bool, error) {
	c, err := ev.eval(fe.args[i], f)
	if err != nil {
		return "", false, err
	}
	v, ok, err := singletonValue(c, fe.pos, fe.name+"()")
	if err != nil || !ok {
		return "", false, err
	}
	s, ok := v.(string)
	if !ok {
		return "", false, evalErr(fe.pos, "%s() needs a string argument, got %s", fe.name, c[0].Type)
	}
	return s, true, nil
}

func stringFunc(ev *evaluator, f *frame, c Collection, fe *funcExpr) (Collection, error) {
	n, ok, err := singleton(c, fe.pos, fe.name+"()")
	if err != nil || !ok {
		return nil, err
	}
	v, _ := n.System()
	s, isStr := v.(string)
	if !isStr {
		return nil, evalErr(fe.pos, "%s() needs a string, got %s", fe.name, n.Type)
	}
	str := func(i int) (string, bool, error) { return ev.stringArg(f, fe, i) }
	switch fe.name {
	case "indexOf":
		sub, ok, err := str(0)
		if err != nil || !ok {
			return nil, err
		}
		i := strings.Index(s, sub)
		if i > 0 {
			i = utf8.RuneCountInString(s[:i])
		}
		return Collection{sysInt(int64(i))}, nil
	case "substring":
		start, ok, err := ev.intArg(f, fe, 0)
		if err != nil || !ok {
			return nil, err
		}
		runes := []rune(s)
		if start < 0 || start >= int64(len(runes)) {
			return nil, nil
		}
		end := int64(len(runes))
		if len(fe.args) == 2 {
			l, ok, err := ev.intArg(f, fe, 1)
			if err != nil {
				return nil, err
			}
			if ok {
				end = min(end, start+max(l, 0))
			}
		}
		return Collection{sysString(string(runes[start:end]))}, nil
	case "startsWith", "endsWith", "contains":
		sub, ok, err := str(0)
		if err != nil || !ok {
			return nil, err
		}
		switch fe.name {
		case "startsWith":
			return bools(strings.HasPrefix(s, sub)), nil
		case "endsWith":
			return bools(strings.HasSuffix(s, sub)), nil
		}
		return bools(strings.Contains(s, sub)), nil
	case "upper":
		return Collection{sysString(strings.ToUpper(s))}, nil
	case "lower":
		return Collection{sysString(strings.ToLower(s))}, nil
	case "length":
		return Collection{sysInt(int64(utf8.RuneCountInString(s)))}, nil
	case "toChars":
		var out Collection
		for _, r := range s {
			out = append(out, sysString(string(r)))
		}
		return out, nil
	case "trim":
		return Collection{sysString(strings.TrimSpace(s))}, nil
	case "replace":
		pat, ok, err := str(0)
		if err != nil || !ok {
			return nil, err
		}
		rep, ok, err := str(1)
		if err != nil || !ok {
			return nil, err
		}
		return Collection{sysString(strings.ReplaceAll(s, pat, rep))}, nil
	case "matches", "matchesFull", "replaceMatches":
		pat, ok, err := str(0)
		if err != nil || !ok {
			return nil, err
		}
		if fe.name == "matchesFull" {
			pat = "^(?:" + pat + ")$"
		}
		re, err := regexp.Compile("(?s)" + pat)
		if err != nil {
			return nil, evalErr(fe.pos, "bad regular expression %q: %s", pat, err.Error())
		}
		if fe.name != "replaceMatches" {
			return bools(re.MatchString(s)), nil
		}
		if pat == "" {
			return Collection{sysString(s)}, nil
		}
		rep, ok, err := str(1)
		if err != nil || !ok {
			return nil, err
		}
		return Collection{sysString(re.ReplaceAllString(s, rep))}, nil
	case "split":
		sep, ok, err := str(0)
		if err != nil || !ok {
			return nil, err
		}
		var out Collection
		for _, p := range strings.Split(s, sep) {
			out = append(out, sysString(p))
		}
		return out, nil
	case "encode", "decode", "escape", "unescape":
		format, ok, err := str(0)
		if err != nil || !ok {
			return nil, err
		}
		r, err := transcode(fe.name, format, s)
		if err != nil {
			return nil, evalErr(fe.pos, "%s", err.Error())
		}
		return Collection{sysString(r)}, nil
	}
	return nil, evalErr(fe.pos, "unknown string function %s", fe.name)
}

func transcode(op, format, s string) (string, error) {
	switch op + ":" + format {
	case "encode:base64":
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "encode:urlbase64":
		return base64.URLEncoding.EncodeToString([]byte(s)), nil
	case "encode:hex":
		return hex.EncodeToString([]byte(s)), nil
	case "decode:base64", "decode:urlbase64":
		enc := base64.StdEncoding
		if format == "urlbase64" {
			enc = base64.URLEncoding
		}
		b, err := enc.DecodeString(s)
		return string(b), err
	case "decode:hex":
		b, err := hex.DecodeString(s)
		return string(b), err
	case "escape:html":
		return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;").Replace(s), nil
	case "unescape:html":
		return html.UnescapeString(s), nil
	case "escape:json":
		b, _ := json.Marshal(s)
		return strings.ReplaceAll(string(b[1:len(b)-1]), `\u003c`, "<"), nil
	case "unescape:json":
		var r string
		if err := json.Unmarshal([]byte(`"`+strings.ReplaceAll(s, `"`, `\"`)+`"`), &r); err != nil {
			return s, nil
		}
		return r, nil
	}
	return "", fmt.Errorf("%s() does not know the format %q", op, format)
}

func mathFunc(ev *evaluator, f *frame, c Collection, fe *funcExpr) (Collection, error) {
	v, ok, err := singletonValue(c, fe.pos, fe.name+"()")
	if err != nil || !ok {
		return nil, err
	}
	if q, ok := v.(Quantity); ok && fe.name == "abs" {
		return Collection{sysQuantity(Quantity{Value: q.Value.abs(), Unit: q.Unit})}, nil
	}
	d, ok := toDecimal(v)
	if !ok {
		return nil, evalErr(fe.pos, "%s() needs a number, got %s", fe.name, c[0].Type)
	}
	i, isInt := v.(int64)
	fromFloat := func(x float64) (Collection, error) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, nil
		}
		r, err := ParseDecimal(strconv.FormatFloat(x, 'f', -1, 64))
		if err != nil {
			return nil, nil
		}
		if r.scale > divisionScale {
			r = r.round(divisionScale)
		}
		return Collection{sysDecimal(r)}, nil
	}
	bigInt := func(b *big.Int) Collection { return Collection{sysInt(b.Int64())} }
	switch fe.name {
	case "abs":
		if isInt {
			if i < 0 {
				i = -i
			}
			return Collection{sysInt(i)}, nil
		}
		return Collection{sysDecimal(d.abs())}, nil
	case "ceiling":
		fl := d.floorInt()
		if !d.isInt() {
			fl.Add(fl, big.NewInt(1))
		}
		return bigInt(fl), nil
	case "floor":
		return bigInt(d.floorInt()), nil
	case "truncate":
		return bigInt(d.truncInt()), nil
	case "exp":
		return fromFloat(math.Exp(d.Float64()))
	case "ln":
		return fromFloat(math.Log(d.Float64()))
	case "sqrt":
		if d.Sign() < 0 {
			return nil, nil
		}
		return fromFloat(math.Sqrt(d.Float64()))
	case "log":
		bc, err := ev.eval(fe.args[0], f)
		if err != nil {
			return nil, err
		}
		bv, ok, err := singletonValue(bc, fe.pos, "log()")
		if err != nil || !ok {
			return nil, err
		}
		b, ok := toDecimal(bv)
		if !ok {
			return nil, evalErr(fe.pos, "log() needs a numeric base")
		}
		return fromFloat(math.Log(d.Float64()) / math.Log(b.Float64()))
	case "power":
		ec, err := ev.eval(fe.args[0], f)
		if err != nil {
			return nil, err
		}
		ev2, ok, err := singletonValue(ec, fe.pos, "power()")
		if err != nil || !ok {
			return nil, err
		}
		if ei, ok := ev2.(int64); ok && isInt && ei >= 0 {
			if ei > 64 && i != 0 && i != 1 && i != -1 {
				return nil, evalErr(fe.pos, "power(): %d^%d overflows an integer", i, ei)
			}
			r := new(big.Int).Exp(big.NewInt(i), big.NewInt(ei), nil)
			if !r.IsInt64() {
				return nil, evalErr(fe.pos, "power(): %d^%d overflows an integer", i, ei)
			}
			return Collection{sysInt(r.Int64())}, nil
		}
		e, ok := toDecimal(ev2)
		if !ok {
			return nil, evalErr(fe.pos, "power() needs a numeric exponent")
		}
		return fromFloat(math.Pow(d.Float64(), e.Float64()))
	case "round":
		p := int64(0)
		if len(fe.args) == 1 {
			var ok bool
			var err error
			if p, ok, err = ev.intArg(f, fe, 0); err != nil {
				return nil, err
			} else if !ok {
				return nil, nil
			}
			if p < 0 || p > 100 {
				return nil, evalErr(fe.pos, "round() precision must be between 0 and 100")
			}
		}
		return Collection{sysDecimal(d.round(int(p)))}, nil
	}
	return nil, evalErr(fe.pos, "unknown math function %s", fe.name)
}

func (d Decimal) abs() Decimal {
	if d.Sign() < 0 {
		return d.neg()
	}
	return d
}

// sortFunc orders the input by each argument in turn; a leading unary minus on
// an argument sorts descending.
func sortFunc(ev *evaluator, f *frame, c Collection, fe *funcExpr) (Collection, error) {
	type keyed struct {
		n    Node
		keys []Collection
	}
	items := make([]keyed, len(c))
	desc := make([]bool, len(fe.args))
	exprs := make([]expr, len(fe.args))
	for j, a := range fe.args {
		exprs[j] = a
		if u, ok := a.(*unaryExpr); ok && u.op == "-" {
			desc[j], exprs[j] = true, u.x
		}
	}
	for i, n := range c {
		items[i].n = n
		for _, a := range exprs {
			k, err := ev.eval(a, iterFrame(f, n, i))
			if err != nil {
				return nil, err
			}
			items[i].keys = append(items[i].keys, k)
		}
	}
	var sortErr error
	// Items without a key sort first in either direction.
	cmp := func(a, b Collection) int {
		if len(a) == 0 || len(b) == 0 {
			return 0
		}
		r, _, err := compareNodes(a[0], b[0])
		if err != nil && sortErr == nil {
			sortErr = err
		}
		return r
	}
	sort.SliceStable(items, func(i, j int) bool {
		if len(exprs) == 0 {
			return cmp(Collection{items[i].n}, Collection{items[j].n}) < 0
		}
		for k := range exprs {
			a, b := items[i].keys[k], items[j].keys[k]
			if (len(a) == 0) != (len(b) == 0) {
				return len(a) == 0
			}
			r := cmp(a, b)
			if desc[k] {
				r = -r
			}
			if r != 0 {
				return r < 0
			}
		}
		return false
	})
	if sortErr != nil {
		return nil, evalErr(fe.pos, "sort(): %s", sortErr.Error())
	}
	out := make(Collection, len(items))
	for i, it := range items {
		out[i] = it.n
	}
	return out, nil
}

func resolve(ev *evaluator, _ *frame, c Collection, fe *funcExpr) (Collection, error) {
	var out Collection
	for _, n := range c {
		ref := ""
		switch v := n.Value.(type) {
		case map[string]any:
			ref = fhir.String(v, "reference")
		case string:
			ref = v // canonical and uri values resolve too
		}
		if ref == "" {
			continue
		}
		if strings.HasPrefix(ref, "#") {
			if r, ok := containedResource(n.res, ref[1:]); ok {
				out = append(out, r)
			} else if len(ev.context) > 0 {
				if r, ok := containedResource(ev.context[0].res, ref[1:]); ok {
					out = append(out, r)
				}
			}
			continue
		}
		if ev.opts.resolver != nil {
			if r, ok := ev.opts.resolver(ref); ok {
				out = append(out, toNode(r))
			}
			continue
		}
		if typ, id, ok := referenceTarget(ref); ok {
			out = append(out, NewNode(map[string]any{"resourceType": typ, "id": id}))
		}
	}
	return out, nil
}

func containedResource(res map[string]any, id string) (Node, bool) {
	for _, r := range fhir.Array(res, "contained") {
		if m, ok := r.(map[string]any); ok && fhir.String(m, "id") == id {
			n := NewNode(m)
			n.res = m
			return n, true
		}
	}
	return Node{}, false
}

// referenceTarget finds the resource type and id in a literal reference:
// "Patient/1", "http://x/fhir/Patient/1", "Patient/1/_history/2".
func referenceTarget(ref string) (typ, id string, ok bool) {
	ref, _, _ = strings.Cut(ref, "?")
	parts := strings.Split(strings.TrimSuffix(ref, "/"), "/")
	if len(parts) >= 4 && parts[len(parts)-2] == "_history" {
		parts = parts[:len(parts)-2]
	}
	if len(parts) < 2 {
		return "", "", false
	}
	typ, id = parts[len(parts)-2], parts[len(parts)-1]
	if !fhir.R4().IsResourceType(typ) || id == "" {
		return "", "", false
	}
	return typ, id, true
}
