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

// initialModel is where EM starts: m falls and u rises from a field's best
// level to its worst, as they do in any data. The starting point matters only
// for which solution EM finds; it finds the one of matches and non-matches
// when it starts on that side.
func initialModel() *Model {
	m := &Model{MatchShare: 0.3}
	for _, s := range fieldSpecs {
		n := len(s.levels)
		fm := FieldModel{Field: s.name}
		for i, name := range s.levels {
			mv := 0.9 * math.Pow(0.1, float64(i))
			uv := 0.9 * math.Pow(0.1, float64(n-1-i))
			fm.Levels = append(fm.Levels, LevelModel{Level: name, M: mv, U: uv})
		}
		normalize(fm.Levels)
		m.Fields = append(m.Fields, fm)
	}
	return m
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

// patternCount is how many compared pairs showed one pattern.
type patternCount struct {
	key   uint64
	count float64
}

// countPatterns returns the patterns of comparisons with their counts, sorted
// by pattern, so that what EM sums does not depend on the order of the pairs.
func countPatterns(keys []uint64) []patternCount {
	counts := map[uint64]float64{}
	for _, k := range keys {
		counts[k]++
	}
	out := make([]patternCount, 0, len(counts))
	for k, c := range counts {
		out = append(out, patternCount{k, c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// smoothing is the pseudo-count added to every level, so that a level no pair
// showed gets a small chance instead of none.
const smoothing = 0.5

// estimate runs expectation maximisation on pattern counts from start: the
// E step gives each pattern its chance of being a match under the current
// m, u and match share, assuming fields independent given the class; the M
// step sets each m (u) to the match (non-match) weighted share of pairs at
// the level, among pairs where the field is present. It stops when no
// estimate moves by more than 1e-6, or after maxIter rounds.
func estimate(patterns []patternCount, start *Model, maxIter int) *Model {
	m := start.clone()
	var total float64
	for _, p := range patterns {
		total += p.count
	}
	m.Pairs = int(total)
	if total == 0 {
		return m
	}
	decoded := make([]pattern, len(patterns))
	for i, p := range patterns {
		decoded[i] = patternOf(p.key)
	}
	type sums struct{ m, u [numFields][8]float64 }
	for m.Iterations = 1; m.Iterations <= maxIter; m.Iterations++ {
		var s sums
		var matches float64
		for i, p := range patterns {
			lm, lu := math.Log(m.MatchShare), math.Log(1-m.MatchShare)
			for f, l := range decoded[i] {
				if l != missing {
					lm += math.Log(m.Fields[f].Levels[l].M)
					lu += math.Log(m.Fields[f].Levels[l].U)
				}
			}
			g := 1 / (1 + math.Exp(lu-lm))
			matches += p.count * g
			for f, l := range decoded[i] {
				if l != missing {
					s.m[f][l] += p.count * g
					s.u[f][l] += p.count * (1 - g)
				}
			}
		}
		moved := math.Abs(matches/total - m.MatchShare)
		m.MatchShare = min(max(matches/total, 1e-6), 1-1e-6)
		for f := range m.Fields {
			levels := m.Fields[f].Levels
			var dm, du float64
			for l := range levels {
				dm += s.m[f][l] + smoothing
				du += s.u[f][l] + smoothing
			}
			for l := range levels {
				if levels[l].Fixed {
					continue
				}
				nm, nu := (s.m[f][l]+smoothing)/dm, (s.u[f][l]+smoothing)/du
				moved = max(moved, math.Abs(nm-levels[l].M), math.Abs(nu-levels[l].U))
				levels[l].M, levels[l].U = nm, nu
			}
			normalize(levels)
		}
		if moved < 1e-6 {
			m.Converged = true
			break
		}
	}
	m.Iterations = min(m.Iterations, maxIter)
	return m
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
