package match

import (
	"fmt"
	"sort"
	"time"

	"omnichart/internal/ehr"
)

// Result is a matched set of records.
type Result struct {
	// Model is the model the pairs were scored with.
	Model *Model
	// Pairs are the compared pairs, in the canonical order of their records.
	Pairs []Pair
	// Persons are the persons, each with its records, in the canonical order
	// of their first records. Every record is in exactly one person.
	Persons []Person
	Stats   Stats
}

// Stats counts what a match did.
type Stats struct {
	Records int
	// Blocks is the number of blocks; SkippedBlocks of them were larger than
	// Config.MaxBlock and not compared.
	Blocks, SkippedBlocks int
	// Pairs is the number of compared pairs, of which Links were linked,
	// Reviews sent to review and Splits sent to review by the clustering.
	Pairs, Links, Reviews, Splits int
	Persons                       int
}

// Pair is two compared records and what was decided about them.
type Pair struct {
	// A and B are the records, A before B in canonical order.
	A, B Ref
	// Score is the sum of the field weights, in bits.
	Score    float64
	Decision Decision
	Rule     Rule
	// Conflicts names the critical fields that disagree.
	Conflicts []string
	// Clash, for RuleSplit, names the two records that disagree and would have
	// been joined.
	Clash [2]Ref

	cmp   comparison
	model *Model
	cfg   *Config
}

// Person is one human as the matcher sees it: the records that are theirs.
type Person struct {
	// Key is the person's first record in canonical order: a stable name for
	// the person as long as that record stays theirs.
	Key     Ref
	Records []Ref
}

// Change is what one Upsert or Remove changed.
type Change struct {
	// Pairs are the pairs compared for the first time or decided otherwise
	// than before; Dropped are pairs no longer compared, as they were.
	Pairs, Dropped []Pair
	// Removed are persons that no longer exist as they were; Added are the
	// persons that took their place.
	Removed, Added []Person
}

// Result returns the current state of the index.
func (ix *Index) Result() *Result {
	r := &Result{Model: ix.model}
	for _, n := range ix.nodes {
		if n != nil {
			r.Stats.Records++
		}
	}
	// Rank the records in canonical order once, so that pairs sort by two
	// integers rather than four strings.
	rank := make([]int32, len(ix.nodes))
	live := make([]int32, 0, len(ix.nodes))
	for h, n := range ix.nodes {
		if n != nil {
			live = append(live, int32(h))
		}
	}
	sort.Slice(live, func(i, j int) bool { return ix.nodes[live[i]].ref.Less(ix.nodes[live[j]].ref) })
	for i, h := range live {
		rank[h] = int32(i)
	}
	keys := make([]uint64, 0, len(ix.pairs))
	for k := range ix.pairs {
		a, b := splitPairKey(k)
		keys = append(keys, pairKey(rank[a], rank[b]))
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	r.Pairs = make([]Pair, len(keys))
	for i, k := range keys {
		a, b := splitPairKey(k)
		r.Pairs[i] = ix.pair(pairKey(live[a], live[b]))
	}
	for _, p := range r.Pairs {
		switch {
		case p.Decision == Link:
			r.Stats.Links++
		case p.Rule == RuleSplit:
			r.Stats.Splits++
			r.Stats.Reviews++
		case p.Decision == Review:
			r.Stats.Reviews++
		}
	}
	for c := range ix.persons {
		r.Persons = append(r.Persons, ix.person(c))
	}
	sort.Slice(r.Persons, func(i, j int) bool { return r.Persons[i].Key.Less(r.Persons[j].Key) })
	r.Stats.Pairs, r.Stats.Persons = len(r.Pairs), len(r.Persons)
	r.Stats.Blocks, r.Stats.SkippedBlocks = len(ix.blocks), ix.skippedBlocks()
	return r
}

func (ix *Index) skippedBlocks() int {
	n := 0
	for _, b := range ix.blocks {
		if len(b) > ix.cfg.MaxBlock {
			n++
		}
	}
	return n
}

func pairLess(a, b Pair) bool {
	if a.A != b.A {
		return a.A.Less(b.A)
	}
	return a.B.Less(b.B)
}

// pair returns the public form of the pair with key k.
func (ix *Index) pair(k uint64) Pair {
	ps := ix.pairs[k]
	a, b := splitPairKey(k)
	ra, rb := ix.nodes[a].ref, ix.nodes[b].ref
	if rb.Less(ra) {
		ra, rb = rb, ra
	}
	p := Pair{A: ra, B: rb, Score: ps.s.score, Decision: ps.final, Rule: ps.rule,
		cmp: ps.cmp, model: ix.model, cfg: &ix.cfg}
	if ps.s.conflicts != 0 {
		p.Conflicts = conflictNames(ps.s.conflicts)
	}
	if ps.rule == RuleSplit {
		x, y := splitPairKey(ps.clash)
		p.Clash = [2]Ref{ix.nodes[x].ref, ix.nodes[y].ref}
	}
	return p
}

func (ix *Index) person(c *cluster) Person {
	p := Person{Records: make([]Ref, len(c.members))}
	for i, h := range c.members {
		p.Records[i] = ix.nodes[h].ref
	}
	p.Key = p.Records[0]
	return p
}

// Reviews returns the pairs sent to review, in canonical order: each is a
// task for a person.
func (r *Result) Reviews() []Pair {
	var out []Pair
	for _, p := range r.Pairs {
		if p.Decision == Review {
			out = append(out, p)
		}
	}
	return out
}

// PersonLinks returns one ehr.PersonLink per record of every person, person
// by person: personID names the "Person/<id>" the storage keeps for a person.
// A record's score is the best score of its linked pairs; a person of one
// record has score 0. Links made by the matcher carry assurance level3
// (automatic, certain) and no reviewer.
func (r *Result) PersonLinks(personID func(Person) string, decided time.Time) []ehr.PersonLink {
	best := map[Ref]float64{}
	for _, pr := range r.Pairs {
		if pr.Decision == Link {
			best[pr.A] = max(best[pr.A], pr.Score)
			best[pr.B] = max(best[pr.B], pr.Score)
		}
	}
	var out []ehr.PersonLink
	for _, p := range r.Persons {
		person := personID(p)
		for _, ref := range p.Records {
			reason := "the only record of this person"
			if len(p.Records) > 1 {
				reason = fmt.Sprintf("linked automatically with %d other records; best pair score %.1f bits", len(p.Records)-1, best[ref])
			}
			out = append(out, ehr.PersonLink{Person: person, Patient: ref.Reference(), Source: ref.Source,
				Assurance: ehr.AssuranceLevel3, Score: best[ref], Decided: decided, Reason: reason})
		}
	}
	return out
}

// snapshot is the state of a region of the index before a change.
type snapshot struct {
	records map[int32]bool
	persons map[string]Person
	pairs   map[uint64]Pair
}

func personKey(p Person) string { return fmt.Sprint(p.Records) }

// snapshot records the persons and pairs of the records of set.
func (ix *Index) snapshot(set map[int32]bool) snapshot {
	s := snapshot{records: set, persons: map[string]Person{}, pairs: map[uint64]Pair{}}
	for h := range set {
		n := ix.nodes[h]
		if n.person != nil {
			p := ix.person(n.person)
			s.persons[personKey(p)] = p
		}
		for _, m := range n.nbrs {
			k := pairKey(h, m)
			s.pairs[k] = ix.pair(k)
		}
	}
	return s
}

// extend adds to a snapshot taken before re-pairing the records of set it
// does not hold yet: their persons, still as they were, and their pairs with
// records other than the touched ones, which re-pairing did not change.
func (ix *Index) extend(s snapshot, set, touched map[int32]bool) {
	for h := range set {
		if s.records[h] {
			continue
		}
		n := ix.nodes[h]
		if n.person != nil {
			p := ix.person(n.person)
			s.persons[personKey(p)] = p
		}
		for _, m := range n.nbrs {
			if k := pairKey(h, m); !touched[m] {
				if _, ok := s.pairs[k]; !ok {
					s.pairs[k] = ix.pair(k)
				}
			}
		}
	}
}

// diff compares the region set after a change with the snapshot before it.
func (ix *Index) diff(before snapshot, set map[int32]bool) *Change {
	after := snapshot{}
	if len(set) > 0 {
		after = ix.snapshot(set)
	}
	c := &Change{}
	for k, p := range after.pairs {
		old, ok := before.pairs[k]
		if !ok || old.A != p.A || old.B != p.B || old.Score != p.Score || old.Decision != p.Decision || old.Rule != p.Rule || old.Clash != p.Clash {
			c.Pairs = append(c.Pairs, p)
		}
	}
	for k, p := range before.pairs {
		if q, ok := after.pairs[k]; !ok || q.A != p.A || q.B != p.B {
			c.Dropped = append(c.Dropped, p)
		}
	}
	for k, p := range after.persons {
		if _, ok := before.persons[k]; !ok {
			c.Added = append(c.Added, p)
		}
	}
	for k, p := range before.persons {
		if _, ok := after.persons[k]; !ok {
			c.Removed = append(c.Removed, p)
		}
	}
	sort.Slice(c.Pairs, func(i, j int) bool { return pairLess(c.Pairs[i], c.Pairs[j]) })
	sort.Slice(c.Dropped, func(i, j int) bool { return pairLess(c.Dropped[i], c.Dropped[j]) })
	sort.Slice(c.Added, func(i, j int) bool { return c.Added[i].Key.Less(c.Added[j].Key) })
	sort.Slice(c.Removed, func(i, j int) bool { return c.Removed[i].Key.Less(c.Removed[j].Key) })
	return c
}
