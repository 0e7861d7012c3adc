package service

import (
	"context"
	"encoding/base64"
	"maps"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
)

// A write transaction should hold its locks (on SQLite, the one write connection)
// only for the writes themselves. Validation happens before it; so, when the store
// is an ehr.Preparer, does encoding and indexing each created or updated resource.
// What that work needs to know is the id and the references, which the
// transaction decides (resolveIdentity, rewriteReferences): before it, each POST
// and PUT gets the id it will most likely have (a new server id, or its own id), and
// references to other entries get their ids likewise. Inside, an entry is written
// as prepared only when identity resolution gave it the id it was prepared under
// and gave every entry it refers to the id it assumed; otherwise (a conditional
// create or update that matched an existing record, or refers to one that did) it
// is rewritten and written as before. Entries with conditional references are
// left to the transaction, which must hold the match's lock.

// preparedWrite is a POST or PUT entry made ready before its transaction.
type preparedWrite struct {
	// p is what the store prepared; nil when the entry could not be prepared,
	// and only its id was chosen.
	p ehr.Prepared
	// id is the id it was prepared under; minted when the server made it, so that
	// identity resolution takes it wherever it would make a new one.
	id     string
	minted bool
	// refs are the fullUrls of other entries its references named, with the
	// "Type/id" they were rewritten to.
	refs map[string]string
	// base is, for a PATCH, the version the patch was applied to.
	base int64
}

// prepareWrites chooses, before the transaction, the likely id of every POST and
// PUT entry and prepares those it can. A failure leaves an entry to be written as
// usual, where it fails the same way.
func (s *Service) prepareWrites(ctx context.Context, entries []*pending, base string) {
	pr, ok := s.store.(ehr.Preparer)
	if !ok {
		return
	}
	targets := map[string]string{} // fullUrl -> "Type/id", as resolveIdentity fills ids
	for _, e := range entries {
		c := &e.c
		if c.Method == "PATCH" {
			s.preparePatch(ctx, pr, e)
			continue
		}
		if (c.Method != "POST" && c.Method != "PUT") || c.Resource == nil {
			continue
		}
		w := &preparedWrite{}
		bodyID, _ := c.Resource["id"].(string)
		switch {
		case c.Method == "POST", c.Query != "" && bodyID == "":
			w.id, w.minted = s.store.NewID(), true
		case c.Query != "":
			w.id = bodyID
		default:
			w.id = c.ID
		}
		e.pre = w
		if c.FullURL != "" {
			targets[c.FullURL] = c.Type + "/" + w.id
		}
	}
	var todo []*pending
	for _, e := range entries {
		if e.pre != nil && e.c.Method != "PATCH" {
			todo = append(todo, e)
		}
	}
	prepare := func(e *pending) {
		w := e.pre
		res := e.c.Resource
		w.refs = map[string]string{}
		if !plannedReferences(res, targets, base, w.refs) {
			return
		}
		if len(w.refs) > 0 {
			res = fhir.Clone(res).(map[string]any)
			substituteReferences(res, w.refs)
		}
		p, err := pr.Prepare(ctx, e.c.Type, w.id, res)
		if err != nil {
			return
		}
		w.p = p
	}
	// Each entry is prepared on its own (targets is only read now), so a large
	// Bundle's entries are prepared on every core: encoding and extracting the
	// index rows is most of an imported Bundle's work.
	workers := min(runtime.GOMAXPROCS(0), len(todo)/parallelPrepareEntries+1)
	if workers <= 1 {
		for _, e := range todo {
			prepare(e)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(len(todo)); i = next.Add(1) - 1 {
				prepare(todo[i])
			}
		}()
	}
	wg.Wait()
}

// parallelPrepareEntries is how many entries one more goroutine prepares: below
// it, starting one costs more than it saves.
const parallelPrepareEntries = 16

// preparePatch applies a PATCH entry's patch, before the transaction, to the
// version it can read now, and prepares the result: decoding, patching,
// validating, encoding and indexing are the costly part of a patch, and none of
// them needs the write lock. The transaction writes what was prepared when the
// resource is still at that version, and patches again otherwise. A conditional
// patch, and a result holding a reference the transaction must resolve or refuse,
// are left to the transaction whole.
func (s *Service) preparePatch(ctx context.Context, pr ehr.Preparer, e *pending) {
	c := &e.c
	if c.Query != "" || c.ID == "" {
		return
	}
	patch, err := base64.StdEncoding.DecodeString(fhir.String(c.Resource, "data"))
	if err != nil {
		return
	}
	cur, err := s.store.Read(ctx, c.Type, c.ID)
	if err != nil || (c.IfMatch != 0 && cur.Version != c.IfMatch) {
		return
	}
	res, err := s.applyPatch(ctx, c.Type, c.ID, cur, patch)
	if err != nil || checkLocalReferences(res, nil) != nil || !plannedReferences(res, nil, "", map[string]string{}) {
		return
	}
	p, err := pr.Prepare(ctx, c.Type, c.ID, res)
	if err != nil {
		return
	}
	e.pre = &preparedWrite{p: p, id: c.ID, base: cur.Version}
}

// plannedReferences adds to refs the references in node to other entries'
// fullUrls, with the "Type/id" rewriteReferences would give them if every entry
// got the id in targets. It returns false when node holds a conditional
// reference, which only the transaction can resolve.
func plannedReferences(node any, targets map[string]string, base string, refs map[string]string) bool {
	switch x := node.(type) {
	case []any:
		for _, e := range x {
			if !plannedReferences(e, targets, base, refs) {
				return false
			}
		}
	case map[string]any:
		for k, v := range x {
			if k != "reference" {
				if !plannedReferences(v, targets, base, refs) {
					return false
				}
				continue
			}
			ref, ok := v.(string)
			if !ok {
				continue
			}
			if target, ok := targets[ref]; ok {
				refs[ref] = target
				continue
			}
			local := strings.TrimPrefix(ref, strings.TrimSuffix(base, "/")+"/")
			if path, _, isCond := strings.Cut(local, "?"); isCond && fhir.R4().IsResourceType(path) {
				return false
			}
		}
	}
	return true
}

// substituteReferences replaces the references in node that refs names.
func substituteReferences(node any, refs map[string]string) {
	switch x := node.(type) {
	case []any:
		for _, e := range x {
			substituteReferences(e, refs)
		}
	case map[string]any:
		for k, v := range x {
			if k != "reference" {
				substituteReferences(v, refs)
				continue
			}
			if ref, ok := v.(string); ok {
				if target, ok := refs[ref]; ok {
					x[k] = target
				}
			}
		}
	}
}

// newID returns a new server id for the entry: the one it was prepared under,
// when the server made that one.
func (e *pending) newID(tx ehr.Tx) string {
	if e.pre != nil && e.pre.minted {
		return e.pre.id
	}
	return tx.NewID()
}

// copyResource returns the entry's own copy of the resource sent, for identity
// resolution to set its id: a copy of the top level when it was prepared, a deep
// one, for references to be rewritten in, when not.
func (e *pending) copyResource(sent map[string]any) map[string]any {
	if e.pre != nil && e.pre.p != nil {
		return maps.Clone(sent)
	}
	return fhir.Clone(sent).(map[string]any)
}

// usePrepared decides, once identity resolution has filled ids, whether the entry
// is taken as prepared: written as prepared when it has the id it was prepared
// under and every entry it refers to has the id it assumed, or not written at all
// when it is a conditional create that matched (what was prepared holds no
// conditional reference, so rewriting its references could not fail). Otherwise
// its resource is copied in full, for references to be rewritten in.
func (e *pending) usePrepared(ids map[string]string) {
	e.ready = false
	if e.pre == nil || e.pre.p == nil || (e.c.Method != "POST" && e.c.Method != "PUT") {
		return
	}
	e.ready = e.existing != nil || e.c.ID == e.pre.id && sameTargets(e.pre.refs, ids)
	if !e.ready {
		e.c.Resource = fhir.Clone(e.c.Resource).(map[string]any)
	}
}

// sameTargets reports whether every fullUrl of refs has the same "Type/id" in ids.
func sameTargets(refs, ids map[string]string) bool {
	for url, target := range refs {
		if ids[url] != target {
			return false
		}
	}
	return true
}

// create writes a POST entry, as prepared when it may be.
func (e *pending) create(ctx context.Context, tx ehr.Tx) (*ehr.Record, error) {
	if w, ok := tx.(ehr.PreparedWriter); ok && e.ready {
		return w.CreatePrepared(ctx, e.pre.p)
	}
	return tx.Create(ctx, e.c.ID, e.c.Resource)
}

// update writes a PUT entry, as prepared when it may be.
func (e *pending) update(ctx context.Context, tx ehr.Tx) (*ehr.Record, bool, error) {
	opts := ehr.WriteOptions{IfMatch: e.c.IfMatch}
	if w, ok := tx.(ehr.PreparedWriter); ok && e.ready {
		return w.UpdatePrepared(ctx, e.pre.p, opts)
	}
	return tx.Update(ctx, e.c.Type, e.c.ID, e.c.Resource, opts)
}
