package match_test

import (
	"math"
	"strings"
	"testing"

	"omnichart/internal/match"
)

// TestEstimateFindsTheFactsOfAPopulation estimates a model from a generated
// population and checks it against what the truth says of the compared
// pairs: the share of them that are one person, and that an exact birth date
// is far likelier between two records of one person than of two. An
// overridden level keeps its configured values.
func TestEstimateFindsTheFactsOfAPopulation(t *testing.T) {
	pop := MustGenerate(t, "hard", 300, 5)
	cfg := match.DefaultConfig()
	cfg.Overrides = []match.Override{{Field: "sex", Level: "same", M: 0.98, U: 0.5}}
	m, stats, err := match.Estimate(pop.records, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Records != len(pop.records) || stats.Pairs < 500 || m.Pairs != stats.Pairs {
		t.Fatalf("Estimate: %d records, %d pairs (model %d); want %d records and at least 500 pairs", stats.Records, stats.Pairs, m.Pairs, len(pop.records))
	}
	if !m.Converged {
		t.Errorf("Estimate did not converge in %d rounds", m.Iterations)
	}
	// The share of compared pairs that are one person, by the truth: a batch
	// with the estimated model compares exactly the pairs Estimate did.
	cfg.Model = m
	r, err := match.Batch(pop.records, cfg)
	if err != nil {
		t.Fatal(err)
	}
	same := 0
	for _, p := range r.Pairs {
		if pop.person[p.A] == pop.person[p.B] {
			same++
		}
	}
	share := float64(same) / float64(len(r.Pairs))
	if math.Abs(m.MatchShare-share) > 0.05 {
		t.Errorf("estimated match share %.3f, the truth's %.3f (%d of %d pairs); want within 0.05", m.MatchShare, share, same, len(r.Pairs))
	}
	exact := modelLevel(t, m, "birthDate", "exact")
	if exact.M < 0.8 || exact.U > 0.5 || exact.M <= exact.U {
		t.Errorf("birthDate exact: m %.4f u %.4f; want m at least 0.8 and above u", exact.M, exact.U)
	}
	if sex := modelLevel(t, m, "sex", "same"); sex.M != 0.98 || sex.U != 0.5 || !sex.Fixed {
		t.Errorf("overridden sex same: m %v u %v fixed %v; want 0.98, 0.5, fixed", sex.M, sex.U, sex.Fixed)
	}
}

func modelLevel(t *testing.T, m *match.Model, field, name string) match.LevelModel {
	t.Helper()
	for _, f := range m.Fields {
		if f.Field != field {
			continue
		}
		for _, l := range f.Levels {
			if l.Level == name {
				return l
			}
		}
	}
	t.Fatalf("model has no level %s %s", field, name)
	return match.LevelModel{}
}

// TestModelRoundTripsAndRefusesBadForms encodes a changed model and reads it
// back level for level, and refuses stored forms that are no model.
func TestModelRoundTripsAndRefusesBadForms(t *testing.T) {
	m := match.DefaultModel()
	m.MatchShare, m.Pairs, m.Iterations, m.Converged = 0.3, 1234, 17, true
	// Moved between levels, so that each field still sums to one.
	given := m.Fields[0].Levels
	given[0].M, given[1].M = given[0].M-0.05, given[1].M+0.05
	given[0].U, given[5].U = given[0].U+0.003, given[5].U-0.003
	m.GivenFrequency = map[string]float64{"ada": 0.5}
	data, err := match.EncodeModel(m)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "ada") {
		t.Errorf("EncodeModel wrote a name: %s", data)
	}
	got, err := match.DecodeModel(data)
	if err != nil {
		t.Fatalf("DecodeModel(%s) = %v", data, err)
	}
	if got.MatchShare != 0.3 || got.Pairs != 1234 || got.Iterations != 17 || !got.Converged || len(got.GivenFrequency) != 0 {
		t.Errorf("DecodeModel: share %v pairs %d rounds %d converged %v frequencies %d; want 0.3, 1234, 17, true, none",
			got.MatchShare, got.Pairs, got.Iterations, got.Converged, len(got.GivenFrequency))
	}
	for f := range m.Fields {
		for l, want := range m.Fields[f].Levels {
			if g := got.Fields[f].Levels[l]; g.Level != want.Level || math.Abs(g.M-want.M) > 1e-12 || math.Abs(g.U-want.U) > 1e-12 {
				t.Errorf("%s %s read back as m %v u %v, want %v and %v", m.Fields[f].Field, want.Level, g.M, g.U, want.M, want.U)
			}
		}
	}
	// A stored form without a field keeps the default's values for it.
	partial, err := match.DecodeModel([]byte(`{"matchShare":0.2,"fields":[{"field":"sex","levels":[{"level":"same","m":0.99,"u":0.5},{"level":"different","m":0.01,"u":0.5}]}]}`))
	if err != nil {
		t.Fatalf("DecodeModel of a model naming one field = %v", err)
	}
	if g, d := modelLevel(t, partial, "birthDate", "exact"), modelLevel(t, match.DefaultModel(), "birthDate", "exact"); g.M != d.M || g.U != d.U {
		t.Errorf("birthDate exact of a model that does not name it: m %v u %v, want the default's %v and %v", g.M, g.U, d.M, d.U)
	}
	for _, tt := range []struct{ name, data, want string }{
		{"text that is no JSON is refused", `not json`, "read model"},
		{"a match share of one is refused", `{"matchShare":1}`, "match share"},
		{"an unknown field is refused", `{"matchShare":0.2,"fields":[{"field":"shoeSize","levels":[]}]}`, "unknown field"},
		{"an unknown level is refused", `{"matchShare":0.2,"fields":[{"field":"sex","levels":[{"level":"maybe","m":0.5,"u":0.5}]}]}`, "unknown level"},
		{"an m of zero is refused", `{"matchShare":0.2,"fields":[{"field":"sex","levels":[{"level":"same","m":0,"u":0.5}]}]}`, "must lie"},
		{"a u above one is refused", `{"matchShare":0.2,"fields":[{"field":"sex","levels":[{"level":"same","m":0.5,"u":1.5}]}]}`, "must lie"},
		{"a field given twice is refused", `{"matchShare":0.2,"fields":[{"field":"sex","levels":[]},{"field":"sex","levels":[]}]}`, "twice"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := match.DecodeModel([]byte(tt.data)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("DecodeModel(%s) = %v, want an error saying %q", tt.data, err, tt.want)
			}
		})
	}
}
