package service

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// processing order of methods in a transaction. See
// https://hl7.org/fhir/R4/http.html#trules.
var methodOrder = map[string]int{"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}

func patchBinary(patch []byte) map[string]any {
	return map[string]any{"resourceType": "Binary", "contentType": "application/json-patch+json",
		"data": base64.StdEncoding.EncodeToString(patch)}
}

func entryError(i int, code ehr.Code, format string, args ...any) *ehr.Error {
	msg := fmt.Sprintf(format, args...)
	return &ehr.Error{Code: code, Message: fmt.Sprintf("Bundle.entry[%d]: %s", i, msg),
		Issues: []fhir.Issue{fhir.ErrorIssue(ehr.IssueType(code), fmt.Sprintf("Bundle.entry[%d]", i), msg)}}
}

// wrapEntry adds the entry index to an error from processing it.
func wrapEntry(i int, err error) error {
	code := ehr.ErrorCode(err)
	if code == ehr.Internal {
		return fmt.Errorf("Bundle.entry[%d]: %w", i, err)
	}
	out := &ehr.Error{Code: code, Message: fmt.Sprintf("Bundle.entry[%d]: %s", i, ehr.ErrorMessage(err))}
	prefix := fmt.Sprintf("Bundle.entry[%d]", i)
	for _, is := range ehr.ErrorIssues(err) {
		exprs := make([]string, len(is.Expression))
		for k, ex := range is.Expression {
			exprs[k] = prefix
			if _, rest, ok := strings.Cut(ex, "."); ok && !strings.HasPrefix(ex, "Bundle.") {
				exprs[k] = prefix + ".resource." + rest
			} else if ok {
				exprs[k] = ex
			}
		}
		is.Expression = exprs
		out.Issues = append(out.Issues, is)
	}
	return out
}

// Apply runs changes as a transaction (all or nothing: the first failing change
// fails it with an error naming the entry, and nothing is written) or as a batch
// (each change in a transaction of its own; a failure is that change's
// Outcome.Err). Outcomes are in the order of changes.
func (s *Service) Apply(ctx context.Context, kind string, changes []ehr.Change, opts ehr.ApplyOptions) (out []ehr.Outcome, err error) {
	defer func() {
		var recs []*ehr.Record
		for _, o := range out {
			recs = append(recs, o.Record)
		}
		s.wrote(ctx, kind, "", "", recs, err)
	}()
	if n := len(changes) - max(opts.Bookkeeping, 0); n > s.maxBundleEntries {
		return nil, ehr.Errorf(ehr.TooLarge, "the Bundle has %d entries, more than the limit of %d (max-bundle-entries)", n, s.maxBundleEntries)
	}
	if err := checkFullURLs(changes); err != nil {
		return nil, err
	}
	switch kind {
	case "transaction":
		return s.run(ctx, "transaction", changes, opts, true)
	case "batch":
		return s.batch(ctx, changes, opts), nil
	}
	return nil, ehr.Errorf(ehr.Invalid, "a Bundle of type %q cannot be processed; use transaction or batch", kind)
}

// single runs one change as a transaction of its own and returns its errors as
// they are, without an entry index.
func (s *Service) single(ctx context.Context, c ehr.Change) (ehr.Outcome, error) {
	out, err := s.run(ctx, interactionOf(c), []ehr.Change{c}, ehr.ApplyOptions{}, false)
	if err != nil {
		return ehr.Outcome{}, err
	}
	return out[0], nil
}

// pending is one change while a transaction runs.
type pending struct {
	index int
	c     ehr.Change
	out   *ehr.Outcome
	// existing is the resource a conditional create matched.
	existing *ehr.Record
	// conflicts are records of the same source that the identity rule kept apart.
	conflicts []*ehr.Record
	// pre is what was prepared before the transaction (see prepareWrites); ready
	// is whether this attempt of the transaction takes it (see usePrepared).
	pre   *preparedWrite
	ready bool
}

// actionOf is the policy action of a change's method.
func actionOf(method string) ehr.Action {
	switch method {
	case "DELETE":
		return ehr.ActionDelete
	case "GET", "HEAD":
		return ehr.ActionRead
	case "POST":
		return ehr.ActionCreate
	}
	return ehr.ActionWrite
}

// interactionOf names the interaction of a change for its access event.
func interactionOf(c ehr.Change) string {
	switch c.Method {
	case "POST":
		return "create"
	case "PUT":
		return "update"
	case "PATCH":
		return "patch"
	case "DELETE":
		return "delete"
	}
	switch {
	case c.ID != "" && c.Version != 0:
		return "vread"
	case c.ID != "":
		return "read"
	}
	return "search"
}

// runEvent is the access event of a run: every record its changes wrote or read.
func (s *Service) runEvent(ctx context.Context, interaction string, changes []ehr.Change, entries []*pending) ehr.AccessEvent {
	var recs []*ehr.Record
	for _, e := range entries {
		recs = append(recs, e.out.Record)
		if e.out.Page != nil {
			recs = append(append(recs, e.out.Page.Records...), e.out.Page.Included...)
		}
	}
	var typ, id string
	if len(changes) == 1 {
		typ, id = changes[0].Type, changes[0].ID
	}
	return s.event(ctx, interaction, typ, id, nil, recs, nil)
}

// authorizeWritten asks the policy, once the transaction knows, whether the
// caller may have created or updated what a PUT or PATCH wrote: a scope with
// "u" but no "c" must not create by PUT, and one with "c" but no "u" must not
// change what exists.
func (s *Service) authorizeWritten(ctx context.Context, e *pending) error {
	if e.out.Record == nil || (e.c.Method != "PUT" && e.c.Method != "PATCH") {
		return nil
	}
	action := ehr.ActionUpdate
	if e.out.Created {
		action = ehr.ActionCreate
	}
	return s.policy.Authorize(ctx, ehr.PrincipalFrom(ctx), action, e.c.Type)
}

// run checks, authorizes and writes changes in one store transaction. With an
// Auditor, the audit record of what it wrote is appended as the transaction's
// last statement, so it commits with the writes or not at all; the record of
// changes that only read is appended after their snapshot, before run returns.
func (s *Service) run(ctx context.Context, interaction string, changes []ehr.Change, opts ehr.ApplyOptions, wrap bool) ([]ehr.Outcome, error) {
	fail := func(i int, err error) error {
		if wrap {
			return wrapEntry(i, err)
		}
		return err
	}
	outs := make([]ehr.Outcome, len(changes))
	entries := make([]*pending, len(changes))
	local := fullURLs(changes)
	for i := range changes {
		c := changes[i]
		if err := c.Check(); err != nil {
			return nil, fail(i, err)
		}
		if err := checkNotAudit(c); err != nil {
			return nil, fail(i, err)
		}
		if err := s.policy.Authorize(ctx, ehr.PrincipalFrom(ctx), actionOf(c.Method), c.Type); err != nil {
			return nil, fail(i, err)
		}
		if c.Method == "POST" || c.Method == "PUT" {
			if issues := s.model.Validate(c.Resource); len(issues) > 0 {
				return nil, fail(i, ehr.InvalidIssues("the resource is not valid R4 "+c.Type, issues))
			}
			if err := stampSource(ctx, c.Type, c.Resource); err != nil {
				return nil, fail(i, err)
			}
			if err := checkLocalReferences(c.Resource, local); err != nil {
				return nil, fail(i, err)
			}
		}
		entries[i] = &pending{index: i, c: c, out: &outs[i]}
	}
	// The scope is the principal's, whatever each change does: asked once.
	if len(changes) == 0 {
		if err := s.policy.Authorize(ctx, ehr.PrincipalFrom(ctx), ehr.ActionWrite, ""); err != nil {
			return nil, err
		}
	}
	scope, err := s.policy.Scope(ctx, ehr.PrincipalFrom(ctx))
	if err != nil {
		return nil, err
	}
	ctx = ehr.WithScope(ctx, scope)
	ordered := append([]*pending(nil), entries...)
	sort.SliceStable(ordered, func(i, j int) bool { return methodOrder[ordered[i].c.Method] < methodOrder[ordered[j].c.Method] })
	s.prepareWrites(ctx, ordered, opts.Base)
	readOnly := readsOnly(changes, opts)

	err = s.transaction(ctx, changes, opts, fail, func(ctx context.Context, tx ehr.Tx) error {
		if opts.IfNoneExist != "" {
			typ, criteria, _ := strings.Cut(opts.IfNoneExist, "?")
			found, err := match(ctx, tx, typ, criteria, 1)
			if err != nil {
				return err
			}
			if len(found) > 0 {
				return ehr.Errorf(ehr.Conflict, "the transaction's condition matches %s; nothing was written", found[0].Reference())
			}
		}
		ids := map[string]string{} // fullUrl -> "Type/id"
		written := map[string]int{}
		for _, e := range ordered {
			*e.out = ehr.Outcome{}
			e.c = changes[e.index]
			e.existing, e.conflicts = nil, nil
			if e.c.Resource != nil && (e.c.Method == "POST" || e.c.Method == "PUT") {
				// Identity resolution rewrites the body; a retried transaction
				// starts again from what the caller sent.
				e.c.Resource = e.copyResource(e.c.Resource)
			}
		}
		// Deletes first, then decide the identity of every created or updated
		// resource, so references can be rewritten before anything is written.
		for _, e := range ordered {
			switch e.c.Method {
			case "DELETE":
				if err := s.entryDelete(ctx, tx, e); err != nil {
					return fail(e.index, err)
				}
			case "POST", "PUT":
				if err := s.resolveIdentity(ctx, tx, e, ids); err != nil {
					return fail(e.index, err)
				}
			}
			if e.c.Method != "GET" && e.c.Method != "HEAD" && e.c.ID != "" {
				key := e.c.Type + "/" + e.c.ID
				if prev, dup := written[key]; dup {
					return entryError(e.index, ehr.Invalid, "%s is also changed by entry %d; a transaction may change a resource once", key, prev)
				}
				written[key] = e.index
			}
		}
		for _, e := range ordered {
			e.usePrepared(ids)
			if (e.c.Method != "POST" && e.c.Method != "PUT") || e.ready {
				continue
			}
			if err := rewriteReferences(ctx, tx, e.c.Resource, ids, opts.Base); err != nil {
				return fail(e.index, err)
			}
		}
		for _, e := range ordered {
			var err error
			switch e.c.Method {
			case "POST":
				err = s.entryCreate(ctx, tx, e)
			case "PUT":
				err = s.entryUpdate(ctx, tx, e)
			case "PATCH":
				err = s.entryPatch(ctx, tx, e)
			case "GET", "HEAD":
				err = s.entryRead(ctx, tx, e)
			}
			if err != nil {
				return fail(e.index, err)
			}
			if err := s.authorizeWritten(ctx, e); err != nil {
				return fail(e.index, err)
			}
			if len(e.conflicts) > 0 {
				tasks, err := s.raiseConflicts(ctx, tx, e.out.Record, e.conflicts, e.c.Query+e.c.IfNoneExist)
				if err != nil {
					return fail(e.index, err)
				}
				e.out.Conflicts = tasks
			}
		}
		if s.audit != nil && !readOnly {
			if err := s.audit.RecordTx(ctx, tx, s.runEvent(ctx, interaction, changes, entries)); err != nil {
				// Wrapped, not replaced: a serialization failure retries the
				// whole transaction.
				return fmt.Errorf("append the audit record: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if readOnly && s.auditsReads(ctx) {
		if err := s.audit.Record(ctx, s.runEvent(ctx, interaction, changes, entries)); err != nil {
			s.log.ErrorContext(ctx, "audit record not written", "request_id", ehr.RequestID(ctx), "interaction", interaction, "error", err)
			return nil, errNotAudited
		}
	}
	s.committed(ctx, entries)
	return outs, nil
}

// committed hands the records a committed request wrote to the AfterCommit hook.
// A conditional create that found its match wrote nothing, nor did reads.
func (s *Service) committed(ctx context.Context, entries []*pending) {
	if s.after == nil {
		return
	}
	var recs []*ehr.Record
	for _, e := range entries {
		rec := e.out.Record
		switch {
		case rec == nil, e.c.Method == "GET", e.c.Method == "HEAD":
		case e.c.Method == "POST" && !e.out.Created:
		default:
			recs = append(recs, rec)
		}
	}
	if len(recs) > 0 {
		s.after(ctx, recs)
	}
}

// resolveIdentity fixes the id a POST or PUT entry will have.
func (s *Service) resolveIdentity(ctx context.Context, tx ehr.Tx, e *pending, ids map[string]string) error {
	c := &e.c
	switch {
	case c.Method == "POST" && c.IfNoneExist != "":
		found, conflicts, err := s.matchIdentity(ctx, tx, c.Type, c.IfNoneExist, c.Resource)
		if err != nil {
			return err
		}
		e.conflicts = conflicts
		if found != nil {
			e.existing = found
			c.ID = found.ID
		} else {
			c.ID = e.newID(tx)
		}
	case c.Method == "POST":
		c.ID = e.newID(tx)
	case c.Query != "":
		found, conflicts, err := s.matchIdentity(ctx, tx, c.Type, c.Query, c.Resource)
		if err != nil {
			return err
		}
		e.conflicts = conflicts
		bodyID, _ := c.Resource["id"].(string)
		switch {
		case found != nil:
			if bodyID != "" && bodyID != found.ID {
				return ehr.Errorf(ehr.Invalid, "the body's id differs from the id of the resource the criteria match")
			}
			c.ID = found.ID
		case bodyID != "" && len(conflicts) == 0:
			c.ID = bodyID
		default:
			c.ID = e.newID(tx)
		}
		c.Resource["id"] = c.ID
	default:
		if bodyID, _ := c.Resource["id"].(string); bodyID != c.ID {
			return ehr.Errorf(ehr.Invalid, "the resource's id differs from the id in request.url")
		}
	}
	if c.FullURL != "" {
		ids[c.FullURL] = c.Type + "/" + c.ID
	}
	return nil
}

// rewriteReferences replaces, everywhere in res, references to other entries'
// fullUrls (urn:uuid:, urn:oid: or absolute) with "Type/id", and conditional
// references "Type?criteria" with the one resource they match.
func rewriteReferences(ctx context.Context, tx ehr.Tx, node any, ids map[string]string, base string) error {
	switch x := node.(type) {
	case []any:
		for _, e := range x {
			if err := rewriteReferences(ctx, tx, e, ids, base); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, v := range x {
			if k == "reference" {
				ref, ok := v.(string)
				if !ok {
					continue
				}
				if target, ok := ids[ref]; ok {
					x[k] = target
					continue
				}
				local := strings.TrimPrefix(ref, strings.TrimSuffix(base, "/")+"/")
				if path, query, isCond := strings.Cut(local, "?"); isCond && fhir.R4().IsResourceType(path) {
					found, err := match(ctx, tx, path, query, 2)
					if err != nil {
						return err
					}
					if len(found) != 1 {
						return ehr.Errorf(ehr.PreconditionFailed, "the conditional reference %s?%s matches %d resources, not one", path, strings.Split(query, "=")[0]+"=…", len(found))
					}
					x[k] = found[0].Reference()
				}
				continue
			}
			if err := rewriteReferences(ctx, tx, v, ids, base); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Service) entryDelete(ctx context.Context, tx ehr.Tx, e *pending) error {
	var err error
	var rec *ehr.Record
	if e.c.Query != "" {
		rec, err = conditionalDelete(ctx, tx, e.c.Type, e.c.Query)
	} else {
		rec, err = tx.Delete(ctx, e.c.Type, e.c.ID, e.c.IfMatch)
	}
	e.out.Record = rec
	return err
}

func conditionalDelete(ctx context.Context, tx ehr.Tx, typ, criteria string) (*ehr.Record, error) {
	found, err := match(ctx, tx, typ, criteria, 2)
	if err != nil {
		return nil, err
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return tx.Delete(ctx, typ, found[0].ID, 0)
	default:
		return nil, ehr.Errorf(ehr.PreconditionFailed, "the criteria match more than one %s", typ)
	}
}

func (s *Service) entryCreate(ctx context.Context, tx ehr.Tx, e *pending) error {
	if e.existing != nil {
		e.out.Record = e.existing
		return nil
	}
	rec, err := e.create(ctx, tx)
	if err != nil {
		return err
	}
	e.out.Record, e.out.Created = rec, true
	return nil
}

func (s *Service) entryUpdate(ctx context.Context, tx ehr.Tx, e *pending) error {
	rec, created, err := e.update(ctx, tx)
	if err != nil {
		return err
	}
	e.out.Record, e.out.Created = rec, created
	return nil
}

func (s *Service) entryPatch(ctx context.Context, tx ehr.Tx, e *pending) error {
	data, err := base64.StdEncoding.DecodeString(fhir.String(e.c.Resource, "data"))
	if err != nil {
		return ehr.Errorf(ehr.Invalid, "the Binary's data is not base64")
	}
	id := e.c.ID
	if e.c.Query != "" {
		found, err := match(ctx, tx, e.c.Type, e.c.Query, 2)
		if err != nil {
			return err
		}
		switch len(found) {
		case 0:
			return ehr.Errorf(ehr.NotFound, "no %s matches the criteria", e.c.Type)
		case 1:
			id = found[0].ID
		default:
			return ehr.Errorf(ehr.PreconditionFailed, "the criteria match more than one %s", e.c.Type)
		}
	}
	rec, err := s.patch(ctx, tx, e.c.Type, id, data, e.c.IfMatch, e.pre)
	if err != nil {
		return err
	}
	e.out.Record = rec
	return nil
}

// patch applies a JSON Patch to the current version of typ/id inside tx. A patch
// prepared before the transaction (preparePatch) is written as prepared when the
// resource is still at the version it was applied to.
func (s *Service) patch(ctx context.Context, tx ehr.Tx, typ, id string, patch []byte, ifMatch int64, pre *preparedWrite) (*ehr.Record, error) {
	cur, err := tx.Read(ctx, typ, id)
	if err != nil {
		return nil, err
	}
	if ifMatch != 0 && cur.Version != ifMatch {
		return nil, ehr.Errorf(ehr.PreconditionFailed, "%s/%s is at version %d, not %d", typ, id, cur.Version, ifMatch)
	}
	if w, ok := tx.(ehr.PreparedWriter); ok && pre != nil && pre.p != nil && pre.id == id && pre.base == cur.Version {
		rec, _, err := w.UpdatePrepared(ctx, pre.p, ehr.WriteOptions{IfMatch: cur.Version, Patch: true})
		return rec, err
	}
	res, err := s.applyPatch(ctx, typ, id, cur, patch)
	if err != nil {
		return nil, err
	}
	if err := resolvePatched(ctx, tx, res); err != nil {
		return nil, err
	}
	rec, _, err := tx.Update(ctx, typ, id, res, ehr.WriteOptions{IfMatch: cur.Version, Patch: true})
	return rec, err
}

// applyPatch applies patch to the resource of cur, and checks and stamps the
// result as a write of typ/id.
func (s *Service) applyPatch(ctx context.Context, typ, id string, cur *ehr.Record, patch []byte) (map[string]any, error) {
	doc, err := fhir.Decode(cur.Resource)
	if err != nil {
		return nil, err
	}
	patched, err := fhir.ApplyJSONPatch(doc, patch)
	if err != nil {
		return nil, ehr.Errorf(ehr.Invalid, "JSON Patch: %v", err)
	}
	res, ok := patched.(map[string]any)
	if !ok || res["resourceType"] != typ || res["id"] != id {
		return nil, ehr.Errorf(ehr.Invalid, "a patch must not change the resource's type or id")
	}
	if err := s.prepare(ctx, typ, res); err != nil {
		return nil, err
	}
	return res, nil
}

func (s *Service) entryRead(ctx context.Context, tx ehr.Tx, e *pending) error {
	var rec *ehr.Record
	var err error
	switch {
	case e.c.ID != "" && e.c.Version != 0:
		rec, err = tx.VRead(ctx, e.c.Type, e.c.ID, e.c.Version)
	case e.c.ID != "":
		rec, err = tx.Read(ctx, e.c.Type, e.c.ID)
	default:
		values, perr := url.ParseQuery(e.c.Query)
		if perr != nil {
			return ehr.Errorf(ehr.Invalid, "malformed query in request.url")
		}
		q, perr := search.Parse(e.c.Type, values)
		if perr != nil {
			return ehr.Errorf(ehr.Invalid, "%v", perr)
		}
		// :mdm parameters are expanded here, as Search does; the result is a
		// search of the transaction with the links the caller may see.
		run := *q
		run.Params = slices.Clone(q.Params)
		for i, p := range run.Params {
			if p.Modifier == search.ModifierMDM {
				var err error
				if run.Params[i], err = s.expandMDM(ctx, q.Type, p); err != nil {
					return err
				}
			}
		}
		page, serr := tx.Search(ctx, &run)
		if serr != nil {
			return serr
		}
		q.Ignored, q.IgnoredReasons, q.Malformed = run.Ignored, run.IgnoredReasons, run.Malformed
		e.out.Page, e.out.Query = page, q
		return nil
	}
	if err != nil {
		return err
	}
	e.out.Record = rec
	return nil
}

// batch runs each change in a transaction of its own; a failure is that change's
// outcome, not the batch's. Internal errors are logged with the request id.
func (s *Service) batch(ctx context.Context, changes []ehr.Change, opts ehr.ApplyOptions) []ehr.Outcome {
	outs := make([]ehr.Outcome, len(changes))
	for i, c := range changes {
		res, err := s.run(ctx, interactionOf(c), []ehr.Change{c}, opts, false)
		if err != nil {
			s.wrote(ctx, interactionOf(c), c.Type, c.ID, nil, err)
			if ehr.ErrorCode(err) == ehr.Internal {
				s.log.ErrorContext(ctx, "batch entry failed", "request_id", ehr.RequestID(ctx), "entry", i, "error", err)
			}
			outs[i] = ehr.Outcome{Err: wrapEntry(i, err)}
			continue
		}
		outs[i] = res[0]
	}
	return outs
}
