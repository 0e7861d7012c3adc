package fhirpath

import (
	"fmt"
	"strings"
)

// equalNodes is FHIRPath '=' on two items. known is false when the answer is
// empty: dates of different precision that agree as far as both go.
func equalNodes(a, b Node) (eq, known bool) {
	va, okA := a.System()
	vb, okB := b.System()
	if !okA || !okB {
		if okA != okB {
			return false, true
		}
		if _, ok := a.Value.(map[string]any); !ok {
			// Primitives that carry only extensions compare by those.
			return jsonEqual(a.Ext, b.Ext) && a.Value == nil && b.Value == nil, true
		}
		return jsonEqual(a.Value, b.Value), true
	}
	switch x := va.(type) {
	case string:
		y, ok := vb.(string)
		return ok && x == y, true
	case bool:
		y, ok := vb.(bool)
		return ok && x == y, true
	case int64, Decimal:
		da, _ := toDecimal(x)
		db, ok := toDecimal(vb)
		return ok && da.Cmp(db) == 0, true
	case Temporal:
		y, ok := vb.(Temporal)
		if !ok {
			return false, true
		}
		c, known := compareTemporal(promote(x, y), promote(y, x))
		if !known {
			if (x.Kind == KindTime) != (y.Kind == KindTime) {
				return false, true
			}
			return false, false
		}
		return c == 0, true
	case Quantity:
		y, ok := vb.(Quantity)
		if !ok {
			return false, true
		}
		if (x.Unit == "year" || x.Unit == "month" || y.Unit == "year" || y.Unit == "month") && x.Unit != y.Unit {
			// Calendar years and months are not definite durations: 1 year = 1 'a' is unknown.
			return false, false
		}
		c, ok := compareQuantity(x, y)
		if !ok {
			return false, false
		}
		return c == 0, true
	case TypeInfo:
		y, ok := vb.(TypeInfo)
		return ok && x == y, true
	}
	return false, true
}

// promote makes a Date comparable with a DateTime.
func promote(t, other Temporal) Temporal {
	if t.Kind == KindDate && other.Kind == KindDateTime {
		t.Kind = KindDateTime
	}
	return t
}

func equalCollections(l, r Collection) (eq, known bool) {
	if len(l) == 0 || len(r) == 0 {
		return false, false
	}
	if len(l) != len(r) {
		return false, true
	}
	for i := range l {
		eq, known := equalNodes(l[i], r[i])
		if !known {
			return false, false
		}
		if !eq {
			return false, true
		}
	}
	return true, true
}

// equivNodes is FHIRPath '~': never empty, case and white space insensitive for
// strings, decimals compared to the precision of the less precise one.
func equivNodes(a, b Node) bool {
	va, okA := a.System()
	vb, okB := b.System()
	if !okA || !okB {
		if okA != okB {
			return false
		}
		return jsonEquiv(a.Value, b.Value)
	}
	switch x := va.(type) {
	case string:
		y, ok := vb.(string)
		return ok && normaliseString(x) == normaliseString(y)
	case int64, Decimal:
		da, _ := toDecimal(x)
		db, ok := toDecimal(vb)
		if !ok {
			return false
		}
		s := min(da.scale, db.scale)
		return da.round(s).Cmp(db.round(s)) == 0
	case Temporal:
		y, ok := vb.(Temporal)
		if !ok {
			return false
		}
		c, known := compareTemporal(promote(x, y), promote(y, x))
		return known && c == 0
	case Quantity:
		y, ok := vb.(Quantity)
		if !ok {
			return false
		}
		c, ok := y.convertTo(x.comparableUnit())
		if !ok {
			return false
		}
		s := min(x.Value.scale, c.Value.scale)
		return x.Value.round(s).Cmp(c.Value.round(s)) == 0
	}
	eq, known := equalNodes(a, b)
	return eq && known
}

func jsonEquiv(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && normaliseString(x) == normaliseString(y)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range x {
			if k == "id" || k == "fhir_comments" {
				continue
			}
			if !jsonEquiv(v, y[k]) {
				return false
			}
		}
		for k := range y {
			if _, ok := x[k]; !ok && k != "id" && k != "fhir_comments" {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEquiv(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return jsonEqual(a, b)
}

func normaliseString(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// equivCollections compares without regard to order.
func equivCollections(l, r Collection) bool {
	if len(l) != len(r) {
		return false
	}
	used := make([]bool, len(r))
	for _, a := range l {
		found := false
		for j, b := range r {
			if !used[j] && equivNodes(a, b) {
				used[j], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// compareNodes orders two items for < <= > >=. known is false when the answer is
// empty (dates of different precision); err is set for values that cannot be
// ordered against each other.
func compareNodes(a, b Node) (int, bool, error) {
	va, okA := a.System()
	vb, okB := b.System()
	if !okA || !okB {
		return 0, false, fmt.Errorf("cannot compare %s with %s", a.Type, b.Type)
	}
	switch x := va.(type) {
	case string:
		if y, ok := vb.(string); ok {
			return strings.Compare(x, y), true, nil
		}
	case int64, Decimal:
		da, _ := toDecimal(x)
		if db, ok := toDecimal(vb); ok {
			return da.Cmp(db), true, nil
		}
	case Temporal:
		if y, ok := vb.(Temporal); ok {
			if (x.Kind == KindTime) != (y.Kind == KindTime) {
				break
			}
			c, known := compareTemporal(promote(x, y), promote(y, x))
			return c, known, nil
		}
	case Quantity:
		if y, ok := vb.(Quantity); ok {
			c, ok := compareQuantity(x, y)
			if !ok {
				return 0, false, fmt.Errorf("cannot compare %s with %s", x, y)
			}
			return c, true, nil
		}
	}
	return 0, false, fmt.Errorf("cannot compare %s with %s", a.Type, b.Type)
}
