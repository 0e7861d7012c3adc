package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// DefaultSearchTimeout is how long one search may run when Options.SearchTimeout
// is zero.
const DefaultSearchTimeout = 30 * time.Second

// LimitSearchTimeout is the name of the search time limit, as its setting and
// docs/limits.md call it.
const LimitSearchTimeout = "search-timeout"

// errSearchTimeout is the cause of a search context that ran out of time.
var errSearchTimeout = errors.New("search timeout")

// Search implements ehr.Tx. It checks q against the search limits and the registry
// before any SQL is built, runs it for at most the search timeout, and stops it
// when ctx ends (on SQLite through the driver's interrupt, on PostgreSQL through
// a cancel request). A query that passes a limit, runs out of time or passes one
// of the engine's own limits is Invalid, with an issue of type too-costly naming
// the limit; one stopped because ctx ended returns an error that wraps ctx.Err().
func (t *tx) Search(ctx context.Context, q *search.Query) (*ehr.Page, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, t.s.searchTimeout, errSearchTimeout)
	defer cancel()
	page, err := t.search(ctx, q)
	if err != nil {
		return nil, t.s.searchError(ctx, err)
	}
	return page, nil
}

// checkLimits checks q against the store's search limits.
func (s *Store) checkLimits(q *search.Query) error {
	err := s.registry.CheckLimits(q, s.limits)
	var le *search.LimitError
	if errors.As(err, &le) {
		return limitError(le.Error(), le.Param, "limit "+le.Limit)
	}
	return err
}

// limitError is the Invalid error of a search that passed a limit: msg for the
// caller, and an issue of type too-costly about param (if any) with diagnostics
// naming the limit.
func limitError(msg, param, diagnostics string) error {
	return &ehr.Error{Code: ehr.Invalid, Message: msg,
		Issues: []fhir.Issue{fhir.ErrorIssue("too-costly", param, diagnostics)}}
}

// searchError turns the error of a search run under ctx into what callers act on.
func (s *Store) searchError(ctx context.Context, err error) error {
	switch {
	case context.Cause(ctx) == errSearchTimeout:
		return limitError(fmt.Sprintf("the search ran longer than %s and was stopped; narrow it or ask for fewer resources per page", s.searchTimeout),
			"", "limit "+LimitSearchTimeout)
	case ctx.Err() != nil:
		// The caller went away or gave up: whatever the engine said, the
		// search was stopped for that.
		return fmt.Errorf("search stopped: %w", ctx.Err())
	case ehr.ErrorCode(err) != ehr.Internal:
		return err
	}
	if d, ok := s.dialect.(costDialect); ok && d.TooCostly(err) {
		// The limits keep queries well inside what the engines allow; this is
		// the backstop for a query they did not foresee.
		return limitError("the search is more than the database can run; ask for fewer parameters, values or chains", "", "a limit of the database engine")
	}
	return err
}

// costDialect is a Dialect that recognises the errors its engine raises when a
// query passes one of the engine's own limits (expression depth, bind parameters,
// pattern length): a property of the query the client asked for, not a failure of
// the server.
type costDialect interface {
	TooCostly(err error) bool
}

// lockName is the name a lock is taken under: name itself, or for a long one (the
// criteria of a conditional interaction can be kilobytes long, more than
// PostgreSQL indexes in one row) a digest of it.
func lockName(name string) string {
	if len(name) <= 200 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// noSuchID is the NotFound of an id no resource can have (not 1 to 64 of A-Z a-z
// 0-9 - .). Such ids are answered without asking the engine: PostgreSQL refuses
// text that is not UTF-8 or holds a NUL, where SQLite finds nothing, and both
// must answer a client alike.
func noSuchID(typ string) error {
	return ehr.Errorf(ehr.NotFound, "no %s has that id: an id is 1 to 64 of A-Z a-z 0-9 - .", typ)
}
