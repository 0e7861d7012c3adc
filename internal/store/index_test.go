package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir/search"
	"omnichart/internal/store"
)

// TestAFailedTransactionLeavesNoIndexRows writes enough resources in one
// transaction for their index rows to go in several multi-row INSERTs, then
// fails it: no search may find any of them afterwards, on every engine (on
// SQLite those INSERTs keep no journal of their own, and the transaction, its
// first writer's, has no savepoint).
func TestAFailedTransactionLeavesNoIndexRows(t *testing.T) {
	const patients = 300
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{})
			ctx := context.Background()
			errRefused := errors.New("refused after writing")
			for round := range 2 {
				err := st.Transaction(ctx, func(tx ehr.Tx) error {
					for i := range patients {
						id := fmt.Sprintf("refused-%d-%d", round, i)
						if _, err := tx.Create(ctx, id, map[string]any{"resourceType": "Patient",
							"identifier": []any{map[string]any{"system": "http://mrn.example", "value": id}},
							"name":       []any{map[string]any{"family": "Refused", "given": []any{id}}}}); err != nil {
							return err
						}
					}
					return errRefused
				})
				if !errors.Is(err, errRefused) {
					t.Fatalf("round %d: Transaction = %v, want the error its function returned", round, err)
				}
				for _, query := range []string{"family=Refused", "identifier=http://mrn.example|", fmt.Sprintf("identifier=refused-%d-%d", round, patients-1)} {
					q, err := search.ParseString("Patient", query)
					if err != nil {
						t.Fatal(err)
					}
					page, err := st.Search(ctx, q)
					if err != nil {
						t.Fatalf("Search(Patient?%s): %v", query, err)
					}
					if len(page.Records) != 0 {
						t.Errorf("round %d: Search(Patient?%s) = %d results after the transaction failed, want 0", round, query, len(page.Records))
					}
				}
			}
		})
	}
}
