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

// ChartPlans returns the plain EXPLAIN of each query a search for q runs (the
// page, then the bodies of the page it finds) and of each query a read of typ/id
// runs on a distributed schema (the id lookup, then the read in its compartment),
// for the test that they run on one shard.
func (s *Store) ChartPlans(ctx context.Context, q *search.Query, typ, id string) (map[string]string, error) {
	t := s.reader()
	explain := func(query string, args ...any) (string, error) {
		rows, err := t.query(ctx, "EXPLAIN "+query, args...)
		if err != nil {
			return "", err
		}
		defer rows.Close()
		var b strings.Builder
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return "", err
			}
			b.WriteString(line + "\n")
		}
		return b.String(), rows.Err()
	}
	out := map[string]string{}
	cp := *q
	cp.Params = append([]search.Param(nil), q.Params...)
	sq, err := t.buildSearch(&cp, ehr.ScopeFrom(ctx))
	if err != nil {
		return nil, err
	}
	if out["search page"], err = explain(sq.query, sq.args...); err != nil {
		return nil, err
	}
	page, err := s.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	if len(page.Records) == 0 {
		return nil, fmt.Errorf("the search found nothing, so its bodies query cannot be explained")
	}
	compartments := make([]string, len(page.Records))
	for i, r := range page.Records {
		compartments[i] = r.Compartment
	}
	query, args := t.bodiesQuery(page.Records, compartments)
	if out["search bodies"], err = explain(query, args...); err != nil {
		return nil, err
	}
	if out["id lookup"], err = explain(compartmentOfSQL, typ, id); err != nil {
		return nil, err
	}
	rec, err := s.Read(ctx, typ, id)
	if err != nil {
		return nil, err
	}
	query, args = readInCompartment(ehr.ScopeFrom(ctx), rec.Compartment, typ, id)
	if out["read in compartment"], err = explain(query, args...); err != nil {
		return nil, err
	}
	return out, nil
}

// Commits counts the commits of shared write transactions (SQLite); 0 on
// engines without group commit.
func (s *Store) Commits() int64 {
	if s.group == nil {
		return 0
	}
	return s.group.commits.Load()
}

// KeptStatements counts the prepared statements kept for the read and the
// write pool (SQLite); 0 and 0 elsewhere.
func (s *Store) KeptStatements() (read, write int) {
	count := func(c *statements) int {
		if c == nil {
			return 0
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.stmts)
	}
	return count(s.readStmts), count(s.writeStmts)
}

// Waiting counts the writers waiting for their turn, and TurnTaken says whether
// a writer holds it (SQLite's group commit).
func (s *Store) Waiting() int {
	s.group.mu.Lock()
	defer s.group.mu.Unlock()
	return s.group.waiting
}

func (s *Store) TurnTaken() bool { return len(s.group.turn) == 1 }

// MaxGroupWrites is the number of resources past which a transaction commits
// rather than take another writer (SQLite's group commit).
const MaxGroupWrites = maxGroupWrites

// Walks is how many search pages a walk found (walk.go).
func (s *Store) Walks() int64 { return s.walks.Load() }

// WalkProbeCap is the count of index rows above which a condition is broad (walk.go).
const WalkProbeCap = walkProbeCap

// SetReindexBatchBytes sets the bodies one re-index batch may hold, until the
// test ends.
func SetReindexBatchBytes(t interface{ Cleanup(func()) }, n int) {
	old := reindexBatchBytes
	reindexBatchBytes = n
	t.Cleanup(func() { reindexBatchBytes = old })
}

// SetDateWalkWindow sets the index rows one walk of a date-sorted search reads
// (walkdate.go) until the test ends.
func SetDateWalkWindow(t interface{ Cleanup(func()) }, n int64) {
	old := dateWalkWindow.Swap(n)
	t.Cleanup(func() { dateWalkWindow.Store(old) })
}

// SetGroupDateConditions turns the grouping of date conditions (dategroup.go)
// on or off until the test ends.
func SetGroupDateConditions(t interface{ Cleanup(func()) }, on bool) {
	old := groupDateConditions.Swap(on)
	t.Cleanup(func() { groupDateConditions.Store(old) })
}

// SingleValued reports whether a parameter's expression gives at most one value
// on a resource of typ (dategroup.go).
func SingleValued(typ, expr string) bool { return singleValued(typ, expr) }

// ShortDateRow is the literal bound of short date rows in the store's queries.
func ShortDateRow() string { return shortDateRow }
