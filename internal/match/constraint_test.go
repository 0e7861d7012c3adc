package match_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/match"
)

// constrained is a configuration with the default model and constraints.
func constrained(cons ...match.PairConstraint) match.Config {
	cfg := fixedModel()
	cfg.Constraints = cons
	return cfg
}

func pairOf(r *match.Result, a, b match.Ref) (match.Pair, bool) {
	if b.Less(a) {
		a, b = b, a
	}
	for _, p := range r.Pairs {
		if p.A == a && p.B == b {
			return p, true
		}
	}
	return match.Pair{}, false
}

// TestMustLinkOverridesScoresAndConflicts: twins the scores keep apart (a
// critical given-name conflict) become one person by a must-link, and the
// pair says a decision made it.
func TestMustLinkOverridesScoresAndConflicts(t *testing.T) {
	mary := household(person{given: []string{"Mary"}, family: "OConnor", birth: "2003-12-13", sex: "female"})
	maria := mary
	maria.given = []string{"Maria"}
	a, b := ref(sourceA, "1"), ref(sourceB, "2")
	records := []match.Record{mary.record(sourceA, "1"), maria.record(sourceB, "2")}
	r, err := match.Batch(records, fixedModel())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Persons) != 2 {
		t.Fatalf("without a decision: %d persons, want 2", len(r.Persons))
	}
	r, err = match.Batch(records, constrained(match.PairConstraint{A: b, B: a, Kind: match.MustLink}))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]match.Ref{{a, b}}, persons(r)); diff != "" {
		t.Fatalf("must-link persons (-want +got):\n%s", diff)
	}
	if p, ok := pairOf(r, a, b); !ok || p.Decision != match.Link || p.Rule != match.RuleDecided {
		t.Errorf("must-link pair = %+v (compared %v), want link by decided", p, ok)
	}
}

// TestCannotLinkSplitsAndStopsChains: two records that link by their scores
// stay apart under a cannot-link, and a third record that links to both does
// not join them.
func TestCannotLinkSplitsAndStopsChains(t *testing.T) {
	william := household(person{given: []string{"William", "Henry"}, family: "Wilson", birth: "1961-08-09", sex: "male"})
	bill := william
	bill.given = []string{"Bill", "H"}
	will := william
	will.given = []string{"Will"}
	a, b, c := ref(sourceA, "1"), ref(sourceB, "2"), ref(sourceC, "3")
	records := []match.Record{william.record(sourceA, "1"), bill.record(sourceB, "2"), will.record(sourceC, "3")}
	r, err := match.Batch(records, fixedModel())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Persons) != 1 {
		t.Fatalf("without a decision: %d persons, want 1", len(r.Persons))
	}
	r, err = match.Batch(records, constrained(match.PairConstraint{A: a, B: b, Kind: match.CannotLink}))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Persons {
		if len(p.Records) > 1 && p.Records[0] == a && p.Records[1] == b {
			t.Fatalf("cannot-link records in one person: %v", persons(r))
		}
	}
	if len(r.Persons) != 2 {
		t.Errorf("cannot-link: %d persons, want 2 (the third record with one of them): %v", len(r.Persons), persons(r))
	}
	if p, ok := pairOf(r, a, b); !ok || p.Decision != match.Distinct || p.Rule != match.RuleDecided {
		t.Errorf("cannot-link pair = %s by %s, want distinct by decided", p.Decision, p.Rule)
	}
	reviews := 0
	for _, p := range r.Reviews() {
		if p.B == c || p.A == c {
			reviews++
		}
	}
	if reviews != 1 {
		t.Errorf("the third record has %d review pairs, want 1 (the link the decision blocks)", reviews)
	}
}

// TestConstrainIsIncremental: constraints set and removed on an index one at
// a time leave it as a batch with the final constraints makes it, whatever
// the order; removing a constraint returns the pair to its scores.
func TestConstrainIsIncremental(t *testing.T) {
	pop := MustGenerate(t, "hard", 200, 5)
	base, err := match.Batch(pop.records, fixedModel())
	if err != nil {
		t.Fatal(err)
	}
	// Decide against some links and for some distinct pairs.
	var cons []match.PairConstraint
	for _, p := range base.Pairs {
		switch {
		case p.Decision == match.Link && len(cons)%2 == 0:
			cons = append(cons, match.PairConstraint{A: p.A, B: p.B, Kind: match.CannotLink})
		case p.Decision == match.Distinct && len(cons)%2 == 1:
			cons = append(cons, match.PairConstraint{A: p.A, B: p.B, Kind: match.MustLink})
		}
		if len(cons) == 20 {
			break
		}
	}
	if len(cons) < 20 {
		t.Fatalf("only %d pairs to decide", len(cons))
	}
	want, err := match.Batch(pop.records, constrained(cons...))
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Equal(persons(want), persons(base)) {
		t.Fatal("the constraints changed no person")
	}
	ix, err := match.NewIndex(shuffled(pop.records, 9), fixedModel())
	if err != nil {
		t.Fatal(err)
	}
	// A decision taken back on the way changes nothing at the end.
	extra := match.PairConstraint{A: base.Pairs[0].A, B: base.Pairs[0].B, Kind: match.CannotLink}
	ix.Constrain(extra.A, extra.B, extra.Kind)
	for i := len(cons) - 1; i >= 0; i-- {
		ix.Constrain(cons[i].A, cons[i].B, cons[i].Kind)
	}
	ix.Constrain(extra.A, extra.B, "")
	got := ix.Result()
	if diff := cmp.Diff(persons(want), persons(got)); diff != "" {
		t.Errorf("persons after Constrain (-batch +index):\n%s", diff)
	}
	if diff := cmp.Diff(pairViews(want.Pairs), pairViews(got.Pairs)); diff != "" {
		t.Errorf("pairs after Constrain (-batch +index):\n%s", diff)
	}
	held := map[match.PairConstraint]bool{}
	for _, c := range ix.Constraints() {
		held[c] = true
	}
	for _, c := range cons {
		if c.B.Less(c.A) {
			c.A, c.B = c.B, c.A
		}
		if !held[c] {
			t.Errorf("Constraints() lacks %+v", c)
		}
	}
	if len(held) != len(cons) {
		t.Errorf("Constraints() = %d, want %d", len(held), len(cons))
	}
	for _, c := range cons {
		ix.Constrain(c.A, c.B, "")
	}
	if diff := cmp.Diff(persons(base), persons(ix.Result())); diff != "" {
		t.Errorf("persons after removing every constraint (-scores +index):\n%s", diff)
	}
}

// TestConstraintWaitsForItsRecord: a decision about a record the index does
// not hold applies when the record arrives, and again after it is removed
// and added back.
func TestConstraintWaitsForItsRecord(t *testing.T) {
	mary := household(person{given: []string{"Mary"}, family: "OConnor", birth: "2003-12-13", sex: "female"})
	maria := mary
	maria.given = []string{"Maria"}
	a, b := ref(sourceA, "1"), ref(sourceB, "2")
	ix, err := match.NewIndex([]match.Record{mary.record(sourceA, "1")}, fixedModel())
	if err != nil {
		t.Fatal(err)
	}
	if ch := ix.Constrain(a, b, match.MustLink); len(ch.Added) != 0 {
		t.Errorf("a constraint on an absent record changed persons: %+v", ch.Added)
	}
	ch := ix.Upsert(maria.record(sourceB, "2"))
	if len(ch.Added) != 1 || len(ch.Added[0].Records) != 2 {
		t.Fatalf("Upsert() added %+v, want one person of both records", ch.Added)
	}
	ix.Remove(b)
	ix.Upsert(maria.record(sourceB, "2"))
	if diff := cmp.Diff([][]match.Ref{{a, b}}, persons(ix.Result())); diff != "" {
		t.Errorf("after remove and add back (-want +got):\n%s", diff)
	}
}
