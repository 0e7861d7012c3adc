package match

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Explanation says why a pair was decided as it was: the weight every field
// contributed, the thresholds, and the rule that decided. It names fields and
// levels, never the values of the records, so it can be logged.
type Explanation struct {
	A, B         Ref
	Score        float64
	Upper, Lower float64
	Decision     Decision
	Rule         Rule
	// Fields has one entry per field, in field order, missing ones included
	// with weight 0.
	Fields []Contribution
	// Conflicts names the critical fields that disagree; Clash the records
	// that would have been joined (RuleSplit).
	Conflicts []string
	Clash     [2]Ref
}

// Contribution is what one field added to a pair's score.
type Contribution struct {
	Field string
	// Level is the agreement level, or "missing" when either record lacks the
	// field.
	Level string
	// M and U are the model's chances of the level among matches and
	// non-matches; Weight is log2(M/U) plus Adjustment, the correction for a
	// rare or common name (exact given and family names only).
	M, U       float64
	Adjustment float64
	Weight     float64
	// Critical is set when the level is the field's critical conflict.
	Critical bool
}

// Explain returns the explanation of the pair.
func (p Pair) Explain() Explanation {
	e := Explanation{A: p.A, B: p.B, Score: p.Score, Decision: p.Decision, Rule: p.Rule,
		Conflicts: p.Conflicts, Clash: p.Clash}
	if p.cfg != nil {
		e.Upper, e.Lower = p.cfg.Upper, p.cfg.Lower
	}
	if p.model == nil {
		return e
	}
	for f, l := range p.cmp.pattern {
		c := Contribution{Field: fieldSpecs[f].name, Level: "missing"}
		if l != missing {
			lm := p.model.Fields[f].Levels[l]
			c.Level, c.M, c.U, c.Weight = lm.Level, lm.M, lm.U, lm.Weight()
			c.Critical = fieldSpecs[f].critical == l
			switch f {
			case fGiven:
				c.Adjustment = p.model.givenAdjustment(p.cmp)
			case fFamily:
				c.Adjustment = p.model.familyAdjustment(p.cmp)
			}
			c.Weight += c.Adjustment
		}
		e.Fields = append(e.Fields, c)
	}
	return e
}

// String writes the explanation as a small table:
//
//	Patient/a@urn:omnichart:source:x ~ Patient/b@urn:omnichart:source:y: score 21.4 (upper 10, lower 4): link by threshold
//	  given             exact        +6.1  (m 0.871 u 0.0312, name frequency -0.7)
//	  ...
func (e Explanation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s ~ %s: score %.1f (upper %g, lower %g): %s by %s", e.A, e.B, e.Score, e.Upper, e.Lower, e.Decision, e.Rule)
	if len(e.Conflicts) > 0 {
		fmt.Fprintf(&b, "; conflicts: %s", strings.Join(e.Conflicts, ", "))
	}
	if e.Rule == RuleSplit {
		fmt.Fprintf(&b, "; would join %s and %s, which conflict", e.Clash[0], e.Clash[1])
	}
	b.WriteByte('\n')
	for _, c := range e.Fields {
		if c.Level == "missing" {
			fmt.Fprintf(&b, "  %-17s %-10s %6s\n", c.Field, c.Level, "0")
			continue
		}
		fmt.Fprintf(&b, "  %-17s %-10s %+6.1f  (m %.3g u %.3g", c.Field, c.Level, c.Weight, c.M, c.U)
		if c.Adjustment != 0 {
			fmt.Fprintf(&b, ", name frequency %+.1f", c.Adjustment)
		}
		if c.Critical {
			b.WriteString(", critical")
		}
		b.WriteString(")\n")
	}
	return b.String()
}

// ReviewTaskCode is the Task.code of a match review task.
const ReviewTaskCode = "match-review"

// ReviewTask returns the FHIR Task that asks a person to decide a pair sent
// to review, in the shape of the identity-conflict tasks of the interaction
// engine: code urn:omnichart:task|match-review, focus and for the first
// record, and as inputs both records, the score and the explanation
// (which names fields and levels, never values). The caller sets authoredOn
// and stores it.
func (p Pair) ReviewTask() map[string]any {
	e := p.Explain()
	return map[string]any{
		"resourceType": "Task", "status": "requested", "intent": "proposal", "priority": "routine",
		"code":        map[string]any{"coding": []any{map[string]any{"system": "urn:omnichart:task", "code": ReviewTaskCode}}},
		"description": fmt.Sprintf("Are these two records one person? Sent to review by the %s rule.", p.Rule),
		"focus":       map[string]any{"reference": p.A.Reference()},
		"for":         map[string]any{"reference": p.A.Reference()},
		"input": []any{
			map[string]any{"type": map[string]any{"text": "record"}, "valueReference": map[string]any{"reference": p.A.Reference()}},
			map[string]any{"type": map[string]any{"text": "other record"}, "valueReference": map[string]any{"reference": p.B.Reference()}},
			map[string]any{"type": map[string]any{"text": "score"}, "valueDecimal": json.Number(strconv.FormatFloat(p.Score, 'f', 2, 64))},
			map[string]any{"type": map[string]any{"text": "explanation"}, "valueString": e.String()},
		},
	}
}
