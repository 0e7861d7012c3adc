package match

import "sort"

// PersonOf returns the person record ref is in, and false when the index does
// not hold ref.
func (ix *Index) PersonOf(ref Ref) (Person, bool) {
	h, ok := ix.byRef[ref]
	if !ok || ix.nodes[h].person == nil {
		return Person{}, false
	}
	return ix.person(ix.nodes[h].person), true
}

// PairOf returns the compared pair of records a and b, and false when the
// two are not a candidate pair (or not both in the index).
func (ix *Index) PairOf(a, b Ref) (Pair, bool) {
	ha, oka := ix.byRef[a]
	hb, okb := ix.byRef[b]
	if !oka || !okb {
		return Pair{}, false
	}
	k := pairKey(ha, hb)
	if ix.pairs[k] == nil {
		return Pair{}, false
	}
	return ix.pair(k), true
}

// Candidates scores r against the records of the index it shares a block
// with, without adding it, and returns the pairs best score first (ties in
// canonical order): the answer to "who is this?". Pair.A is r, Pair.B the
// indexed record; Decision and Rule are the pair's own, before clustering. A
// record of the index with r's source and id is left out.
func (ix *Index) Candidates(r Record) []Pair {
	p := prepare(r, ix.cfg.Registry)
	seen := map[int32]bool{}
	var out []Pair
	for _, k := range blockingKeys(p) {
		b := ix.blocks[k]
		if len(b) >= ix.cfg.MaxBlock {
			continue
		}
		for _, h := range b {
			n := ix.nodes[h]
			if seen[h] || n.ref == r.Ref() {
				continue
			}
			seen[h] = true
			c := compare(p, n.prof)
			s := ix.cfg.score(ix.model, c)
			pr := Pair{A: r.Ref(), B: n.ref, Score: s.score, Decision: s.decision, Rule: s.rule,
				cmp: c, model: ix.model, cfg: &ix.cfg}
			if s.conflicts != 0 {
				pr.Conflicts = conflictNames(s.conflicts)
			}
			out = append(out, pr)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].B.Less(out[j].B)
	})
	return out
}
