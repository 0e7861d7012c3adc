package fhirpath

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// quadraticUnion is union as it was: each node compared with every node kept.
func quadraticUnion(l, r Collection) Collection {
	out := make(Collection, 0, len(l)+len(r))
	for _, c := range []Collection{l, r} {
		for _, n := range c {
			if !containsNode(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// randomNode returns one of the kinds of nodes FHIRPath compares, drawn from small
// pools so that equal and nearly equal nodes are frequent: numbers written
// differently, quantities in units that convert, trees with nulls and comments.
func randomNode(r *rand.Rand) Node {
	pick := func(s ...string) string { return s[r.IntN(len(s))] }
	num := func() json.Number {
		return json.Number(pick("1", "1.0", "1.00", "2", "0.5", "5e-1", "1000", "0.001", "453.59237"))
	}
	switch r.IntN(10) {
	case 0:
		return Node{Value: pick("a", "b", "A", "1"), Type: pick(TypeString, "code", "string", "uri")}
	case 1:
		return Node{Value: num(), Type: pick("decimal", "integer")}
	case 2:
		if r.IntN(2) == 0 {
			return sysInt(int64(r.IntN(3)))
		}
		d, _ := ParseDecimal(string(num()))
		return sysDecimal(d)
	case 3:
		return Node{Value: r.IntN(2) == 0, Type: pick(TypeBoolean, "boolean")}
	case 4:
		d, _ := ParseDecimal(string(num()))
		return sysQuantity(Quantity{Value: d, Unit: pick("g", "kg", "mg", "[lb_av]", "year", "month", "a", "Cel", "wk", "week", "d", "1", "%", "mm[Hg]", "kPa")})
	case 5:
		q := map[string]any{"value": num(), pick("unit", "code"): pick("g", "kg", "mg", "Cel")}
		if r.IntN(2) == 0 {
			q["system"] = "http://unitsofmeasure.org"
		}
		return Node{Value: q, Type: "Quantity"}
	case 6:
		cc := map[string]any{"coding": []any{map[string]any{"system": pick("s1", "s2"), "code": pick("c1", "c2")}}}
		switch r.IntN(5) {
		case 0:
			cc["text"] = nil
		case 1:
			cc["fhir_comments"] = []any{"note"}
		case 2:
			cc["rank"] = num()
		case 3:
			cc["text"] = pick("t", "u")
		}
		return Node{Value: cc, Type: "CodeableConcept"}
	case 7:
		return Node{Value: pick("2020", "2020-01", "2020-01-01", "2020-01-01T00:00:00Z", "2020-01-01T01:00:00+01:00"), Type: pick("date", "dateTime")}
	case 8:
		ext := map[string]any{"extension": []any{map[string]any{"url": pick("u1", "u2"), "valueString": pick("x", "y")}}}
		if r.IntN(4) == 0 {
			ext["id"] = nil
		}
		return Node{Value: nil, Type: "string", Ext: ext}
	default:
		return Node{Value: TypeInfo{Namespace: "System", Name: pick("String", "Integer")}, Type: typeTypeInfo}
	}
}

func randomCollection(r *rand.Rand) Collection {
	c := make(Collection, r.IntN(40))
	for i := range c {
		c[i] = randomNode(r)
	}
	return c
}

// TestUnionKeepsWhatComparingWithEveryNodeKept checks union against the
// quadratic union on random collections of every kind of node.
func TestUnionKeepsWhatComparingWithEveryNodeKept(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		l, rc := randomCollection(r), randomCollection(r)
		got, want := union(l, rc), quadraticUnion(l, rc)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d: union(%v, %v) =\n%v\nwant\n%v", i, l, rc, got, want)
		}
		set := setOf(l)
		for _, n := range rc {
			if got, want := set.has(n), containsNode(l, n); got != want {
				t.Fatalf("case %d: has(%v) = %v, want %v (collection %v)", i, n, got, want, l)
			}
		}
	}
}

// TestUnionOfManyNodesIsFast evaluates the expressions of Observation's composite
// search parameters on an Observation with 20,000 components; comparing every
// node with every other took minutes.
func TestUnionOfManyNodesIsFast(t *testing.T) {
	var comps []any
	for i := range 20000 {
		comps = append(comps, map[string]any{
			"code":          map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": fmt.Sprint("8480-", i%500)}}},
			"valueQuantity": map[string]any{"value": json.Number(fmt.Sprint(100 + i%700)), "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
		})
	}
	obs := map[string]any{"resourceType": "Observation", "status": "final", "code": map[string]any{"text": "panel"}, "component": comps}
	for _, expr := range []string{"Observation.code | Observation.component.code", "Observation.value | Observation.component.value", "Observation.component.value.distinct()"} {
		e, err := Compile(expr)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		got, err := e.Evaluate(obs)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s took %v on 20,000 components, want well under 10s", expr, d)
		}
		t.Logf("%s: %d values in %v", expr, len(got), time.Since(start).Round(time.Millisecond))
	}
}
