package match

import "sort"

// Constraint is a decision about two records that the scores do not make: a
// person who reviewed them, or the source that owns them, said that they are
// one human or that they are not. The matcher never overrides a constraint:
// a must-link joins the two records' persons whatever the scores and
// critical conflicts say, and a cannot-link keeps them in two persons however
// they are linked through other records.
type Constraint string

// The constraints.
const (
	MustLink   Constraint = "must-link"
	CannotLink Constraint = "cannot-link"
)

// PairConstraint is a constraint on two records. The records need not be in
// the index: a constraint on a record that is not (yet, or any more) there
// waits for it.
type PairConstraint struct {
	A, B Ref
	Kind Constraint
}

// refPair is two refs in canonical order.
type refPair [2]Ref

func refPairOf(a, b Ref) refPair {
	if b.Less(a) {
		a, b = b, a
	}
	return refPair{a, b}
}

// constraints are the constraints of an index, by pair and by record.
type constraints struct {
	kind map[refPair]Constraint
	of   map[Ref][]Ref // the other records of each record's constraints
}

func (c *constraints) get(a, b Ref) Constraint {
	if c.kind == nil {
		return ""
	}
	return c.kind[refPairOf(a, b)]
}

// set puts or, with kind "", removes the constraint on a and b.
func (c *constraints) set(a, b Ref, kind Constraint) {
	if c.kind == nil {
		c.kind, c.of = map[refPair]Constraint{}, map[Ref][]Ref{}
	}
	k := refPairOf(a, b)
	_, had := c.kind[k]
	if kind == "" {
		if had {
			delete(c.kind, k)
			c.of[a] = dropRef(c.of[a], b)
			c.of[b] = dropRef(c.of[b], a)
		}
		return
	}
	c.kind[k] = kind
	if !had {
		c.of[a] = append(c.of[a], b)
		c.of[b] = append(c.of[b], a)
	}
}

func dropRef(xs []Ref, r Ref) []Ref {
	for i, x := range xs {
		if x == r {
			return append(xs[:i], xs[i+1:]...)
		}
	}
	return xs
}

// Constraints returns the constraints the index holds, in canonical order.
func (ix *Index) Constraints() []PairConstraint {
	out := make([]PairConstraint, 0, len(ix.cons.kind))
	for k, kind := range ix.cons.kind {
		out = append(out, PairConstraint{A: k[0], B: k[1], Kind: kind})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].A != out[j].A {
			return out[i].A.Less(out[j].A)
		}
		return out[i].B.Less(out[j].B)
	})
	return out
}

// Constrain sets the constraint on records a and b (kind "" removes it, which
// returns the pair to the scores) and returns the decisions that changed. The
// records need not be in the index yet. A record constrained with itself is
// ignored.
func (ix *Index) Constrain(a, b Ref, kind Constraint) *Change {
	if a == b || ix.cons.get(a, b) == kind {
		return &Change{}
	}
	set := map[int32]bool{}
	for _, r := range []Ref{a, b} {
		if h, ok := ix.byRef[r]; ok {
			set[h] = true
		}
	}
	before := ix.snapshot(ix.reach(set))
	ix.cons.set(a, b, kind)
	region := ix.reach(mergeSets(set, before.records))
	ix.extend(before, region, map[int32]bool{})
	ix.cluster(sortedHandles(region))
	return ix.diff(before, region)
}

// mustLinkEdges returns the must-link constraints among the records of set as
// pairs of handles, in the canonical order of their records.
func (ix *Index) mustLinkEdges(set []int32, in map[int32]bool) [][2]int32 {
	var out [][2]int32
	for _, h := range set {
		ref := ix.nodes[h].ref
		for _, o := range ix.cons.of[ref] {
			m, ok := ix.byRef[o]
			if !ok || !in[m] || !ref.Less(o) || ix.cons.get(ref, o) != MustLink {
				continue
			}
			out = append(out, [2]int32{h, m})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		x, y := out[i], out[j]
		if rx, ry := ix.nodes[x[0]].ref, ix.nodes[y[0]].ref; rx != ry {
			return rx.Less(ry)
		}
		return ix.nodes[x[1]].ref.Less(ix.nodes[y[1]].ref)
	})
	return out
}

// cannotLink reports a cannot-link constraint between a record of a and one of b.
func (ix *Index) cannotLink(a, b *cluster) bool {
	if len(ix.cons.kind) == 0 {
		return false
	}
	small, large := a, b
	if len(small.members) > len(large.members) {
		small, large = large, small
	}
	for _, x := range small.members {
		for _, o := range ix.cons.of[ix.nodes[x].ref] {
			h, ok := ix.byRef[o]
			if !ok || ix.cons.get(ix.nodes[x].ref, o) != CannotLink {
				continue
			}
			for _, y := range large.members {
				if y == h {
					return true
				}
			}
		}
	}
	return false
}
