package match

import (
	"math"
	"sort"
)

// Model is what the matcher knows about agreement: for each field and level,
// the chance m that two records of one person agree at that level and the
// chance u that two records of different people do (both among pairs where
// the field is present). A level weighs log2(m/u) bits. Estimate fills a
// Model from the data by expectation maximisation; levels marked Fixed come
// from configuration and are left as they are.
type Model struct {
	Fields []FieldModel
	// MatchShare is the estimated share of matches among the compared pairs.
	MatchShare float64
	// Pairs is the number of pairs the model was estimated on; Iterations
	// how many EM rounds it took, and Converged whether the estimates settled.
	Pairs      int
	Iterations int
	Converged  bool
	// GivenFrequency and FamilyFrequency are the shares of records with each
	// first given name and family name (folded), for the adjustment of exact
	// agreement on rare and common names. Empty maps switch it off.
	GivenFrequency, FamilyFrequency map[string]float64
	// givenSquares and familySquares are the chance that two records agree on
	// a given or family name by chance: the sum of squared frequencies.
	givenSquares, familySquares float64
}

// FieldModel is the m and u of each level of one field, best level first.
type FieldModel struct {
	Field  string
	Levels []LevelModel
}

// LevelModel is the m and u of one agreement level.
type LevelModel struct {
	Level string
	M, U  float64
	// Fixed is set for a level whose m and u came from configuration.
	Fixed bool
}

// maxWeight bounds the weight of one level, so that a level never seen among
// matches (or non-matches) cannot decide a pair alone.
const maxWeight = 20

// Weight returns log2(M/U), bounded by ±20 bits.
func (l LevelModel) Weight() float64 {
	if l.M <= 0 || l.U <= 0 {
		if l.M > l.U {
			return maxWeight
		}
		return -maxWeight
	}
	return max(-maxWeight, min(maxWeight, math.Log2(l.M/l.U)))
}

// Override sets m and u of one field level; EM does not change it.
type Override struct {
	Field, Level string
	M, U         float64
}

// DefaultModel returns m and u for every field level as EM estimated them
// on a generated population of medium difficulty (internal/gen, 5,000
// people at four sources), rounded, and set by hand for the levels such data
// hardly shows (a suffix, a local identifier, a strong identifier's other
// value). EM starts from it, and an Index without data of its own can score
// with it; estimate from the data as soon as there is some.
func DefaultModel() *Model {
	m := &Model{MatchShare: 0.25}
	for f, s := range fieldSpecs {
		fm := FieldModel{Field: s.name}
		for i, name := range s.levels {
			mu := defaultMU[f][i]
			fm.Levels = append(fm.Levels, LevelModel{Level: name, M: mu[0], U: mu[1]})
		}
		normalize(fm.Levels)
		m.Fields = append(m.Fields, fm)
	}
	return m
}

// defaultMU are the m and u of DefaultModel, per field and level.
var defaultMU = [numFields][][2]float64{
	fGiven:         {{0.85, 0.027}, {0.09, 0.006}, {0.03, 0.001}, {0.027, 0.0008}, {0.002, 0.0004}, {0.001, 0.965}},
	fFamily:        {{0.79, 0.56}, {0.04, 0.001}, {0.015, 0.012}, {0.045, 0.03}, {0.033, 0.02}, {0.077, 0.377}},
	fMiddle:        {{0.48, 0.0095}, {0.52, 0.035}, {0.0005, 0.9555}},
	fSuffix:        {{0.95, 0.1}, {0.05, 0.9}},
	fBirthDate:     {{0.96, 0.085}, {0.02, 0.03}, {0.005, 0.002}, {0.005, 0.003}, {0.01, 0.88}},
	fSex:           {{0.999, 0.47}, {0.001, 0.53}},
	fStrongID:      {{0.9645, 0.0001}, {0.035, 0.0001}, {0.0005, 0.9998}},
	fLocalID:       {{0.99, 0.0001}, {0.01, 0.9999}},
	fAddress:       {{0.99, 0.71}, {0.002, 0.005}, {0.001, 0.035}, {0.007, 0.25}},
	fPhone:         {{0.999, 0.89}, {0.001, 0.11}},
	fEmail:         {{0.99, 0.045}, {0.01, 0.955}},
	fMultipleBirth: {{0.98, 0.01}, {0.02, 0.99}},
}

// normalize scales the m and u of levels to sum to one, leaving fixed levels
// as they are.
func normalize(levels []LevelModel) {
	var fixedM, fixedU, freeM, freeU float64
	for _, l := range levels {
		if l.Fixed {
			fixedM, fixedU = fixedM+l.M, fixedU+l.U
		} else {
			freeM, freeU = freeM+l.M, freeU+l.U
		}
	}
	for i := range levels {
		if levels[i].Fixed {
			continue
		}
		if freeM > 0 {
			levels[i].M *= max(0, 1-fixedM) / freeM
		}
		if freeU > 0 {
			levels[i].U *= max(0, 1-fixedU) / freeU
		}
	}
}

// applyOverrides marks the overridden levels of m Fixed with their values.
func (m *Model) applyOverrides(overrides []Override) {
	for _, o := range overrides {
		for f := range m.Fields {
			if m.Fields[f].Field != o.Field {
				continue
			}
			for l := range m.Fields[f].Levels {
				if lv := &m.Fields[f].Levels[l]; lv.Level == o.Level {
					lv.M, lv.U, lv.Fixed = o.M, o.U, true
				}
			}
			normalize(m.Fields[f].Levels)
		}
	}
}

func (m *Model) clone() *Model {
	c := *m
	c.Fields = make([]FieldModel, len(m.Fields))
	for i, f := range m.Fields {
		c.Fields[i] = FieldModel{Field: f.Field, Levels: append([]LevelModel(nil), f.Levels...)}
	}
	return &c
}

// setFrequencies records the share of profiles with each first given name
// and current family name.
func (m *Model) setFrequencies(profiles []*profile) {
	given, family := map[string]float64{}, map[string]float64{}
	var n float64
	for _, p := range profiles {
		if p == nil {
			continue
		}
		n++
		if len(p.given) > 0 {
			given[p.given[0].name]++
		}
		if len(p.family) > 0 {
			family[p.family[0].Compact]++
		}
	}
	for _, f := range []map[string]float64{given, family} {
		for k := range f {
			f[k] /= n
		}
	}
	m.GivenFrequency, m.FamilyFrequency = given, family
	m.prepareFrequencies()
}

// prepareFrequencies computes the chance agreement of names from the
// frequencies. It is deterministic: the sums run over sorted names.
func (m *Model) prepareFrequencies() {
	square := func(f map[string]float64) float64 {
		keys := make([]string, 0, len(f))
		for k := range f {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var s float64
		for _, k := range keys {
			s += f[k] * f[k]
		}
		return s
	}
	m.givenSquares, m.familySquares = square(m.GivenFrequency), square(m.FamilyFrequency)
}

// maxAdjustment bounds the frequency adjustment of a name, in bits.
const maxAdjustment = 4

// adjustment returns how much more (or less) than average exact agreement on
// value says, in bits: log2 of the chance agreement of names over the
// frequency of this one. A name the model has not seen gets no adjustment.
func adjustment(freq map[string]float64, squares float64, value string) float64 {
	if len(freq) == 0 || value == "" || squares == 0 {
		return 0
	}
	f, ok := freq[value]
	if !ok {
		f = squares // unknown: no adjustment
	}
	return max(-maxAdjustment, min(maxAdjustment, math.Log2(squares/f)))
}
