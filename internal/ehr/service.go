package ehr

import (
	"context"
	"strings"

	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// Service runs FHIR interactions against a ResourceStore under a Policy. It is safe
// for concurrent use.
type Service struct {
	store  ResourceStore
	policy Policy
	model  *fhir.Model
}

// NewService returns a Service over store. A nil policy allows everything.
func NewService(store ResourceStore, policy Policy) *Service {
	if policy == nil {
		policy = AllowAll{}
	}
	return &Service{store: store, policy: policy, model: fhir.R4()}
}

// Store returns the underlying store, for maintenance work that is not a FHIR
// interaction (reindexing, migrations).
func (s *Service) Store() ResourceStore { return s.store }

func (s *Service) authorize(ctx context.Context, action Action, typ string) error {
	return s.policy.Authorize(ctx, PrincipalFrom(ctx), action, typ)
}

// visible filters records through the policy.
func (s *Service) visible(ctx context.Context, recs []*Record) ([]*Record, error) {
	p := PrincipalFrom(ctx)
	out := recs[:0:0]
	for _, r := range recs {
		ok, err := s.policy.Visible(ctx, p, r)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// CheckType returns an Invalid error unless typ is a concrete R4 resource type.
func CheckType(typ string) error {
	if !fhir.R4().IsResourceType(typ) {
		return Errorf(Invalid, "%q is not an R4 resource type", typ)
	}
	return nil
}

// prepare validates res as a resource of type typ and stamps meta.source with the
// principal's source when the resource names none.
func (s *Service) prepare(ctx context.Context, typ string, res map[string]any) error {
	if issues := s.model.Validate(res); len(issues) > 0 {
		return InvalidIssues("the resource is not valid R4 "+typ, issues)
	}
	return stampSource(ctx, typ, res)
}

// stampSource checks the type of res and sets meta.source from the principal.
func stampSource(ctx context.Context, typ string, res map[string]any) error {
	got, _ := res["resourceType"].(string)
	if got != typ {
		return Errorf(Invalid, "the resource is a %q, but the request is for %s", got, typ)
	}
	if src := PrincipalFrom(ctx).Source; src != "" {
		meta, _ := res["meta"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
			res["meta"] = meta
		}
		if _, ok := meta["source"]; !ok {
			meta["source"] = src
		}
	}
	return nil
}

// match returns up to limit current resources of typ matching criteria, a search
// query string as conditional interactions carry it.
func match(ctx context.Context, tx Tx, typ, criteria string, limit int) ([]*Record, error) {
	q, err := search.ParseString(typ, criteria)
	if err != nil {
		return nil, Errorf(Invalid, "conditional criteria: %v", err)
	}
	if len(q.Params) == 0 {
		return nil, Errorf(Invalid, "conditional criteria %q select nothing; give at least one search parameter", criteria)
	}
	// Criteria of a conditional interaction are always handled strictly: ignoring an
	// unknown parameter would widen the match and write to the wrong resource.
	q.Strict = true
	q.Count = limit
	if err := tx.Lock(ctx, "match:"+typ+"?"+q.Encode().Encode()); err != nil {
		return nil, err
	}
	page, err := tx.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	return page.Records, nil
}

// Create stores a new resource. With ifNoneExist (a query string) it is a conditional
// create: when exactly one resource matches, that one is returned with created false;
// several matches are PreconditionFailed. See https://hl7.org/fhir/R4/http.html#ccreate.
func (s *Service) Create(ctx context.Context, res map[string]any, ifNoneExist string) (rec *Record, created bool, err error) {
	typ, _ := res["resourceType"].(string)
	if err := CheckType(typ); err != nil {
		return nil, false, Errorf(Invalid, "%q is not an R4 resource type", typ)
	}
	if err := s.authorize(ctx, ActionWrite, typ); err != nil {
		return nil, false, err
	}
	if err := s.prepare(ctx, typ, res); err != nil {
		return nil, false, err
	}
	err = s.store.Transaction(ctx, func(tx Tx) error {
		rec, created, err = s.create(ctx, tx, typ, tx.NewID(), res, ifNoneExist)
		return err
	})
	return rec, created, err
}

func (s *Service) create(ctx context.Context, tx Tx, typ, id string, res map[string]any, ifNoneExist string) (*Record, bool, error) {
	if ifNoneExist != "" {
		found, err := match(ctx, tx, typ, ifNoneExist, 2)
		if err != nil {
			return nil, false, err
		}
		switch len(found) {
		case 1:
			return found[0], false, nil
		case 2:
			return nil, false, Errorf(PreconditionFailed, "If-None-Exist criteria match more than one %s", typ)
		}
	}
	rec, err := tx.Create(ctx, id, res)
	return rec, err == nil, err
}

// Update stores res as the new version of typ/id, creating it when absent. The body's
// id must equal id. See https://hl7.org/fhir/R4/http.html#update.
func (s *Service) Update(ctx context.Context, typ, id string, res map[string]any, ifMatch int64) (rec *Record, created bool, err error) {
	if err := s.checkUpdate(ctx, typ, id, res); err != nil {
		return nil, false, err
	}
	err = s.store.Transaction(ctx, func(tx Tx) error {
		rec, created, err = tx.Update(ctx, typ, id, res, WriteOptions{IfMatch: ifMatch})
		return err
	})
	return rec, created, err
}

func (s *Service) checkUpdate(ctx context.Context, typ, id string, res map[string]any) error {
	if err := CheckType(typ); err != nil {
		return err
	}
	if err := s.authorize(ctx, ActionWrite, typ); err != nil {
		return err
	}
	if !fhir.ValidID(id) {
		return Errorf(Invalid, "%q is not a valid resource id (1-64 of A-Z a-z 0-9 - .)", id)
	}
	bodyID, _ := res["id"].(string)
	if bodyID == "" {
		return &Error{Code: Invalid, Message: "the resource has no id; an update must carry the id of the URL", Issues: []fhir.Issue{fhir.ErrorIssue("required", typ+".id", "id is missing")}}
	}
	if bodyID != id {
		return &Error{Code: Invalid, Message: "the id in the body differs from the id in the URL", Issues: []fhir.Issue{fhir.ErrorIssue("invalid", typ+".id", "id does not match the URL")}}
	}
	return s.prepare(ctx, typ, res)
}

// ConditionalUpdate updates the one resource of typ matching criteria; with no match
// it creates one (under the body's id when it has one); several matches are
// PreconditionFailed. See https://hl7.org/fhir/R4/http.html#cond-update.
func (s *Service) ConditionalUpdate(ctx context.Context, typ, criteria string, res map[string]any, ifMatch int64) (rec *Record, created bool, err error) {
	if err := CheckType(typ); err != nil {
		return nil, false, err
	}
	if err := s.authorize(ctx, ActionWrite, typ); err != nil {
		return nil, false, err
	}
	if err := s.prepare(ctx, typ, res); err != nil {
		return nil, false, err
	}
	err = s.store.Transaction(ctx, func(tx Tx) error {
		rec, created, err = s.conditionalUpdate(ctx, tx, typ, criteria, res, ifMatch)
		return err
	})
	return rec, created, err
}

func (s *Service) conditionalUpdate(ctx context.Context, tx Tx, typ, criteria string, res map[string]any, ifMatch int64) (*Record, bool, error) {
	found, err := match(ctx, tx, typ, criteria, 2)
	if err != nil {
		return nil, false, err
	}
	bodyID, _ := res["id"].(string)
	switch len(found) {
	case 0:
		if bodyID == "" {
			rec, err := tx.Create(ctx, tx.NewID(), res)
			return rec, err == nil, err
		}
		return tx.Update(ctx, typ, bodyID, res, WriteOptions{IfMatch: ifMatch})
	case 1:
		if bodyID != "" && bodyID != found[0].ID {
			return nil, false, Errorf(Invalid, "the body's id differs from the id of the resource the criteria match")
		}
		return tx.Update(ctx, typ, found[0].ID, res, WriteOptions{IfMatch: ifMatch})
	default:
		return nil, false, Errorf(PreconditionFailed, "the criteria match more than one %s", typ)
	}
}

// Patch applies a JSON Patch (RFC 6902) to the current version of typ/id. The result
// must keep its type and id and be valid. See https://hl7.org/fhir/R4/http.html#patch.
func (s *Service) Patch(ctx context.Context, typ, id string, patch []byte, ifMatch int64) (rec *Record, err error) {
	if err := CheckType(typ); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, ActionWrite, typ); err != nil {
		return nil, err
	}
	err = s.store.Transaction(ctx, func(tx Tx) error {
		rec, err = s.patch(ctx, tx, typ, id, patch, ifMatch)
		return err
	})
	return rec, err
}

// ConditionalPatch patches the one resource of typ matching criteria.
func (s *Service) ConditionalPatch(ctx context.Context, typ, criteria string, patch []byte, ifMatch int64) (rec *Record, err error) {
	if err := CheckType(typ); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, ActionWrite, typ); err != nil {
		return nil, err
	}
	err = s.store.Transaction(ctx, func(tx Tx) error {
		found, err := match(ctx, tx, typ, criteria, 2)
		if err != nil {
			return err
		}
		switch len(found) {
		case 0:
			return Errorf(NotFound, "no %s matches the criteria", typ)
		case 1:
			rec, err = s.patch(ctx, tx, typ, found[0].ID, patch, ifMatch)
			return err
		default:
			return Errorf(PreconditionFailed, "the criteria match more than one %s", typ)
		}
	})
	return rec, err
}

func (s *Service) patch(ctx context.Context, tx Tx, typ, id string, patch []byte, ifMatch int64) (*Record, error) {
	cur, err := tx.Read(ctx, typ, id)
	if err != nil {
		return nil, err
	}
	if ifMatch != 0 && cur.Version != ifMatch {
		return nil, Errorf(PreconditionFailed, "%s/%s is at version %d, not %d", typ, id, cur.Version, ifMatch)
	}
	doc, err := fhir.Decode(cur.Resource)
	if err != nil {
		return nil, err
	}
	patched, err := fhir.ApplyJSONPatch(doc, patch)
	if err != nil {
		return nil, Errorf(Invalid, "JSON Patch: %v", err)
	}
	res, ok := patched.(map[string]any)
	if !ok || res["resourceType"] != typ || res["id"] != id {
		return nil, Errorf(Invalid, "a patch must not change the resource's type or id")
	}
	if err := s.prepare(ctx, typ, res); err != nil {
		return nil, err
	}
	rec, _, err := tx.Update(ctx, typ, id, res, WriteOptions{IfMatch: cur.Version, Patch: true})
	return rec, err
}

// Delete deletes typ/id. Deleting what does not exist or is already deleted succeeds
// with a nil record. See https://hl7.org/fhir/R4/http.html#delete.
func (s *Service) Delete(ctx context.Context, typ, id string, ifMatch int64) (rec *Record, err error) {
	if err := CheckType(typ); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, ActionDelete, typ); err != nil {
		return nil, err
	}
	err = s.store.Transaction(ctx, func(tx Tx) error {
		rec, err = tx.Delete(ctx, typ, id, ifMatch)
		return err
	})
	return rec, err
}

// ConditionalDelete deletes the one resource of typ matching criteria; no match is
// success, several are PreconditionFailed (single-delete mode).
func (s *Service) ConditionalDelete(ctx context.Context, typ, criteria string) (rec *Record, err error) {
	if err := CheckType(typ); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, ActionDelete, typ); err != nil {
		return nil, err
	}
	err = s.store.Transaction(ctx, func(tx Tx) error {
		rec, err = conditionalDelete(ctx, tx, typ, criteria)
		return err
	})
	return rec, err
}

func conditionalDelete(ctx context.Context, tx Tx, typ, criteria string) (*Record, error) {
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
		return nil, Errorf(PreconditionFailed, "the criteria match more than one %s", typ)
	}
}

// Read returns the current version of typ/id: NotFound, or Gone with the deletion
// record. A record the policy hides is NotFound, so its existence does not leak.
func (s *Service) Read(ctx context.Context, typ, id string) (*Record, error) {
	if err := CheckType(typ); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, ActionRead, typ); err != nil {
		return nil, err
	}
	return s.shown(ctx, typ, id)(s.store.Read(ctx, typ, id))
}

// VRead returns one version of typ/id.
func (s *Service) VRead(ctx context.Context, typ, id string, version int64) (*Record, error) {
	if err := CheckType(typ); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, ActionRead, typ); err != nil {
		return nil, err
	}
	return s.shown(ctx, typ, id)(s.store.VRead(ctx, typ, id, version))
}

// shown passes a read result through the policy.
func (s *Service) shown(ctx context.Context, typ, id string) func(*Record, error) (*Record, error) {
	return func(rec *Record, err error) (*Record, error) {
		if rec == nil {
			return nil, err
		}
		vis, verr := s.visible(ctx, []*Record{rec})
		if verr != nil {
			return nil, verr
		}
		if len(vis) == 0 {
			return nil, Errorf(NotFound, "%s/%s is not known", typ, id)
		}
		return rec, err
	}
}

// Search runs a search. q.Type may be empty for a system-wide search.
func (s *Service) Search(ctx context.Context, q *search.Query) (*Page, error) {
	if q.Type != "" {
		if err := CheckType(q.Type); err != nil {
			return nil, err
		}
	}
	if err := s.authorize(ctx, ActionSearch, q.Type); err != nil {
		return nil, err
	}
	page, err := s.store.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	if page.Records, err = s.visible(ctx, page.Records); err != nil {
		return nil, err
	}
	if page.Included, err = s.visible(ctx, page.Included); err != nil {
		return nil, err
	}
	return page, nil
}

// History lists versions for an instance, a type or the whole system.
func (s *Service) History(ctx context.Context, q HistoryQuery) (*Page, error) {
	if q.Type != "" {
		if err := CheckType(q.Type); err != nil {
			return nil, err
		}
	}
	if err := s.authorize(ctx, ActionRead, q.Type); err != nil {
		return nil, err
	}
	page, err := s.store.History(ctx, q)
	if err != nil {
		return nil, err
	}
	page.Records, err = s.visible(ctx, page.Records)
	return page, err
}

// splitURL splits a bundle entry or request URL "Type/id/_history/v" or "Type?query"
// into its parts.
func splitURL(u string) (path []string, query string) {
	p, q, _ := strings.Cut(u, "?")
	p = strings.Trim(p, "/")
	if p == "" {
		return nil, q
	}
	return strings.Split(p, "/"), q
}
