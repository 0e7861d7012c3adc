package service

import (
	"context"
	"fmt"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// identityCandidates bounds how many same-source records one conditional Patient
// match weighs against the identity rule.
const identityCandidates = 50

// match returns up to limit current resources of typ matching criteria, a search
// query string as conditional interactions carry it. The match runs in the
// caller's scope and, for a principal that writes for a source, only among that
// source's records: one source's identifiers never bind to another source's
// records. Deciding that records of different sources are the same person is the
// patient matcher's work, never a side effect of a conditional interaction.
func match(ctx context.Context, tx ehr.Tx, typ, criteria string, limit int) ([]*ehr.Record, error) {
	q, err := search.ParseString(typ, criteria)
	if err != nil {
		return nil, ehr.Errorf(ehr.Invalid, "conditional criteria: %v", err)
	}
	if len(q.Params) == 0 {
		return nil, ehr.Errorf(ehr.Invalid, "conditional criteria %q select nothing; give at least one search parameter", criteria)
	}
	// Criteria of a conditional interaction are always handled strictly: ignoring an
	// unknown parameter would widen the match and write to the wrong resource.
	q.Strict = true
	q.Count = limit
	src := ehr.PrincipalFrom(ctx).Source
	if src != "" {
		ctx = ehr.WithScope(ctx, ehr.ScopeFrom(ctx).Narrow(ehr.Scope{Sources: []string{src}}))
	}
	if err := tx.Lock(ctx, "match:"+src+"|"+typ+"?"+q.Encode().Encode()); err != nil {
		return nil, err
	}
	page, err := searchCriteria(ctx, tx, q)
	if err != nil {
		return nil, err
	}
	return page.Records, nil
}

// matchIdentity resolves the criteria of a conditional create or update. For most
// types it is match: one record found, none, or PreconditionFailed for several. For
// a Patient it also applies the identity rule (see SameIdentity): a record the
// criteria match but whose demographics describe another person is not written
// to; the change creates a new Patient and the records it was kept apart from are
// returned as conflicts, to be raised for review.
func (s *Service) matchIdentity(ctx context.Context, tx ehr.Tx, typ, criteria string, res map[string]any) (found *ehr.Record, conflicts []*ehr.Record, err error) {
	if typ != "Patient" {
		recs, err := match(ctx, tx, typ, criteria, 2)
		if err != nil {
			return nil, nil, err
		}
		switch len(recs) {
		case 0:
			return nil, nil, nil
		case 1:
			return recs[0], nil, nil
		}
		return nil, nil, ehr.Errorf(ehr.PreconditionFailed, "the criteria match more than one %s", typ)
	}
	recs, err := match(ctx, tx, typ, criteria, identityCandidates)
	if err != nil {
		return nil, nil, err
	}
	var same []*ehr.Record
	for _, r := range recs {
		old, err := fhir.Decode(r.Resource)
		if err != nil {
			return nil, nil, err
		}
		if SameIdentity(old, res) {
			same = append(same, r)
		} else {
			conflicts = append(conflicts, r)
		}
	}
	switch len(same) {
	case 0:
		return nil, conflicts, nil
	case 1:
		// Other records the identifier names describe other people; they were
		// reported when they were kept apart.
		return same[0], nil, nil
	}
	return nil, nil, ehr.Errorf(ehr.PreconditionFailed, "the criteria match %d Patients that all describe the same person; a person must decide which one this is", len(same))
}

// Identity-conflict review tasks.
const (
	// TaskSystem is the code system of the review tasks Omnichart raises.
	TaskSystem = "urn:omnichart:task"
	// IdentityConflict is the Task.code of an identity conflict: a source's
	// identifier on records that describe different people.
	IdentityConflict = "identity-conflict"
)

// raiseConflicts records, for a person to review, that rec was kept apart from
// records of the same source that its identifier matched: one Task, owned by the
// same source, naming rec as its focus and each other record as an input. It
// returns the task's reference.
func (s *Service) raiseConflicts(ctx context.Context, tx ehr.Tx, rec *ehr.Record, others []*ehr.Record, criteria string) ([]string, error) {
	if rec == nil || len(others) == 0 {
		return nil, nil
	}
	var refs []string
	inputs := []any{map[string]any{
		"type":        map[string]any{"coding": []any{map[string]any{"system": TaskSystem, "code": "criteria"}}, "text": "identifier criteria"},
		"valueString": criteria,
	}}
	for _, o := range others {
		refs = append(refs, o.Reference())
		inputs = append(inputs, map[string]any{
			"type":           map[string]any{"coding": []any{map[string]any{"system": TaskSystem, "code": "conflicting-record"}}, "text": "record with the same identifier"},
			"valueReference": map[string]any{"reference": o.Reference()},
		})
	}
	task := map[string]any{
		"resourceType": "Task",
		"status":       "requested",
		"intent":       "proposal",
		"priority":     "urgent",
		"code": map[string]any{"coding": []any{map[string]any{
			"system": TaskSystem, "code": IdentityConflict, "display": "Identity conflict"}}},
		"description": fmt.Sprintf("The source's identifier criteria matched %s, whose birth date, sex or name describe another person; %s was recorded apart instead. Review whether they are one person.",
			strings.Join(refs, ", "), rec.Reference()),
		"focus":      map[string]any{"reference": rec.Reference()},
		"for":        map[string]any{"reference": rec.Reference()},
		"authoredOn": s.now().UTC().Format("2006-01-02T15:04:05Z"),
		"input":      inputs,
	}
	if src := rec.Source; src != "" {
		task["meta"] = map[string]any{"source": src}
	}
	t, err := tx.Create(ctx, tx.NewID(), task)
	if err != nil {
		return nil, fmt.Errorf("record identity conflict: %w", err)
	}
	return []string{t.Reference()}, nil
}
