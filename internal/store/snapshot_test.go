package store_test

import (
	"context"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir/search"
	"omnichart/internal/store"
)

type changeChecker interface {
	ChangedSince(ctx context.Context, mark string) (bool, error)
}

func TestChangedSinceSeesWritesOfTheTypesASearchReads(t *testing.T) {
	ctx := context.Background()
	observation := map[string]any{"resourceType": "Observation", "status": "final", "code": map[string]any{"text": "x"}}
	encounter := map[string]any{"resourceType": "Encounter", "status": "finished", "class": map[string]any{"code": "AMB"}}
	patient := map[string]any{"resourceType": "Patient"}
	tests := []struct {
		name     string
		criteria string
		before   map[string]any // committed after the mark, before the transaction
		inside   map[string]any // written by the transaction itself
		want     bool
	}{
		{"nothing written is no change", "identifier=x", nil, nil, false},
		{"a Patient written since is a change", "identifier=x", patient, nil, true},
		{"a Patient the transaction writes is a change", "identifier=x", nil, patient, true},
		{"an Observation is no change to a Patient search", "identifier=x", observation, nil, false},
		{"an Observation is a change to a Patient search with _has:Observation", "_has:Observation:patient:code=x", observation, nil, true},
		{"an Encounter is no change to a Patient search with _has:Observation", "_has:Observation:patient:code=x", encounter, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := ehrtest.MustOpen(t, "sqlite", store.Options{})
			if _, err := st.Create(ctx, st.NewID(), map[string]any{"resourceType": "Patient"}); err != nil {
				t.Fatal(err)
			}
			q, err := search.ParseString("Patient", tt.criteria)
			if err != nil {
				t.Fatal(err)
			}
			_, mark, err := st.SearchMarked(ctx, q)
			if err != nil || mark == "" {
				t.Fatalf("SearchMarked(%s) = mark %q, %v; want a mark", tt.criteria, mark, err)
			}
			if tt.before != nil {
				if _, err := st.Create(ctx, st.NewID(), tt.before); err != nil {
					t.Fatal(err)
				}
			}
			err = st.Transaction(ctx, func(tx ehr.Tx) error {
				if tt.inside != nil {
					if _, err := tx.Create(ctx, tx.NewID(), tt.inside); err != nil {
						return err
					}
				}
				got, err := tx.(changeChecker).ChangedSince(ctx, mark)
				if err != nil {
					return err
				}
				if got != tt.want {
					t.Errorf("ChangedSince(mark of Patient?%s) = %v, want %v", tt.criteria, got, tt.want)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
