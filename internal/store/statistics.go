package store

import (
	"context"
	"fmt"
)

// RefreshStatistics brings the planner's statistics up to date. Call it after a
// bulk load (the EMR directory, a large import): PostgreSQL plans every query on
// statistics that autovacuum refreshes only after a delay, and a plan made on
// figures from before the load can be catastrophically wrong. With the
// directory's 67,000 Endpoints counted as none, a search by developer was
// planned as a nested loop over the index rows for each Endpoint and ran for
// minutes instead of milliseconds. On SQLite it does nothing (Dialect.Analyze).
func (s *Store) RefreshStatistics(ctx context.Context) error {
	q := s.dialect.Analyze()
	if q == "" {
		return nil
	}
	if _, err := s.write.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("refreshing the planner's statistics: %w", err)
	}
	return nil
}
