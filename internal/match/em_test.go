package match

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestEstimateRecoversPlantedValues draws pairs from a planted model (a share
// of matches, and m and u per level of five fields, independent given the
// class, as Fellegi and Sunter assume) and checks that EM, started from the
// default model, finds the planted values again.
func TestEstimateRecoversPlantedValues(t *testing.T) {
	const share, pairs = 0.2, 200_000
	planted := map[int]struct{ m, u []float64 }{
		fGiven:     {[]float64{0.80, 0.08, 0.04, 0.04, 0.01, 0.03}, []float64{0.02, 0.005, 0.005, 0.005, 0.005, 0.96}},
		fFamily:    {[]float64{0.70, 0.10, 0.03, 0.05, 0.04, 0.08}, []float64{0.30, 0.01, 0.01, 0.03, 0.02, 0.63}},
		fBirthDate: {[]float64{0.90, 0.04, 0.02, 0.01, 0.03}, []float64{0.10, 0.01, 0.01, 0.01, 0.87}},
		fSex:       {[]float64{0.99, 0.01}, []float64{0.50, 0.50}},
		fAddress:   {[]float64{0.70, 0.05, 0.10, 0.15}, []float64{0.40, 0.02, 0.18, 0.40}},
	}
	r := rand.New(rand.NewPCG(1, 2))
	draw := func(p []float64) int8 {
		x := r.Float64()
		for i, v := range p {
			if x < v {
				return int8(i)
			}
			x -= v
		}
		return int8(len(p) - 1)
	}
	keys := make([]uint64, pairs)
	for i := range keys {
		var p pattern
		for f := range p {
			p[f] = missing
		}
		isMatch := r.Float64() < share
		for f, mu := range planted {
			if isMatch {
				p[f] = draw(mu.m)
			} else {
				p[f] = draw(mu.u)
			}
		}
		keys[i] = p.key()
	}
	m := estimate(countPatterns(keys), DefaultModel(), 500)
	if !m.Converged {
		t.Errorf("estimate did not converge in %d iterations", m.Iterations)
	}
	if math.Abs(m.MatchShare-share) > 0.01 {
		t.Errorf("estimate: match share %.4f, want %.2f ± 0.01", m.MatchShare, share)
	}
	for f, mu := range planted {
		for l := range mu.m {
			got := m.Fields[f].Levels[l]
			if math.Abs(got.M-mu.m[l]) > 0.01 || math.Abs(got.U-mu.u[l]) > 0.01 {
				t.Errorf("estimate: %s %s m %.4f u %.4f, want %.3f and %.3f ± 0.01",
					fieldSpecs[f].name, got.Level, got.M, got.U, mu.m[l], mu.u[l])
			}
		}
	}
}

// TestEstimateKeepsOverrides checks that a level fixed by configuration comes
// out of EM as it went in, and its field's other levels share what is left.
func TestEstimateKeepsOverrides(t *testing.T) {
	var keys []uint64
	for i := 0; i < 1000; i++ {
		var p pattern
		for f := range p {
			p[f] = missing
		}
		p[fGiven], p[fStrongID] = int8(i%2*5), int8(i%3)
		keys = append(keys, p.key())
	}
	start := DefaultModel()
	start.applyOverrides([]Override{{Field: "strongIdentifier", Level: "different", M: 0.001, U: 0.98}})
	m := estimate(countPatterns(keys), start, 100)
	got := m.Fields[fStrongID].Levels[2]
	if !got.Fixed || got.M != 0.001 || got.U != 0.98 {
		t.Errorf("estimate changed an override: %+v, want m 0.001 u 0.98 fixed", got)
	}
	var sm, su float64
	for _, l := range m.Fields[fStrongID].Levels {
		sm, su = sm+l.M, su+l.U
	}
	if math.Abs(sm-1) > 1e-9 || math.Abs(su-1) > 1e-9 {
		t.Errorf("estimate: strongIdentifier m sums to %v and u to %v, want 1", sm, su)
	}
}
