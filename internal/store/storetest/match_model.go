package storetest

import (
	"testing"
	"time"

	"omnichart/internal/ehr"
)

// testMatchModels saves two matcher models and reads the newest back whole;
// an empty store has none, and a model without its author or body is refused.
func testMatchModels(t *testing.T, s ehr.ResourceStore) {
	models, ok := s.(ehr.MatchModelStore)
	if !ok {
		t.Fatalf("%T keeps no matcher models", s)
	}
	if _, err := models.CurrentMatchModel(ctx); ehr.ErrorCode(err) != ehr.NotFound {
		t.Fatalf("CurrentMatchModel of an empty store = %v, want NotFound", err)
	}
	for _, bad := range []ehr.MatchModel{{Body: []byte(`{}`)}, {EstimatedBy: "user/jdoe"}, {EstimatedBy: "user/jdoe", Body: []byte(`{}`), Pairs: -1}} {
		if _, err := models.SaveMatchModel(ctx, bad); ehr.ErrorCode(err) != ehr.Invalid {
			t.Errorf("SaveMatchModel(%+v) = %v, want Invalid", bad, err)
		}
	}
	if _, err := models.CurrentMatchModel(ctx); ehr.ErrorCode(err) != ehr.NotFound {
		t.Fatalf("CurrentMatchModel after refused saves = %v, want NotFound", err)
	}
	first := time.Date(2026, 3, 1, 9, 30, 0, 123456000, time.UTC)
	a, err := models.SaveMatchModel(ctx, ehr.MatchModel{Estimated: first, EstimatedBy: "user/a", Records: 10, Pairs: 20, Body: []byte(`{"a":1}`)})
	if err != nil || a.ID == "" {
		t.Fatalf("SaveMatchModel = %+v, %v; want a model with an id", a, err)
	}
	b, err := models.SaveMatchModel(ctx, ehr.MatchModel{Estimated: first.Add(time.Hour), EstimatedBy: "user/b", Records: 600, Pairs: 1400, Body: []byte(`{"b":2}`)})
	if err != nil || b.ID == "" || b.ID == a.ID {
		t.Fatalf("second SaveMatchModel = %+v, %v; want a model with another id than %s", b, err, a.ID)
	}
	got, err := models.CurrentMatchModel(ctx)
	if err != nil {
		t.Fatalf("CurrentMatchModel: %v", err)
	}
	want := ehr.MatchModel{ID: b.ID, Estimated: first.Add(time.Hour), EstimatedBy: "user/b", Records: 600, Pairs: 1400, Body: []byte(`{"b":2}`)}
	if got.ID != want.ID || !got.Estimated.Equal(want.Estimated) || got.EstimatedBy != want.EstimatedBy || got.Records != want.Records ||
		got.Pairs != want.Pairs || string(got.Body) != string(want.Body) {
		t.Errorf("CurrentMatchModel = %+v, want %+v", got, want)
	}
}
