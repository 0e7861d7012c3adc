package match

import (
	"sort"

	"omnichart/internal/ehr"
)

// Index holds a matched set of records: their profiles, blocks, compared
// pairs and persons. NewIndex matches a batch; Upsert and Remove change one
// record and re-decide only what that change can reach. After any sequence
// of changes the Index holds what NewIndex would make of the same records with
// the same model (Config.Model), whatever the order they came in. An Index is
// not safe for concurrent use.
type Index struct {
	cfg     Config
	model   *Model
	nodes   []*node // by handle; nil once removed
	byRef   map[Ref]int32
	blocks  map[uint64][]int32
	pairs   map[uint64]*pairState
	persons map[*cluster]bool
	skipped int
	cons    constraints
}

// node is one record in the index.
type node struct {
	ref    Ref
	prof   *profile
	keys   []uint64
	nbrs   []int32 // candidate partners, sorted
	person *cluster
}

// pairState is one compared pair: its comparison, its own decision, and the
// decision after clustering.
type pairState struct {
	cmp   comparison
	s     scored
	final Decision
	rule  Rule
	clash uint64 // for RuleSplit: the pair that clashed
}

// cluster is one person: the handles of its records, in canonical order.
type cluster struct {
	members []int32
}

// NewIndex matches records in one batch: it normalises them, blocks,
// compares the candidate pairs, estimates the model by EM (unless cfg.Model
// is set), scores every pair and clusters the records into persons. The
// records are put in canonical order first, so the result does not depend on
// their order. Two records with the same source and id are Invalid.
func NewIndex(records []Record, cfg Config) (*Index, error) {
	ix, keys, cmps, profiles, err := compareRecords(records, cfg)
	if err != nil {
		return nil, err
	}
	cfg = ix.cfg
	if cfg.Model == nil {
		ix.model = estimateFrom(cmps, profiles, cfg)
	} else {
		ix.model = cfg.Model.WithOverrides(cfg.Overrides)
	}
	for i, k := range keys {
		ix.pairs[k] = &pairState{cmp: cmps[i], s: ix.cfg.score(ix.model, cmps[i])}
		a, b := splitPairKey(k)
		ix.nodes[a].nbrs = append(ix.nodes[a].nbrs, b)
		ix.nodes[b].nbrs = append(ix.nodes[b].nbrs, a)
	}
	for _, n := range ix.nodes {
		sort.Slice(n.nbrs, func(i, j int) bool { return n.nbrs[i] < n.nbrs[j] })
	}
	all := make([]int32, len(ix.nodes))
	for i := range all {
		all[i] = int32(i)
	}
	ix.cluster(all)
	return ix, nil
}

// compareRecords normalises records, blocks them and compares the candidate
// pairs: the steps NewIndex and Estimate share. It returns an Index holding
// the records and blocks (no pairs, model or persons yet), the compared pairs'
// keys and comparisons in the same order, and the profiles by handle.
func compareRecords(records []Record, cfg Config) (*Index, []uint64, []comparison, []*profile, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, nil, nil, ehr.Errorf(ehr.Invalid, "%v", err)
	}
	if cfg.Registry == nil {
		cfg.Registry = NewRegistry()
	}
	recs := append([]Record(nil), records...)
	sort.Slice(recs, func(i, j int) bool { return recs[i].Ref().Less(recs[j].Ref()) })
	ix := &Index{cfg: cfg, byRef: make(map[Ref]int32, len(recs)), blocks: map[uint64][]int32{},
		pairs: map[uint64]*pairState{}, persons: map[*cluster]bool{}}
	for _, c := range cfg.Constraints {
		if c.A != c.B {
			ix.cons.set(c.A, c.B, c.Kind)
		}
	}
	profiles := make([]*profile, len(recs))
	parallel(len(recs), func(i int) { profiles[i] = prepare(recs[i], cfg.Registry) })
	for i, r := range recs {
		if i > 0 && recs[i-1].Ref() == r.Ref() {
			return nil, nil, nil, nil, ehr.Errorf(ehr.Invalid, "match: %s is given twice", r.Ref())
		}
		n := &node{ref: r.Ref(), prof: profiles[i], keys: blockingKeys(profiles[i])}
		ix.byRef[n.ref] = int32(i)
		ix.nodes = append(ix.nodes, n)
		for _, k := range n.keys {
			ix.blocks[k] = append(ix.blocks[k], int32(i))
		}
	}
	keys, skipped := candidatePairs(ix.blocks, cfg.MaxBlock)
	ix.skipped = skipped
	cmps := make([]comparison, len(keys))
	parallel(len(keys), func(i int) {
		a, b := splitPairKey(keys[i])
		cmps[i] = compare(ix.nodes[a].prof, ix.nodes[b].prof)
	})
	return ix, keys, cmps, profiles, nil
}

// Batch matches records in one batch and returns the result; see NewIndex.
func Batch(records []Record, cfg Config) (*Result, error) {
	ix, err := NewIndex(records, cfg)
	if err != nil {
		return nil, err
	}
	return ix.Result(), nil
}

// Model returns the model the index scores with.
func (ix *Index) Model() *Model { return ix.model }

// Upsert adds a record, or replaces the record with the same source and id,
// and returns the decisions that changed. It compares the record with the
// records it now shares blocks with, and clusters again only the persons its
// old and new links reach.
func (ix *Index) Upsert(r Record) *Change {
	p := prepare(r, ix.cfg.Registry)
	return ix.change(r.Ref(), p)
}

// Remove takes a record out (a deleted Patient) and returns the decisions
// that changed. Removing a record the index does not hold changes nothing.
func (ix *Index) Remove(ref Ref) *Change {
	if _, ok := ix.byRef[ref]; !ok {
		return &Change{}
	}
	return ix.change(ref, nil)
}

// change replaces the profile of ref with p (nil: remove) and re-decides.
func (ix *Index) change(ref Ref, p *profile) *Change {
	h, exists := ix.byRef[ref]
	if !exists {
		h = int32(len(ix.nodes))
		ix.nodes = append(ix.nodes, &node{ref: ref})
		ix.byRef[ref] = h
	}
	n := ix.nodes[h]
	touched := map[int32]bool{h: true}
	sizes := map[uint64]int{}
	var newKeys []uint64
	if p != nil {
		newKeys = blockingKeys(p)
	}
	for _, k := range append(append([]uint64(nil), n.keys...), newKeys...) {
		sizes[k] = len(ix.blocks[k])
	}
	for _, k := range n.keys {
		ix.blocks[k] = removeHandle(ix.blocks[k], h)
		if len(ix.blocks[k]) == 0 {
			delete(ix.blocks, k)
		}
	}
	n.prof, n.keys = p, newKeys
	for _, k := range newKeys {
		ix.blocks[k] = insertHandle(ix.blocks[k], h)
	}
	// A block that crossed MaxBlock adds or removes pairs of all its members.
	for k, before := range sizes {
		after := len(ix.blocks[k])
		if (before <= ix.cfg.MaxBlock) != (after <= ix.cfg.MaxBlock) {
			for _, m := range ix.blocks[k] {
				touched[m] = true
			}
		}
	}
	// Everything the change can reach: the persons of the touched records
	// before, and after re-pairing, everything linked to them.
	before := ix.snapshot(ix.reach(touched))
	for m := range touched {
		ix.repair(m)
	}
	if p == nil {
		if n.person != nil {
			delete(ix.persons, n.person)
		}
		delete(ix.byRef, ref)
		ix.nodes[h] = nil
		delete(touched, h)
		delete(before.records, h)
	}
	set := ix.reach(mergeSets(touched, before.records))
	ix.extend(before, set, touched)
	ix.cluster(sortedHandles(set))
	return ix.diff(before, set)
}

// repair recomputes the candidate partners of handle h and the pairs it is in.
func (ix *Index) repair(h int32) {
	n := ix.nodes[h]
	want := map[int32]bool{}
	if n.prof != nil {
		for _, k := range n.keys {
			if b := ix.blocks[k]; len(b) <= ix.cfg.MaxBlock {
				for _, m := range b {
					if m != h {
						want[m] = true
					}
				}
			}
		}
	}
	for _, m := range n.nbrs {
		if !want[m] {
			delete(ix.pairs, pairKey(h, m))
			ix.nodes[m].nbrs = removeHandle(ix.nodes[m].nbrs, h)
		}
	}
	n.nbrs = n.nbrs[:0]
	for m := range want {
		n.nbrs = append(n.nbrs, m)
	}
	sort.Slice(n.nbrs, func(i, j int) bool { return n.nbrs[i] < n.nbrs[j] })
	for _, m := range n.nbrs {
		c := compare(n.prof, ix.nodes[m].prof)
		ix.pairs[pairKey(h, m)] = &pairState{cmp: c, s: ix.cfg.score(ix.model, c)}
		ix.nodes[m].nbrs = insertHandle(ix.nodes[m].nbrs, h)
	}
}

// reach returns the records of set, the persons they are in, and everything
// linked to them by pairs decided Link on their own score, until closed.
func (ix *Index) reach(set map[int32]bool) map[int32]bool {
	out := map[int32]bool{}
	var stack []int32
	push := func(h int32) {
		if !out[h] && int(h) < len(ix.nodes) && ix.nodes[h] != nil {
			out[h] = true
			stack = append(stack, h)
		}
	}
	for h := range set {
		push(h)
	}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := ix.nodes[h]
		if n.person != nil {
			for _, m := range n.person.members {
				push(m)
			}
		}
		for _, o := range ix.cons.of[n.ref] {
			if m, ok := ix.byRef[o]; ok && ix.cons.get(n.ref, o) == MustLink {
				push(m)
			}
		}
		for _, m := range n.nbrs {
			if ps := ix.pairs[pairKey(h, m)]; ps != nil && ps.s.decision == Link {
				push(m)
			}
		}
	}
	return out
}

func mergeSets(a, b map[int32]bool) map[int32]bool {
	out := make(map[int32]bool, len(a)+len(b))
	for h := range a {
		out[h] = true
	}
	for h := range b {
		out[h] = true
	}
	return out
}

func sortedHandles(set map[int32]bool) []int32 {
	out := make([]int32, 0, len(set))
	for h := range set {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// insertHandle adds h to a sorted list once.
func insertHandle(xs []int32, h int32) []int32 {
	i := sort.Search(len(xs), func(i int) bool { return xs[i] >= h })
	if i < len(xs) && xs[i] == h {
		return xs
	}
	xs = append(xs, 0)
	copy(xs[i+1:], xs[i:])
	xs[i] = h
	return xs
}

// removeHandle takes h out of a sorted list.
func removeHandle(xs []int32, h int32) []int32 {
	i := sort.Search(len(xs), func(i int) bool { return xs[i] >= h })
	if i < len(xs) && xs[i] == h {
		return append(xs[:i], xs[i+1:]...)
	}
	return xs
}
