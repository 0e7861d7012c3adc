package store

import (
	"context"
	"fmt"
)

// tokenRow is one row of index_token.
type tokenRow struct {
	param, system, code string
}

// extractTokens returns the token index rows of a resource. Only identifier is indexed
// so far; it is what conditional interactions need.
// TODO(3): extract every R4 search parameter with FHIRPath.
func extractTokens(res map[string]any) []tokenRow {
	var rows []tokenRow
	var add func(v any)
	add = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				add(e)
			}
		case map[string]any:
			system, _ := x["system"].(string)
			value, _ := x["value"].(string)
			if value != "" {
				rows = append(rows, tokenRow{param: "identifier", system: system, code: value})
			}
		}
	}
	add(res["identifier"])
	return rows
}

func (t *tx) insertIndexes(ctx context.Context, compartment, typ, id string, res map[string]any) error {
	for _, r := range extractTokens(res) {
		if err := t.exec(ctx, `INSERT INTO index_token (compartment, res_type, res_id, param, system, code) VALUES (?, ?, ?, ?, ?, ?)`,
			compartment, typ, id, r.param, r.system, r.code); err != nil {
			return fmt.Errorf("index %s/%s: %w", typ, id, err)
		}
	}
	return nil
}

func (t *tx) deleteIndexes(ctx context.Context, compartment, typ, id string) error {
	if err := t.exec(ctx, `DELETE FROM index_token WHERE compartment = ? AND res_type = ? AND res_id = ?`, compartment, typ, id); err != nil {
		return fmt.Errorf("unindex %s/%s: %w", typ, id, err)
	}
	return nil
}
