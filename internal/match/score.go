package match

import "fmt"

// Config says how records are matched. Start from DefaultConfig.
type Config struct {
	// Upper and Lower are the score thresholds, in bits: a pair scoring at or
	// above Upper is linked automatically, one between the two is sent to a
	// person for review, one below Lower stays distinct. Lower <= Upper.
	Upper, Lower float64
	// Registry says how identifier systems are compared; nil means
	// NewRegistry().
	Registry *Registry
	// Model, when set, is used as it is and EM is skipped: the incremental
	// Index always runs with a fixed model.
	Model *Model
	// Overrides fix m and u of field levels; EM estimates only the others. They
	// apply to Model too.
	Overrides []Override
	// MaxBlock is the largest block whose records are compared pairwise; a
	// larger block (a placeholder birth date, a clinic's phone number) is left
	// out and counted in Stats.
	MaxBlock int
	// MaxIterations bounds EM.
	MaxIterations int
	// NameFrequencies adjusts exact agreement on a given or family name by how
	// common the name is.
	NameFrequencies bool
	// Constraints are decisions about pairs that the scores never override
	// (see Constraint); Index.Constrain changes them later.
	Constraints []PairConstraint
}

// DefaultConfig returns the configuration the tests measure.
func DefaultConfig() Config {
	return Config{Upper: 5, Lower: 2, MaxBlock: 100, MaxIterations: 200, NameFrequencies: true}
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Lower > c.Upper:
		return fmt.Errorf("match: lower threshold %v is above upper %v", c.Lower, c.Upper)
	case c.MaxBlock < 2:
		return fmt.Errorf("match: max block %d compares nothing", c.MaxBlock)
	}
	for _, k := range c.Constraints {
		if k.Kind != MustLink && k.Kind != CannotLink {
			return fmt.Errorf("match: constraint %q on %s and %s is not must-link or cannot-link", k.Kind, k.A, k.B)
		}
	}
	for _, o := range c.Overrides {
		if fieldIndex(o.Field) < 0 || levelIndex(fieldIndex(o.Field), o.Level) < 0 {
			return fmt.Errorf("match: override of unknown field level %s %s", o.Field, o.Level)
		}
		if !(o.M > 0 && o.M < 1 && o.U > 0 && o.U < 1) {
			return fmt.Errorf("match: override %s %s: m and u must lie between 0 and 1", o.Field, o.Level)
		}
	}
	return nil
}

func fieldIndex(name string) int {
	for i, s := range fieldSpecs {
		if s.name == name {
			return i
		}
	}
	return -1
}

func levelIndex(f int, name string) int {
	for i, l := range fieldSpecs[f].levels {
		if l == name {
			return i
		}
	}
	return -1
}

// Decision is what the matcher decided about a pair of records.
type Decision string

// The decisions.
const (
	// Link: the records are one person, decided automatically.
	Link Decision = "link"
	// Review: a person must decide; a review task is made.
	Review Decision = "review"
	// Distinct: the records stay apart.
	Distinct Decision = "distinct"
)

// Rule names the rule that made a pair's decision.
type Rule string

// The rules, in the order they are applied.
const (
	// RuleThreshold: the score against the two thresholds.
	RuleThreshold Rule = "threshold"
	// RuleConflict: a critical field disagrees (given name, birth date, sex,
	// suffix, multiple birth order, a strong or local identifier), so the pair
	// is never linked automatically: review when the score reaches Upper,
	// distinct otherwise.
	RuleConflict Rule = "conflict"
	// RuleSplit: the pair reached Upper, but linking it would put two records
	// that clearly disagree into one person (the chaining of twins); it is
	// sent to review instead.
	RuleSplit Rule = "split"
	// RuleCluster: the pair's records were linked through other records of
	// the same person, whatever its own score.
	RuleCluster Rule = "cluster"
	// RuleDecided: a constraint decided the pair (a person's review, or the
	// source's own link), whatever its score.
	RuleDecided Rule = "decided"
)

// scored is the decision of a pair from its own comparison, before clustering.
type scored struct {
	score     float64
	decision  Decision
	rule      Rule
	conflicts uint16 // bit per field at its critical level
}

// score weighs a comparison with model m and decides it with cfg's thresholds.
func (cfg *Config) score(m *Model, c comparison) scored {
	var s scored
	for f, l := range c.pattern {
		if l == missing {
			continue
		}
		s.score += m.Fields[f].Levels[l].Weight()
		if fieldSpecs[f].critical == l {
			s.conflicts |= 1 << f
		}
	}
	s.score += m.givenAdjustment(c) + m.familyAdjustment(c)
	switch {
	case s.conflicts != 0 && s.score >= cfg.Upper:
		s.decision, s.rule = Review, RuleConflict
	case s.conflicts != 0:
		s.decision, s.rule = Distinct, RuleConflict
	case s.score >= cfg.Upper:
		s.decision, s.rule = Link, RuleThreshold
	case s.score >= cfg.Lower:
		s.decision, s.rule = Review, RuleThreshold
	default:
		s.decision, s.rule = Distinct, RuleThreshold
	}
	return s
}

func (m *Model) givenAdjustment(c comparison) float64 {
	if c.pattern[fGiven] != 0 {
		return 0
	}
	return adjustment(m.GivenFrequency, m.givenSquares, c.given)
}

func (m *Model) familyAdjustment(c comparison) float64 {
	if c.pattern[fFamily] != 0 {
		return 0
	}
	return adjustment(m.FamilyFrequency, m.familySquares, c.family)
}

// clashes reports a pair whose records clearly disagree: a critical field
// conflicts. Such a pair is never put into one person, however the records
// are linked through others.
func (s scored) clashes() bool { return s.conflicts != 0 }

// conflictNames names the fields of a conflict bit set, in field order.
func conflictNames(bits uint16) []string {
	var out []string
	for f := 0; f < numFields; f++ {
		if bits&(1<<f) != 0 {
			out = append(out, fieldSpecs[f].name)
		}
	}
	return out
}
