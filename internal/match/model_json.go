package match

import (
	"encoding/json"
	"fmt"
	"math"
)

// modelJSON is the stored form of a Model: its levels and numbers only.
// The name frequencies are left out on purpose: they are names of patients,
// and a stored model must say nothing about any record.
type modelJSON struct {
	MatchShare float64     `json:"matchShare"`
	Pairs      int         `json:"pairs"`
	Iterations int         `json:"iterations"`
	Converged  bool        `json:"converged"`
	Fields     []fieldJSON `json:"fields"`
}

type fieldJSON struct {
	Field  string      `json:"field"`
	Levels []levelJSON `json:"levels"`
}

type levelJSON struct {
	Level string  `json:"level"`
	M     float64 `json:"m"`
	U     float64 `json:"u"`
	// Fixed says the level was fixed by configuration when the model was
	// estimated; it is not fixed when the model is read back (the
	// configuration in force then decides).
	Fixed bool `json:"fixed,omitempty"`
}

// EncodeModel returns the stored form of m: JSON with the match share, the
// pairs and EM rounds it came from, and m and u of every field level. Name
// frequencies are not part of it, so a model read back scores exact name
// agreement without them.
func EncodeModel(m *Model) ([]byte, error) {
	out := modelJSON{MatchShare: m.MatchShare, Pairs: m.Pairs, Iterations: m.Iterations, Converged: m.Converged}
	for _, f := range m.Fields {
		fj := fieldJSON{Field: f.Field}
		for _, l := range f.Levels {
			fj.Levels = append(fj.Levels, levelJSON{Level: l.Level, M: l.M, U: l.U, Fixed: l.Fixed})
		}
		out.Fields = append(out.Fields, fj)
	}
	return json.Marshal(out)
}

// DecodeModel reads a model EncodeModel wrote. A field or level the stored
// form does not name (one added to the matcher since) takes DefaultModel's
// values, and the field's levels are scaled to sum to one again. An unknown
// field or level, a number that is not a chance (m and u in (0, 1], the
// match share in (0, 1)) or a level given twice is an error, and nothing of
// the model is used.
func DecodeModel(data []byte) (*Model, error) {
	var in modelJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, fmt.Errorf("match: read model: %w", err)
	}
	if !(in.MatchShare > 0 && in.MatchShare < 1) {
		return nil, fmt.Errorf("match: read model: match share %v is not between 0 and 1", in.MatchShare)
	}
	m := DefaultModel()
	m.MatchShare, m.Pairs, m.Iterations, m.Converged = in.MatchShare, in.Pairs, in.Iterations, in.Converged
	seenField := map[string]bool{}
	for _, fj := range in.Fields {
		f := fieldIndex(fj.Field)
		if f < 0 {
			return nil, fmt.Errorf("match: read model: unknown field %q", fj.Field)
		}
		if seenField[fj.Field] {
			return nil, fmt.Errorf("match: read model: field %q is given twice", fj.Field)
		}
		seenField[fj.Field] = true
		seenLevel := map[string]bool{}
		for _, lj := range fj.Levels {
			l := levelIndex(f, lj.Level)
			if l < 0 {
				return nil, fmt.Errorf("match: read model: unknown level %s %s", fj.Field, lj.Level)
			}
			if seenLevel[lj.Level] {
				return nil, fmt.Errorf("match: read model: level %s %s is given twice", fj.Field, lj.Level)
			}
			seenLevel[lj.Level] = true
			if !isChance(lj.M) || !isChance(lj.U) {
				return nil, fmt.Errorf("match: read model: %s %s: m %v and u %v must lie in (0, 1]", fj.Field, lj.Level, lj.M, lj.U)
			}
			m.Fields[f].Levels[l].M, m.Fields[f].Levels[l].U = lj.M, lj.U
		}
		normalize(m.Fields[f].Levels)
	}
	return m, nil
}

func isChance(p float64) bool { return p > 0 && p <= 1 && !math.IsNaN(p) }
