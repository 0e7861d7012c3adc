package fhirpath

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// nodeSet is a collection without duplicates under FHIRPath equality (=), in the
// order its nodes were added: what union, distinct and repeat() build. Comparing
// each new node with every node in the collection made those quadratic, and a
// search parameter such as Observation's combo-code (code | component.code) took
// minutes to index an Observation with ten thousand components. A node set
// compares a new node only with the nodes that share its equality key, which
// equal nodes always do (see equalityKey); the answer is the same as comparing it
// with all of them.
type nodeSet struct {
	nodes Collection
	byKey map[string][]int
	// byDim holds, per dimension and unit, the quantities in UCUM units that
	// convert into each other; equal quantities in different units have
	// different keys.
	byDim map[string]map[string][]int
}

func newNodeSet(size int) *nodeSet {
	return &nodeSet{nodes: make(Collection, 0, size), byKey: map[string][]int{}}
}

// add adds n unless an equal node is in the set, and reports whether it did.
func (s *nodeSet) add(n Node) bool {
	k := equalityKey(n)
	if s.contains(n, k) {
		return false
	}
	i := len(s.nodes)
	s.nodes = append(s.nodes, n)
	s.byKey[k.key] = append(s.byKey[k.key], i)
	if k.dim != "" {
		if s.byDim == nil {
			s.byDim = map[string]map[string][]int{}
		}
		if s.byDim[k.dim] == nil {
			s.byDim[k.dim] = map[string][]int{}
		}
		s.byDim[k.dim][k.unit] = append(s.byDim[k.dim][k.unit], i)
	}
	return true
}

// has reports whether a node equal to n is in the set.
func (s *nodeSet) has(n Node) bool { return s.contains(n, equalityKey(n)) }

func (s *nodeSet) contains(n Node, k nodeKey) bool {
	if k.any {
		return containsNode(s.nodes, n)
	}
	equal := func(i int) bool {
		eq, known := equalNodes(n, s.nodes[i])
		return eq && known
	}
	if slices.ContainsFunc(s.byKey[k.key], equal) {
		return true
	}
	for unit, idx := range s.byDim[k.dim] {
		if unit != k.unit && slices.ContainsFunc(idx, equal) {
			return true
		}
	}
	return false
}

// nodeKey is what equalityKey finds.
type nodeKey struct {
	key string
	// dim and unit are set for a quantity in a UCUM unit that converts to others
	// of its dimension.
	dim, unit string
	// any is true when n may equal nodes of any key: it must be compared with
	// every node.
	any bool
}

// equalityKey returns a key that every node equal to n (equalNodes(n, m) is true
// and known) has too, except quantities in other units of n's dimension (dim,
// unit). Temporal values share one key: their equality depends on precision and
// time zone.
func equalityKey(n Node) nodeKey {
	v, ok := n.System()
	if !ok {
		if _, isMap := n.Value.(map[string]any); isMap {
			return treeKey("m", n.Value)
		}
		if n.Value != nil {
			return nodeKey{key: "x"} // equal to nothing
		}
		return treeKey("e", n.Ext)
	}
	switch x := v.(type) {
	case string:
		return nodeKey{key: "s" + x}
	case bool:
		return nodeKey{key: "b" + strconv.FormatBool(x)}
	case int64, Decimal:
		d, _ := toDecimal(x)
		return nodeKey{key: "n" + d.rat().RatString()}
	case Temporal:
		return nodeKey{key: "t"}
	case Quantity:
		unit := x.comparableUnit()
		k := nodeKey{key: "q" + unit + "|" + x.Value.rat().RatString()}
		if def, ok := unitOf(unit); ok && def.dim != "celsius" && def.dim != "fahrenheit" && x.Unit != "year" && x.Unit != "month" {
			k.dim, k.unit = def.dim, unit
		}
		return k
	case TypeInfo:
		return nodeKey{key: "i" + x.Namespace + "." + x.Name}
	}
	return nodeKey{any: true}
}

// treeKey keys a JSON tree by its canonical form, which trees that jsonEqual
// finds equal share. A tree with a null in it is not keyed: jsonEqual counts a
// member whose value is null as equal to one that is absent.
func treeKey(prefix string, v any) nodeKey {
	var b strings.Builder
	b.WriteString(prefix)
	if !canonical(&b, v) {
		return nodeKey{any: true}
	}
	return nodeKey{key: b.String()}
}

// canonical writes v with its members in key order and its numbers as exact
// fractions, leaving out fhir_comments as jsonEqual does; it returns false for a
// tree with a null.
func canonical(b *strings.Builder, v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			if k != "fhir_comments" {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for _, k := range keys {
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			if !canonical(b, x[k]) {
				return false
			}
			b.WriteByte(',')
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for _, e := range x {
			if !canonical(b, e) {
				return false
			}
			b.WriteByte(',')
		}
		b.WriteByte(']')
	case json.Number:
		if d, err := ParseDecimal(string(x)); err == nil {
			b.WriteString("n" + d.rat().RatString())
		} else {
			b.WriteString("?" + string(x))
		}
	case string:
		b.WriteString(strconv.Quote(x))
	default:
		fmt.Fprintf(b, "%T:%v", x, x)
	}
	return true
}
