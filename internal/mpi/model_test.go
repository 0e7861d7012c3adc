package mpi_test

import (
	"context"
	"strings"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir"
	"omnichart/internal/match"
	"omnichart/internal/mpi"
)

// modelEngines are the engines the model tests run on: the population they
// write takes minutes on the local Citus cluster, and the table of models is
// checked there by the store's suite.
var modelEngines = []string{"sqlite", "postgres"}

func modelFixture(t *testing.T, engine string) *fixture {
	t.Helper()
	if engine == "postgres" {
		ehrtest.PostgresURL(t)
	}
	return newFixture(t, engine)
}

// storedPersons returns the stored persons as lists of generated records.
func (f *fixture) storedPersons(t *testing.T, ids map[string]ehrtest.PatientKey) [][]ehrtest.PatientKey {
	t.Helper()
	var out [][]ehrtest.PatientKey
	for _, g := range groups(f.links(t)) {
		var p []ehrtest.PatientKey
		for _, id := range g {
			k, ok := ids[id]
			if !ok {
				t.Fatalf("a Person links Patient/%s, which was not written", id)
			}
			p = append(p, k)
		}
		out = append(out, p)
	}
	return out
}

// TestEstimatedModelLinksAtLeastAsWellAsTheDefault writes the Patients of a
// generated population, estimates the model from the stored Patients, saves
// it and rematches; the persons are then at least as right against
// truth.json as with the default model, and the estimate agrees with facts
// of the data. The saved model changes nothing until the rematch, which
// reports it, and a restart loads it again.
func TestEstimatedModelLinksAtLeastAsWellAsTheDefault(t *testing.T) {
	pop := ehrtest.GeneratePatients(t, "hard", 300, 5)
	for _, engine := range modelEngines {
		t.Run(engine, func(t *testing.T) {
			f := modelFixture(t, engine)
			ids := pop.WritePatients(t, f.svc)
			before := pop.Measure(t, f.storedPersons(t, ids))
			if before.TruePairs < 100 || before.Linked < 100 {
				t.Fatalf("%d true pairs, %d linked: the population is too small to say anything", before.TruePairs, before.Linked)
			}
			m := f.m.Load()
			if u := m.Model(); u.Stored != nil {
				t.Fatalf("model in use before any was saved: %s, want the default", u)
			}
			e, err := m.Estimate(system)
			if err != nil {
				t.Fatal(err)
			}
			if e.Problem != "" || e.Stats.Records != len(pop.Patients) || e.Stats.Pairs < mpi.MinEstimatePairs {
				t.Fatalf("Estimate: %d records, %d pairs, problem %q; want %d records, at least %d pairs, no problem",
					e.Stats.Records, e.Stats.Pairs, e.Problem, len(pop.Patients), mpi.MinEstimatePairs)
			}
			// Facts of the data: records of one person mostly share the birth
			// date, records of two people mostly do not; the same holds for the
			// first given name.
			for _, field := range []string{"birthDate", "given"} {
				if l := modelLevel(t, e.Model, field, "exact"); !(l.M > 0.5 && l.U < 0.5) {
					t.Errorf("estimated %s exact: m %.4f u %.4f, want m above 0.5 and u below it", field, l.M, l.U)
				}
			}
			saved, err := m.SaveModel(system, e, "user/tester")
			if err != nil {
				t.Fatal(err)
			}
			if saved.ID == "" || saved.EstimatedBy != "user/tester" || saved.Records != len(pop.Patients) || saved.Pairs != e.Stats.Pairs {
				t.Errorf("SaveModel = %+v, want an id, user/tester, %d records and %d pairs", saved, len(pop.Patients), e.Stats.Pairs)
			}
			if u := m.Model(); u.Stored != nil {
				t.Errorf("the index took the saved model before a rematch: %s", u)
			}
			rep, err := m.Rematch(system)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Model.Stored == nil || rep.Model.Stored.ID != saved.ID || !strings.Contains(rep.Model.String(), saved.ID) {
				t.Fatalf("rematch scored with %s, want model %s", rep.Model, saved.ID)
			}
			after := pop.Measure(t, f.storedPersons(t, ids))
			t.Logf("default model: precision %.4f recall %.4f F1 %.4f (%d linked); estimated from %d pairs: precision %.4f recall %.4f F1 %.4f (%d linked); rematch wrote %d",
				before.Precision, before.Recall, before.F1, before.Linked, e.Stats.Pairs, after.Precision, after.Recall, after.F1, after.Linked, len(rep.Changes))
			if after.Precision < before.Precision || after.F1 < before.F1 {
				t.Errorf("with the estimated model precision %.4f F1 %.4f, with the default %.4f and %.4f; want at least as good",
					after.Precision, after.F1, before.Precision, before.F1)
			}
			if rep := f.restart(t); rep.Model.Stored == nil || rep.Model.Stored.ID != saved.ID || len(rep.Changes) != 0 {
				t.Errorf("restart: model %s and %d writes, want model %s and none", rep.Model, len(rep.Changes), saved.ID)
			}
		})
	}
}

func modelLevel(t *testing.T, m *match.Model, field, level string) match.LevelModel {
	t.Helper()
	for _, f := range m.Fields {
		for _, l := range f.Levels {
			if f.Field == field && l.Level == level {
				return l
			}
		}
	}
	t.Fatalf("the model has no level %s %s", field, level)
	return match.LevelModel{}
}

// skewedModel is DefaultModel with agreement on name, birth date, sex,
// address and phone made worthless (m equal to u): two records that agree on
// all of them score 0 and stay apart.
func skewedModel(t *testing.T) []byte {
	t.Helper()
	m := match.DefaultModel()
	worthless := map[string]bool{"given": true, "family": true, "birthDate": true, "sex": true, "address": true, "phone": true}
	for f := range m.Fields {
		if !worthless[m.Fields[f].Field] {
			continue
		}
		for l := range m.Fields[f].Levels {
			lv := &m.Fields[f].Levels[l]
			lv.M = lv.U
		}
	}
	body, err := match.EncodeModel(m)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// TestSavedModelDecidesFromTheNextRematch saves a skewed model under which
// two records of one boy score nothing: they stay one person until the
// rematch, which parts them; a pair a person linked stays linked; and an
// override of the configuration links the boy's records again, whatever the
// stored model says.
func TestSavedModelDecidesFromTheNextRematch(t *testing.T) {
	for _, engine := range modelEngines {
		t.Run(engine, func(t *testing.T) {
			f := modelFixture(t, engine)
			boy := f.patient(t, "a", "Tomasz", "Zielinski", "2003-11-21", "male")
			boy2 := f.patient(t, "b", "Tomasz", "Zielinski", "2003-11-21", "male")
			a, b, task := f.reviewPair(t)
			reviewer := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "user/jdoe"})
			if _, err := f.m.Load().Decide(reviewer, fhir.String(task, "id"), mpi.VerdictLink, "same person, seen at the desk"); err != nil {
				t.Fatal(err)
			}
			if l := f.links(t); l[boy].person != l[boy2].person || l[a].person != l[b].person {
				t.Fatalf("before the model: %v, want the boy's records in one Person and the decided pair in one", l)
			}
			saved, err := f.st.SaveMatchModel(system, ehr.MatchModel{EstimatedBy: "user/tester", Records: 4, Pairs: 2, Body: skewedModel(t)})
			if err != nil {
				t.Fatal(err)
			}
			// A write after the save is matched with the model loaded at the
			// last rematch: the boy's records stay together.
			f.patient(t, "c", "Anna", "Lindqvist", "1977-02-02", "female")
			if l := f.links(t); l[boy].person != l[boy2].person {
				t.Fatalf("the saved model parted the boy's records before a rematch")
			}
			rep, err := f.m.Load().Rematch(system)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Model.Stored == nil || rep.Model.Stored.ID != saved.ID {
				t.Fatalf("rematch scored with %s, want model %s", rep.Model, saved.ID)
			}
			l := f.links(t)
			if l[boy].person == l[boy2].person {
				t.Errorf("after the rematch with the skewed model the boy's records are still one Person/%s", l[boy].person)
			}
			if l[a].person != l[b].person || l[a].assurance != "level4" {
				t.Errorf("the pair a person linked: %v and %v, want one Person at level4", l[a], l[b])
			}
			// From the rematch on, incremental matches score with the saved
			// model too: a third record of the boy joins neither.
			boy3 := f.patient(t, "d", "Tomasz", "Zielinski", "2003-11-21", "male")
			if l := f.links(t); l[boy3].person == l[boy].person || l[boy3].person == l[boy2].person {
				t.Errorf("a new record of the boy joined Person/%s under the skewed model", l[boy3].person)
			}
			// The configuration's overrides win over the stored model.
			cfg := match.DefaultConfig()
			cfg.Overrides = []match.Override{{Field: "birthDate", Level: "exact", M: 0.96, U: 0.001}}
			rep = f.restartWith(t, mpi.Options{Config: &cfg})
			if rep.Model.Stored == nil || rep.Model.Stored.ID != saved.ID || rep.Model.Overrides != 1 {
				t.Fatalf("restart with an override scored with %s, want model %s and one override", rep.Model, saved.ID)
			}
			if lv := modelLevel(t, rep.Model.Model, "birthDate", "exact"); lv.M != 0.96 || lv.U != 0.001 {
				t.Errorf("birthDate exact in use: m %v u %v, want the override's 0.96 and 0.001", lv.M, lv.U)
			}
			if l := f.links(t); l[boy].person != l[boy2].person || l[boy].person != l[boy3].person {
				t.Errorf("with the override the boy's records are apart: %v, %v and %v", l[boy], l[boy2], l[boy3])
			}
		})
	}
}

// TestEstimateOfASmallStoreIsNotSaved estimates from three Patients: the
// estimate is made, but saving it is refused with the minimum and why, and
// nothing is stored. A stored model that cannot be read stops a rematch
// before it writes anything.
func TestEstimateOfASmallStoreIsNotSaved(t *testing.T) {
	for _, engine := range modelEngines {
		t.Run(engine, func(t *testing.T) {
			f := modelFixture(t, engine)
			m := f.m.Load()
			empty, err := m.Estimate(system)
			if err != nil {
				t.Fatal(err)
			}
			if empty.Stats.Records != 0 || !strings.Contains(empty.Problem, "at least 1000") {
				t.Errorf("Estimate of an empty store: %d records, problem %q; want none and the minimum", empty.Stats.Records, empty.Problem)
			}
			f.patient(t, "a", "William", "Wilson", "1961-08-09", "male")
			f.patient(t, "b", "Bill", "Wilson", "1961-08-09", "male")
			f.patient(t, "a", "Emma", "Novak", "2010-04-04", "female")
			e, err := m.Estimate(system)
			if err != nil {
				t.Fatal(err)
			}
			if e.Stats.Records != 3 || !strings.Contains(e.Problem, "at least 1000") || !strings.Contains(e.Problem, "EM estimates 55 numbers") {
				t.Errorf("Estimate of three Patients: %d records, problem %q; want 3 and the minimum with its reason", e.Stats.Records, e.Problem)
			}
			if _, err := m.SaveModel(system, e, "user/tester"); ehr.ErrorCode(err) != ehr.Invalid || !strings.Contains(err.Error(), "not saved") {
				t.Errorf("SaveModel of the small estimate = %v, want Invalid saying it is not saved", err)
			}
			if _, err := f.st.CurrentMatchModel(system); ehr.ErrorCode(err) != ehr.NotFound {
				t.Errorf("a model is stored after the refusal: %v", err)
			}
			if _, err := f.st.SaveMatchModel(system, ehr.MatchModel{EstimatedBy: "user/tester", Body: []byte(`{"matchShare":0.2,"fields":[{"field":"shoeSize"}]}`)}); err != nil {
				t.Fatal(err)
			}
			persons := len(groups(f.links(t)))
			if _, err := m.Rematch(system); err == nil || !strings.Contains(err.Error(), "cannot be used") {
				t.Errorf("Rematch with a broken stored model = %v, want an error saying it cannot be used", err)
			}
			if got := len(groups(f.links(t))); got != persons {
				t.Errorf("%d Persons after the refused rematch, want the %d before", got, persons)
			}
		})
	}
}
