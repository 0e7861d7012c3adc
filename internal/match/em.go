package match

import (
	"math"
	"sort"
)

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
			var before [8]LevelModel
			copy(before[:], levels)
			for l := range levels {
				if !levels[l].Fixed {
					levels[l].M, levels[l].U = (s.m[f][l]+smoothing)/dm, (s.u[f][l]+smoothing)/du
				}
			}
			// Movement is measured after normalising: the free levels of a
			// field with fixed ones are scaled to the share the fixed leave,
			// so their raw shares never equal last round's values.
			normalize(levels)
			for l := range levels {
				moved = max(moved, math.Abs(levels[l].M-before[l].M), math.Abs(levels[l].U-before[l].U))
			}
		}
		if moved < 1e-6 {
			m.Converged = true
			break
		}
	}
	m.Iterations = min(m.Iterations, maxIter)
	return m
}

// estimateFrom runs EM over compared pairs from DefaultModel with cfg's
// overrides fixed, and records the name frequencies of profiles when cfg asks
// for them.
func estimateFrom(cmps []comparison, profiles []*profile, cfg Config) *Model {
	pks := make([]uint64, len(cmps))
	for i, c := range cmps {
		pks[i] = c.key()
	}
	start := DefaultModel()
	start.applyOverrides(cfg.Overrides)
	m := estimate(countPatterns(pks), start, cfg.MaxIterations)
	if cfg.NameFrequencies {
		m.setFrequencies(profiles)
	}
	return m
}

// Estimate estimates a model from records as NewIndex does before it scores
// (normalise, block, compare the candidate pairs, EM from DefaultModel with
// cfg.Overrides fixed; cfg.Model is ignored), without scoring or clustering.
// The Model says how many pairs it came from and whether EM converged; Stats
// counts the records, blocks and compared pairs. Two records with the same
// source and id are Invalid.
func Estimate(records []Record, cfg Config) (*Model, Stats, error) {
	ix, _, cmps, profiles, err := compareRecords(records, cfg)
	if err != nil {
		return nil, Stats{}, err
	}
	m := estimateFrom(cmps, profiles, ix.cfg)
	return m, Stats{Records: len(ix.nodes), Blocks: len(ix.blocks), SkippedBlocks: ix.skippedBlocks(), Pairs: len(cmps)}, nil
}

// WithOverrides returns a copy of m with overrides fixed, as an Index scores
// with it: configuration wins over estimated values.
func (m *Model) WithOverrides(overrides []Override) *Model {
	c := m.clone()
	c.applyOverrides(overrides)
	c.prepareFrequencies()
	return c
}
