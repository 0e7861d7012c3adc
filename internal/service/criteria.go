package service

import (
	"context"
	"errors"
	"strings"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// Conditional criteria before the write transaction
//
// A conditional interaction (If-None-Exist, conditional update, patch and delete,
// a conditional reference in a transaction) searches its criteria inside its
// write transaction, under a lock on the criteria, so that two writers with the
// same criteria never both see "no match" and both create. On SQLite every write
// goes through one connection, so a slow criteria search there holds up every
// other writer for as long as it runs.
//
// On such a store the criteria are therefore searched first, outside the write
// transaction, on a snapshot with a mark (the store's SearchMarked). Inside the
// transaction, under the lock, match checks cheaply whether a resource of a type
// the criteria read has been written since the mark; if not, the criteria would
// find what they found, and that is used. If so, criteria that took less than
// rematchBudget to search are searched again inside the transaction (as briefly
// as a write), and slower ones give the transaction up to search them again
// outside it, up to rematchAttempts times; the last attempt searches inside the
// transaction, as other stores always do.

// markedSearcher is a store that can search outside a write transaction and tell
// inside a later one whether the result may have changed.
type markedSearcher interface {
	MarksChanges() bool
	SearchMarked(ctx context.Context, q *search.Query) (*ehr.Page, string, error)
}

// changeChecker is a Tx of such a store.
type changeChecker interface {
	ChangedSince(ctx context.Context, mark string) (bool, error)
}

// readTransactor is a store that can run reads on a snapshot outside any write
// transaction.
type readTransactor interface {
	ReadTransaction(ctx context.Context, fn func(tx ehr.Tx) error) error
}

// readsOnly reports changes that write nothing.
func readsOnly(changes []ehr.Change, opts ehr.ApplyOptions) bool {
	if len(changes) == 0 || opts.IfNoneExist != "" {
		return false
	}
	for _, c := range changes {
		if c.Method != "GET" && c.Method != "HEAD" {
			return false
		}
	}
	return true
}

// rematchAttempts bounds how often a transaction is given up because what its
// criteria read changed before it took the write lock.
const rematchAttempts = 3

// rematchBudget is how long a criteria search may have taken to be searched again
// inside the write transaction when what it read has changed, rather than give the
// transaction up: identifier criteria, the common case, take a millisecond, and
// giving up their transaction whenever another request wrote a resource of the
// same type would make concurrent imports search them over and over.
const rematchBudget = 100 * time.Millisecond

// errCriteriaChanged gives up a transaction whose criteria were resolved on data
// that has changed since.
var errCriteriaChanged = errors.New("conditional criteria changed while the transaction waited; resolve them again")

// criteriaKey is the context key of the criteria resolved before a transaction.
type criteriaKey struct{}

// resolvedCriteria are the criteria of one transaction, searched before it, by
// criteriaName.
type resolvedCriteria map[string]*resolvedMatch

type resolvedMatch struct {
	records []*ehr.Record
	count   int // the page size they were searched with
	mark    string
	took    time.Duration
}

// transaction runs fn in a store transaction, with the conditional criteria of
// changes (and of opts.IfNoneExist) searched before it where the store can (see
// above). fail wraps the error of the change at an index.
//
// Changes that only read (GET and HEAD entries of a batch, or a transaction of
// them) run on a read snapshot where the store offers one, holding no write lock.
func (s *Service) transaction(ctx context.Context, changes []ehr.Change, opts ehr.ApplyOptions, fail func(int, error) error, fn func(ctx context.Context, tx ehr.Tx) error) error {
	if rt, ok := s.store.(readTransactor); ok && readsOnly(changes, opts) {
		return rt.ReadTransaction(ctx, func(tx ehr.Tx) error { return fn(ctx, tx) })
	}
	ms, ok := s.store.(markedSearcher)
	if !ok || !ms.MarksChanges() {
		return s.store.Transaction(ctx, func(tx ehr.Tx) error { return fn(ctx, tx) })
	}
	for attempt := 1; ; attempt++ {
		tctx := ctx
		if attempt <= rematchAttempts {
			resolved, err := resolveCriteria(ctx, ms, changes, opts, fail)
			if err != nil {
				return err
			}
			if len(resolved) > 0 {
				tctx = context.WithValue(ctx, criteriaKey{}, resolved)
			}
		}
		err := s.store.Transaction(tctx, func(tx ehr.Tx) error { return fn(tctx, tx) })
		if !errors.Is(err, errCriteriaChanged) {
			return err
		}
	}
}

// resolveCriteria searches every conditional criteria of changes the way match
// will, outside any transaction. Criteria that match would refuse are left to it,
// so that it reports them as it always does.
func resolveCriteria(ctx context.Context, ms markedSearcher, changes []ehr.Change, opts ehr.ApplyOptions, fail func(int, error) error) (resolvedCriteria, error) {
	resolved := resolvedCriteria{}
	resolve := func(typ, criteria string) error {
		mctx, q := criteriaQuery(ctx, typ, criteria)
		if q == nil {
			return nil
		}
		name := criteriaName(mctx, q)
		if _, done := resolved[name]; done {
			return nil
		}
		start := time.Now()
		page, mark, err := ms.SearchMarked(mctx, q)
		if err != nil {
			return err
		}
		resolved[name] = &resolvedMatch{records: page.Records, count: q.Count, mark: mark, took: time.Since(start)}
		return nil
	}
	if opts.IfNoneExist != "" {
		typ, criteria, _ := strings.Cut(opts.IfNoneExist, "?")
		if err := resolve(typ, criteria); err != nil {
			return nil, err
		}
	}
	fullURLs := map[string]bool{}
	for _, c := range changes {
		if c.FullURL != "" {
			fullURLs[c.FullURL] = true
		}
	}
	for i, c := range changes {
		criteria := c.Query
		if c.Method == "POST" {
			criteria = c.IfNoneExist
		}
		if c.Method != "GET" && c.Method != "HEAD" && criteria != "" {
			if err := resolve(c.Type, criteria); err != nil {
				return nil, fail(i, err)
			}
		}
		if c.Method != "POST" && c.Method != "PUT" {
			continue
		}
		for _, ref := range conditionalReferences(c.Resource, opts.Base, fullURLs) {
			typ, criteria, _ := strings.Cut(ref, "?")
			if err := resolve(typ, criteria); err != nil {
				return nil, fail(i, err)
			}
		}
	}
	return resolved, nil
}

// criteriaQuery parses criteria as match does, with the page size match asks
// for, and narrows ctx as match does; q is nil when match would refuse them.
func criteriaQuery(ctx context.Context, typ, criteria string) (context.Context, *search.Query) {
	q, err := search.ParseString(typ, criteria)
	if err != nil || len(q.Params) == 0 || ehr.CheckType(typ) != nil {
		return ctx, nil
	}
	q.Strict = true
	// The most any caller of match asks for: matchIdentity weighs up to
	// identityCandidates Patients, the others look for a second match.
	q.Count = 2
	if typ == "Patient" {
		q.Count = identityCandidates
	}
	if src := ehr.PrincipalFrom(ctx).Source; src != "" {
		ctx = ehr.WithScope(ctx, ehr.ScopeFrom(ctx).Narrow(ehr.Scope{Sources: []string{src}}))
	}
	return ctx, q
}

// criteriaName identifies criteria of a source whatever page size they are
// searched with.
func criteriaName(ctx context.Context, q *search.Query) string {
	values := q.Encode()
	values.Del("_count")
	return ehr.PrincipalFrom(ctx).Source + "|" + q.Type + "?" + values.Encode()
}

// conditionalReferences lists the conditional references ("Type?criteria") in res
// that rewriteReferences will resolve.
func conditionalReferences(node any, base string, fullURLs map[string]bool) []string {
	var out []string
	switch x := node.(type) {
	case []any:
		for _, e := range x {
			out = append(out, conditionalReferences(e, base, fullURLs)...)
		}
	case map[string]any:
		for k, v := range x {
			if ref, ok := v.(string); ok && k == "reference" {
				if fullURLs[ref] {
					continue
				}
				local := strings.TrimPrefix(ref, strings.TrimSuffix(base, "/")+"/")
				if path, _, isCond := strings.Cut(local, "?"); isCond && fhir.R4().IsResourceType(path) {
					out = append(out, local)
				}
				continue
			}
			out = append(out, conditionalReferences(v, base, fullURLs)...)
		}
	}
	return out
}

// searchCriteria runs the criteria search q of match in tx, or takes its result
// from before the transaction when nothing it read has changed since.
func searchCriteria(ctx context.Context, tx ehr.Tx, q *search.Query) (*ehr.Page, error) {
	resolved, _ := ctx.Value(criteriaKey{}).(resolvedCriteria)
	r := resolved[criteriaName(ctx, q)]
	cc, ok := tx.(changeChecker)
	if r == nil || !ok || r.count < q.Count {
		return tx.Search(ctx, q)
	}
	changed, err := cc.ChangedSince(ctx, r.mark)
	if err != nil {
		return nil, err
	}
	if changed && r.took < rematchBudget {
		return tx.Search(ctx, q)
	}
	if changed {
		return nil, errCriteriaChanged
	}
	recs := r.records
	if len(recs) > q.Count {
		recs = recs[:q.Count]
	}
	return &ehr.Page{Records: recs, Total: -1}, nil
}
