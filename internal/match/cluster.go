package match

import "sort"

// Clustering turns pair decisions into persons without chaining errors.
// Pairs decided Link are taken one at a time, highest score first (ties in
// the canonical order of their records). A pair joins the persons of its two
// records unless some record of the one person clashes with some record of
// the other: a critical field conflicts between them (see RuleConflict). A
// pair that would join clashing records is not linked but sent to review
// (RuleSplit), naming the clash. So A~B and B~C never silently put A with C
// when A and C are, say, twins with different given names and SSNs. Pairs
// whose records end in one person are Link (RuleCluster when their own score
// was lower); the others keep their own decision.
//
// The result depends only on the set of records and the model: persons form
// within groups of records connected by Link pairs, each group on its own,
// so Upsert re-clusters only the groups a change reaches.

// cluster re-clusters the records of set, which must be closed under Link
// pairs and persons (see reach).
func (ix *Index) cluster(set []int32) {
	in := make(map[int32]bool, len(set))
	for _, h := range set {
		in[h] = true
		if p := ix.nodes[h].person; p != nil {
			delete(ix.persons, p)
		}
		ix.nodes[h].person = nil
	}
	type edge struct {
		a, b int32
		ps   *pairState
	}
	var edges []edge
	for _, h := range set {
		for _, m := range ix.nodes[h].nbrs {
			ps := ix.pairs[pairKey(h, m)]
			if h < m || !in[m] {
				ps.final, ps.rule, ps.clash = ps.s.decision, ps.s.rule, 0
			}
			if h < m && ps.s.decision == Link && ix.cons.get(ix.nodes[h].ref, ix.nodes[m].ref) != CannotLink {
				a, b := h, m
				if ix.nodes[b].ref.Less(ix.nodes[a].ref) {
					a, b = b, a
				}
				edges = append(edges, edge{a, b, ps})
			}
		}
	}
	sort.Slice(edges, func(i, j int) bool {
		x, y := edges[i], edges[j]
		if x.ps.s.score != y.ps.s.score {
			return x.ps.s.score > y.ps.s.score
		}
		if ra, rb := ix.nodes[x.a].ref, ix.nodes[y.a].ref; ra != rb {
			return ra.Less(rb)
		}
		return ix.nodes[x.b].ref.Less(ix.nodes[y.b].ref)
	})
	of := make(map[int32]*cluster, len(set))
	for _, h := range set {
		of[h] = &cluster{members: []int32{h}}
	}
	join := func(ca, cb *cluster) {
		if len(ca.members) < len(cb.members) {
			ca, cb = cb, ca
		}
		ca.members = ix.mergeMembers(ca.members, cb.members)
		for _, h := range cb.members {
			of[h] = ca
		}
	}
	// Decisions first: a must-link joins whatever the fields say, unless a
	// cannot-link keeps the two persons apart.
	for _, e := range ix.mustLinkEdges(set, in) {
		if ca, cb := of[e[0]], of[e[1]]; ca != cb && !ix.cannotLink(ca, cb) {
			join(ca, cb)
		}
	}
	for _, e := range edges {
		ca, cb := of[e.a], of[e.b]
		if ca == cb {
			continue
		}
		if ix.cannotLink(ca, cb) {
			e.ps.final, e.ps.rule, e.ps.clash = Review, RuleSplit, ix.cannotPair(ca, cb)
			continue
		}
		if x, y, ok := ix.clash(ca, cb); ok {
			e.ps.final, e.ps.rule, e.ps.clash = Review, RuleSplit, pairKey(x, y)
			continue
		}
		join(ca, cb)
	}
	for _, h := range set {
		c := of[h]
		if ix.nodes[h].person == nil {
			ix.persons[c] = true
			for _, m := range c.members {
				ix.nodes[m].person = c
			}
		}
		for _, m := range ix.nodes[h].nbrs {
			if h > m && in[m] {
				continue
			}
			ps := ix.pairs[pairKey(h, m)]
			if of[m] == c && in[m] {
				if ps.s.decision != Link {
					ps.final, ps.rule = Link, RuleCluster
				} else {
					ps.final, ps.rule = Link, ps.s.rule
				}
			}
			switch ix.cons.get(ix.nodes[h].ref, ix.nodes[m].ref) {
			case MustLink:
				ps.final, ps.rule, ps.clash = Link, RuleDecided, 0
				if in[m] && of[m] != c {
					// Another decision keeps them apart.
					ps.final = Review
				}
			case CannotLink:
				ps.final, ps.rule, ps.clash = Distinct, RuleDecided, 0
			}
		}
	}
}

// clash returns the first pair of records, one of each cluster in canonical
// order, that clashes.
func (ix *Index) clash(a, b *cluster) (int32, int32, bool) {
	for _, x := range a.members {
		for _, y := range b.members {
			var conflicts uint16
			if ps := ix.pairs[pairKey(x, y)]; ps != nil {
				conflicts = ps.s.conflicts
			} else {
				conflicts = conflictBits(compare(ix.nodes[x].prof, ix.nodes[y].prof).pattern)
			}
			if conflicts != 0 {
				return x, y, true
			}
		}
	}
	return 0, 0, false
}

// conflictBits returns the critical conflicts of a pattern.
func conflictBits(p pattern) uint16 {
	var bits uint16
	for f, l := range p {
		if l != missing && fieldSpecs[f].critical == l {
			bits |= 1 << f
		}
	}
	return bits
}

// mergeMembers merges two lists of handles sorted by their records' refs.
func (ix *Index) mergeMembers(a, b []int32) []int32 {
	out := make([]int32, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if ix.nodes[b[j]].ref.Less(ix.nodes[a[i]].ref) {
			out = append(out, b[j])
			j++
		} else {
			out = append(out, a[i])
			i++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// cannotPair returns the key of the first cannot-link pair between a and b;
// both ends are compared records' handles, which need not be a compared pair.
func (ix *Index) cannotPair(a, b *cluster) uint64 {
	for _, x := range a.members {
		for _, y := range b.members {
			if ix.cons.get(ix.nodes[x].ref, ix.nodes[y].ref) == CannotLink {
				return pairKey(x, y)
			}
		}
	}
	return 0
}
