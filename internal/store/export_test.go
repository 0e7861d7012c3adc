package store

import (
	"context"
	"fmt"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir/search"
)

// ExplainSearch returns the engine's plan for the page query of q, for the search
// benchmark: EXPLAIN QUERY PLAN on SQLite, EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL
// (which runs the query).
func (s *Store) ExplainSearch(ctx context.Context, q *search.Query) (string, error) {
	t := s.reader()
	sq, err := t.buildSearch(q, ehr.ScopeFrom(ctx))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if s.dialect.Name() == "postgres" {
		rows, err := t.query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+sq.query, sq.args...)
		if err != nil {
			return "", err
		}
		defer rows.Close()
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return "", err
			}
			b.WriteString(line + "\n")
		}
		return b.String(), rows.Err()
	}
	rows, err := t.query(ctx, "EXPLAIN QUERY PLAN "+sq.query, sq.args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	depth := map[int64]int{}
	for rows.Next() {
		var id, parent, unused int64
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return "", err
		}
		depth[id] = depth[parent] + 1
		fmt.Fprintf(&b, "%s%s\n", strings.Repeat("  ", depth[id]-1), detail)
	}
	return b.String(), rows.Err()
}
