package mpi

import (
	"context"
	"fmt"
	"strings"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/match"
)

// The least an estimate must rest on before it may become the index's model.
const (
	// MinEstimatePairs is the fewest compared pairs a model may be estimated
	// from. EM estimates 55 numbers (m and u of the 39 field levels, less one
	// per field since a field's levels sum to one, and the match share), and
	// adds half a pair to every level;
	// with fewer pairs those half pairs and the handful of pairs behind each
	// rare level (a swapped birth date, a typo in an SSN) decide the weights
	// more than the data do.
	MinEstimatePairs = 1000
	// MinEstimateClass is the fewest pairs EM must take for matches, and for
	// non-matches: m is estimated from the one and u from the other.
	MinEstimateClass = 100
)

// ModelInUse is the model the index scores with and where it came from.
type ModelInUse struct {
	// Stored is the saved model it came from; nil when none is saved (or the
	// configuration fixes the model), and DefaultModel is used.
	Stored *ehr.MatchModel
	// Model is what pairs are scored with: the stored model (or the default)
	// with the configuration's overrides fixed. Nil when the configuration
	// asks for EM at every rematch and no model is saved.
	Model *match.Model
	// Overrides is how many field levels the configuration fixes.
	Overrides int
	// Configured is set when the configuration fixes the whole model, which
	// a saved one then does not replace.
	Configured bool
}

// String names the model in one line, without any value of a record.
func (u ModelInUse) String() string {
	var s string
	switch {
	case u.Stored != nil:
		s = fmt.Sprintf("model %s, estimated %s by %s from %d patients and %d pairs", u.Stored.ID,
			u.Stored.Estimated.UTC().Format(time.RFC3339), u.Stored.EstimatedBy, u.Stored.Records, u.Stored.Pairs)
	case u.Configured:
		s = "the model the configuration fixes"
	case u.Model == nil:
		s = "estimated by EM at every rematch (none saved)"
	default:
		s = "the default model (none saved)"
	}
	if u.Overrides > 0 {
		s += fmt.Sprintf("; %d field level(s) fixed by configuration", u.Overrides)
	}
	return s
}

// loadModel returns the model the index is to score with: the newest model
// saved in the store, unless the configuration fixes one; then the
// configured or default model. A stored model that cannot be read is an
// error, so that the persons are never rematched with another model than the
// one chosen without anyone knowing.
func (m *MPI) loadModel(ctx context.Context) (ModelInUse, error) {
	use := ModelInUse{Model: m.cfg.Model, Overrides: len(m.cfg.Overrides), Configured: m.fixedModel}
	if m.models != nil && !m.fixedModel {
		stored, err := m.models.CurrentMatchModel(ctx)
		switch {
		case ehr.ErrorCode(err) == ehr.NotFound:
		case err != nil:
			return use, fmt.Errorf("mpi: read the matcher model: %w", err)
		default:
			model, err := match.DecodeModel(stored.Body)
			if err != nil {
				return use, fmt.Errorf("mpi: the stored matcher model %s cannot be used (save a new one with omnichart admin mpi estimate --save): %w", stored.ID, err)
			}
			stored.Body = nil
			use.Stored, use.Model = &stored, model
		}
	}
	if use.Model != nil {
		use.Model = use.Model.WithOverrides(m.cfg.Overrides)
	}
	return use, nil
}

// Model returns the model the index scores with now: the one the last
// rematch (or Open) loaded.
func (m *MPI) Model() ModelInUse {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.model
}

// Estimation is a model estimated from the stored Patients, beside the model
// in use.
type Estimation struct {
	// Model is the estimate: EM from DefaultModel over the pairs blocking
	// gives on every current Patient, with the configuration's overrides
	// fixed. It holds no name frequencies.
	Model *match.Model
	// InUse is the model the index would score with if it were loaded now.
	InUse ModelInUse
	// Stats counts the Patients, blocks and compared pairs.
	Stats match.Stats
	// Problem says why the estimate may not be saved; empty when it may.
	Problem string
}

// Estimate estimates the matcher's model from every current Patient, as the
// index would match them, and says whether it may be saved. It writes
// nothing and leaves the index as it is.
func (m *MPI) Estimate(ctx context.Context) (*Estimation, error) {
	sys := asSystem(ctx)
	in, err := m.loadModel(sys)
	if err != nil {
		return nil, err
	}
	_, records, err := m.readPatients(sys)
	if err != nil {
		return nil, fmt.Errorf("mpi: read patients: %w", err)
	}
	cfg := m.cfg
	cfg.Model, cfg.Constraints = nil, nil
	// The stored form has no name frequencies, so the estimate is made, and
	// later scored, without them.
	cfg.NameFrequencies = false
	if cfg.MaxIterations == 0 {
		cfg.MaxIterations = match.DefaultConfig().MaxIterations
	}
	model, stats, err := match.Estimate(records, cfg)
	if err != nil {
		return nil, fmt.Errorf("mpi: estimate the matcher model: %w", err)
	}
	return &Estimation{Model: model, InUse: in, Stats: stats, Problem: estimateProblem(model, stats)}, nil
}

// estimateProblem says why a model may not become the index's, or "".
func estimateProblem(model *match.Model, stats match.Stats) string {
	if stats.Pairs < MinEstimatePairs {
		return fmt.Sprintf("only %d pairs of %d patients were compared; at least %d are needed, because EM estimates 55 numbers "+
			"(m and u of every field level, and the share of matches) and with fewer pairs the rare levels are estimated from a "+
			"handful of pairs and the half pair added to every level", stats.Pairs, stats.Records, MinEstimatePairs)
	}
	matches := model.MatchShare * float64(stats.Pairs)
	if nonMatches := float64(stats.Pairs) - matches; matches < MinEstimateClass || nonMatches < MinEstimateClass {
		return fmt.Sprintf("EM took %.0f pairs for matches and %.0f for non-matches; each needs at least %d, because m is "+
			"estimated from the matches and u from the non-matches", matches, nonMatches, MinEstimateClass)
	}
	if !model.Converged {
		return fmt.Sprintf("EM did not converge in %d rounds", model.Iterations)
	}
	for _, f := range []string{"birthDate", "given"} {
		if l, ok := levelOf(model, f, "exact"); ok && l.M <= l.U {
			return fmt.Sprintf("the estimate says that exact agreement on %s is likelier between two people than within one "+
				"(m %.4f, u %.4f): EM took the non-matches for the matches", f, l.M, l.U)
		}
	}
	return ""
}

// levelOf returns the m and u of one field level of model.
func levelOf(model *match.Model, field, level string) (match.LevelModel, bool) {
	for _, f := range model.Fields {
		if f.Field != field {
			continue
		}
		for _, l := range f.Levels {
			if l.Level == level {
				return l, true
			}
		}
	}
	return match.LevelModel{}, false
}

// SaveModel stores e's model as the index's model, estimated by by (who
// asked for it, e.g. "user/jdoe"). It is Invalid when e has a Problem or by
// is blank, NotSupported when the MPI keeps no models. The index goes on
// scoring with the model it loaded: the saved one takes effect at the next
// Rematch (or Open), which re-decides the automatic pairs with it and keeps
// every decision a person made.
func (m *MPI) SaveModel(ctx context.Context, e *Estimation, by string) (ehr.MatchModel, error) {
	if m.models == nil {
		return ehr.MatchModel{}, ehr.Errorf(ehr.NotSupported, "this store keeps no matcher models")
	}
	if e.Problem != "" {
		return ehr.MatchModel{}, ehr.Errorf(ehr.Invalid, "the estimate is not saved: %s", e.Problem)
	}
	if strings.TrimSpace(by) == "" {
		return ehr.MatchModel{}, ehr.Errorf(ehr.Invalid, "say who estimated the model")
	}
	body, err := match.EncodeModel(e.Model)
	if err != nil {
		return ehr.MatchModel{}, err
	}
	return m.models.SaveMatchModel(ctx, ehr.MatchModel{Estimated: m.now(), EstimatedBy: by,
		Records: e.Stats.Records, Pairs: e.Stats.Pairs, Body: body})
}
